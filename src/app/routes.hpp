// app/routes.hpp: the route table and the plan for one request.
//
// Owns which paths exist, which methods they take, how their path parameter
// and ?mode= are read, and the limits (fib_max_n, sleep_max_ms): everything
// that decides *what* to do with a request, as pure functions of the
// request and the settings, without a loop. app.cpp then does it.
// Routing is a fixed table: no regex, no std::function. Paths are matched
// exactly and case-sensitively; a trailing slash is another path ("/hello/"
// is 404, and so is "/fib/10/"); "/fib/" is the fib route with an empty
// parameter (400).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/settings.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace forkd::app {

enum class Route { hello, sleep, fib, fibo_sleep, healthz, stats, metrics };

// The route's path as documented ("/fib/{n}").
const char* route_pattern(Route route);

enum class ParamError { none, not_decimal, too_large };

// Strict decimal: one or more ASCII digits, nothing else (no sign, no
// spaces, no '+', no '.'); too_large past UINT64_MAX.
ParamError parse_decimal(std::string_view text, uint64_t& out);

struct Match {
    bool found = false;  // false: no such path (404)
    Route route = Route::hello;
    std::string_view param_name;  // "n" or "ms"; empty for routes without one
    uint64_t param = 0;
    std::string error;  // non-empty: the parameter is malformed (400 with this text)
};

// Look `path` (without the query) up in the table.
Match match(std::string_view path);

// What on_request does with one request: answer a ready response, or run
// the endpoint in one of its modes.
enum class Action {
    respond,              // send Plan::response now (errors)
    hello_inline,         // answer on the loop
    hello_offload,        // build the answer on a pool thread
    sleep_timer,          // uv timer, the loop stays free
    sleep_offload,        // blocking sleep on a pool thread
    sleep_block,          // blocking sleep on the loop: stalls the worker (seed 002's mistake)
    fib_inline,           // fib on the loop
    fib_offload,          // fib on a pool thread
    fibo_sleep_par,       // fib on a pool thread, then a uv timer
    fibo_sleep_async,     // fib on the loop, then a uv timer
    fibo_sleep_baseline,  // fib on the loop, then a blocking sleep on the loop
    fibo_sleep_offload,   // fib and blocking sleep on a pool thread
    healthz,
    stats,    // needs the peer check (app.cpp)
    metrics,  // needs the peer check (app.cpp)
};

// Does this action need the offload pool?
bool uses_pool(Action action);

// "fib_offload" and so on, for log lines.
const char* to_string(Action action);

struct Plan {
    Action action = Action::respond;
    Route route = Route::hello;
    uint64_t param = 0;       // n or ms, within the limits
    http::Response response;  // Action::respond: the answer
};

// Decide what to do: 404, 405 (+ Allow), 400 (bad parameter, unknown mode,
// past a limit), 503 (offload mode with threads = 0), or an action.
Plan plan(const http::Request& request, const config::Settings& settings);

}  // namespace forkd::app
