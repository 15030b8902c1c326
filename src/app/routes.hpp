// app/routes.hpp: routing and the plan for one request.
//
// Owns matching a path against the endpoint table's patterns, which methods
// they take, how their path parameter and ?mode= are read, and the limits
// (fib_max_n, sleep_max_ms): everything that decides *what* to do with a
// request, as pure functions of the request and the settings, without a
// loop. dispatch.cpp then does it. The routes and modes themselves are
// table.hpp's; this file must not spell one.
// Routing is the table: no regex, no std::function. Paths are matched
// exactly and case-sensitively; a trailing slash is another path ("/hello/"
// is 404, and so is "/fib/10/"); "/fib/" is the fib route with an empty
// parameter (400).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "app/table.hpp"
#include "config/settings.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace forkd::app {

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

// What to do with one request: run a row of the endpoint table, or send the
// answer that is ready (an error).
struct Plan {
    std::size_t endpoint = other_endpoint;  // the row to run; other_endpoint: `answer` is ready
    Route route = Route::hello;
    uint64_t param = 0;     // n or ms, within the limits
    http::Response answer;  // the ready answer, when answer_ready()

    bool answer_ready() const { return endpoint == other_endpoint; }
    const EndpointRow& row() const { return endpoint_table[endpoint]; }  // !answer_ready()
};

// Decide what to do: 404 (/echo too, unless [endpoints] echo), 405 (+ Allow), 400 (bad parameter, unknown mode,
// past a limit), 503 (offload mode with threads = 0), or a row to run.
Plan plan(const http::Request& request, const config::Settings& settings);

}  // namespace forkd::app
