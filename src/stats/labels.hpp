// stats/labels.hpp: what the scoreboard counts by: endpoints and status codes.
//
// Owns the fixed index spaces of the per-endpoint counters (one index per
// route and mode, plus "other") and of the status-code counters (the codes
// forkd sends, plus one overflow bucket per class), and their label text for
// /stats and /metrics. Fixed tables rather than maps: the worker indexes an
// array on the hot path. Knows nothing of requests; the app maps its own
// actions onto these (stats sits below app).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkd::stats {

// One per route and mode (DESIGN.md, "Endpoints"). `other` gathers every
// response that never reached an endpoint: unknown path (404), wrong method
// (405), a malformed parameter or mode, a limit (400), an offload mode with
// no threads (503), and the errors a connection answers itself (400, 408,
// 413, 414, 431, 505).
enum class Endpoint : uint8_t {
    hello_inline,
    hello_offload,
    sleep_timer,
    sleep_offload,
    sleep_block,
    fib_offload,
    fib_inline,
    fibo_sleep_par,
    fibo_sleep_async,
    fibo_sleep_baseline,
    fibo_sleep_offload,
    healthz,
    stats,
    metrics,
    other,
};
constexpr std::size_t endpoint_count = std::size_t(Endpoint::other) + 1;

// "/fib/{n}" (the documented pattern), or "other".
std::string_view route_label(Endpoint e);
// "offload", or "none" for routes without modes (and "other").
std::string_view mode_label(Endpoint e);

// Status codes: the ones forkd answers with each have an index; anything
// else falls into the overflow bucket of its class ("2xx").
constexpr std::size_t known_code_count = 12;
constexpr std::size_t code_count = known_code_count + 5;

constexpr std::size_t code_index(int status)
{
    switch (status) {
    case 200: return 0;
    case 400: return 1;
    case 403: return 2;
    case 404: return 3;
    case 405: return 4;
    case 408: return 5;
    case 413: return 6;
    case 414: return 7;
    case 431: return 8;
    case 500: return 9;
    case 503: return 10;
    case 505: return 11;
    default: break;
    }
    const int cls = status < 100 ? 1 : status >= 600 ? 5 : status / 100;
    return known_code_count + std::size_t(cls - 1);
}

// "200", or "2xx" for an overflow bucket.
std::string_view code_label(std::size_t index);
// 1..5: the class of the codes counted at `index`.
int code_class(std::size_t index);

}  // namespace forkd::stats
