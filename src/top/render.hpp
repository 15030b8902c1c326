// top/render.hpp: one frame of `forkd top`, as a pure function.
//
// Owns the layout: a summary (server, totals, latency, responses), one row
// per worker process (pid, state, req/s, in-flight, connections, accept
// queue, p95, RSS, CPU %, restarts), a total row, and the busiest routes.
// JSON in (a /stats document, and the previous one for rates), text lines
// out, each at most `cols` wide and at most `rows` of them: no terminal, no
// clock, no I/O, so tests feed it captured /stats documents.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace forkd::top {

struct Screen {
    int cols = 80;
    int rows = 0;  // 0: as many lines as the frame needs
};

struct FrameInput {
    const nlohmann::json* now = nullptr;   // the latest /stats document
    const nlohmann::json* prev = nullptr;  // the one before, for rates; may be null
    double elapsed_s = 0;                  // between prev and now
    std::string_view url;                  // for the footer
    bool interactive = false;              // footer says how to quit
};

std::vector<std::string> render(const FrameInput& in, Screen screen);

// A frame for when /stats could not be read (the server is down, 403, ...).
std::vector<std::string> render_error(std::string_view url, std::string_view error, Screen screen, bool interactive);

// Helpers, exposed for tests: "12M", "1h02m", "52.0us" (from milliseconds).
std::string human_bytes(double bytes);
std::string human_uptime(double seconds);
std::string human_duration_ms(double ms);

}  // namespace forkd::top
