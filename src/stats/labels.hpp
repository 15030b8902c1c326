// stats/labels.hpp: what the scoreboard counts by: endpoints and status codes.
//
// Owns the fixed index spaces of the per-endpoint counters (their room; the
// app numbers its endpoints and names them) and of the status-code counters
// (the codes forkd sends, plus one overflow bucket per class, with their
// label text). Fixed tables rather than maps: the worker indexes an array on
// the hot path. Knows nothing of requests or routes (stats sits below app).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace forkd::stats {

// The per-endpoint counters are indexed by a number that the app assigns
// (one per route and mode, plus one for responses that reached none): stats
// sits below app and knows no routes. The scoreboard lives in shared memory
// laid out before fork, so the room is fixed: endpoint_count counter sets per
// entry, of which the app uses as many as its table has rows (app/table.hpp
// asserts that they fit).
constexpr std::size_t endpoint_count = 24;

// What /stats and /metrics call an endpoint: "/fib/{n}" and "offload"
// ("none" for a route without modes). The app hands its labels, in index
// order, to the renderers; indices past them are not shown.
struct EndpointLabel {
    std::string_view route;
    std::string_view mode;
};
using EndpointLabels = std::span<const EndpointLabel>;

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

// Connections the server closed by its own limits, and connections it
// refused because accept() failed, by reason: index and label, one table.
enum ClosedReason : std::size_t {
    closed_keepalive,       // idle past keepalive
    closed_header_timeout,  // no complete request within header_timeout (408, or silent before a first byte)
    closed_send_timeout,    // output made no progress for send_timeout
    closed_evicted,         // idle keep-alive, closed to admit a new client at worker_connections
    closed_reason_count
};
constexpr std::array<std::string_view, closed_reason_count> closed_reasons = {"keepalive", "header_timeout",
                                                                              "send_timeout", "evicted"};
enum RefusedReason : std::size_t {
    refused_emfile,  // the process is out of file descriptors
    refused_enfile,  // the system is out of file descriptors
    refused_other,   // the kernel is short of memory (ENOBUFS, ENOMEM)
    refused_reason_count
};
constexpr std::array<std::string_view, refused_reason_count> refused_reasons = {"emfile", "enfile", "other"};

// Both, as plain numbers.
struct ConnectionCounts {
    std::array<uint64_t, closed_reason_count> closed{};
    std::array<uint64_t, refused_reason_count> refused{};

    void merge(const ConnectionCounts& other)
    {
        for (std::size_t i = 0; i < closed.size(); ++i)
            closed[i] += other.closed[i];
        for (std::size_t i = 0; i < refused.size(); ++i)
            refused[i] += other.refused[i];
    }
};

// "200", or "2xx" for an overflow bucket.
std::string_view code_label(std::size_t index);
// 1..5: the class of the codes counted at `index`.
int code_class(std::size_t index);

}  // namespace forkd::stats
