// app/table.hpp: the endpoint table, the one place where routes and modes are spelled.
//
// Owns which routes exist (their documented pattern, which is also the path
// they match and the label /stats shows), which modes each route has, where
// each mode's work runs and what the client waits for after it, and the
// handler that computes the answer. A row's position is its stats index:
// stats/ counts by that number and gets the labels from here when it
// renders. config/ gets the mode names from here too (mode_keys(), handed in
// by main.cpp, since config sits below app).
// Adding a mode is one EndpointRow and, if its work is new, one handler in
// endpoints.cpp. Adding a route is one RouteRow as well (and, for a
// configurable default mode, its key in config/keys.cpp).
// Must not touch a loop, a pool or a connection: dispatch.cpp does the work.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include "app/endpoints.hpp"
#include "config/settings.hpp"
#include "stats/labels.hpp"

namespace forkd::app {

enum class Route : uint8_t { hello, sleep, fib, fibo_sleep, healthz, stats, metrics, echo, status };

struct RouteRow {
    Route route;
    // As documented, matched and labelled: "/hello" is matched exactly;
    // "/fib/{n}" matches "/fib/" followed by the parameter `n`.
    std::string_view pattern;
    // The [endpoints] key that holds the default mode, and the Settings field
    // it fills; empty and nullptr for a route without modes.
    std::string_view mode_key = {};
    std::string config::EndpointSettings::*default_mode = nullptr;
};

inline constexpr auto route_table = std::to_array<RouteRow>({
    {Route::hello, "/hello", "hello_mode", &config::EndpointSettings::hello_mode},
    {Route::sleep, "/sleep/{ms}", "sleep_mode", &config::EndpointSettings::sleep_mode},
    {Route::fib, "/fib/{n}", "fib_mode", &config::EndpointSettings::fib_mode},
    {Route::fibo_sleep, "/fibo_sleep/{n}", "fibo_sleep_mode", &config::EndpointSettings::fibo_sleep_mode},
    {Route::healthz, "/healthz"},
    {Route::stats, "/stats"},
    {Route::metrics, "/metrics"},
    {Route::echo, "/echo"},  // any method; only with [endpoints] echo = true (routes.cpp)
    {Route::status, "/status"},
});

// Where a mode computes its answer.
enum class Place : uint8_t {
    loop,       // on the event loop, at once: cheap work
    loop_last,  // on the event loop (async def), holding it: the worker does nothing else meanwhile;
                // run once the rest of this loop turn has (Timers::defer), so that requests that
                // arrived with it are not held behind it
    offload,    // on an offload thread (a plain def); 503 when threads = 0
    app,        // from the app's own state on the loop (health, the scoreboard)
};

// What follows the computation before the answer goes out (Work::wait_ns long).
enum class Wait : uint8_t {
    none,   // answer at once
    timer,  // a uv timer on the loop: the loop stays free
    block,  // a blocking sleep where the work ran (on the loop: seeds 000, 002)
};

struct EndpointRow {
    Route route;
    std::string_view mode;  // as in ?mode= and the config; "" for a route without modes
    Place place;
    Wait wait;
    EndpointHandler handler;  // nullptr for Place::app (dispatch answers by route)
};

// One row per route and mode. For a route, its modes are listed together,
// in the order error messages name them.
inline constexpr auto endpoint_table = std::to_array<EndpointRow>({
    {Route::hello, "inline", Place::loop, Wait::none, &hello_work},
    {Route::hello, "offload", Place::offload, Wait::none, &hello_work},
    {Route::sleep, "timer", Place::loop, Wait::timer, &sleep_work},
    {Route::sleep, "offload", Place::offload, Wait::block, &sleep_work},
    {Route::sleep, "block", Place::loop_last, Wait::block, &sleep_work},
    {Route::fib, "offload", Place::offload, Wait::none, &fib_work},
    {Route::fib, "inline", Place::loop_last, Wait::none, &fib_work},
    {Route::fibo_sleep, "par", Place::offload, Wait::timer, &fibo_sleep_work},
    {Route::fibo_sleep, "async", Place::loop_last, Wait::timer, &fibo_sleep_work},
    {Route::fibo_sleep, "baseline", Place::loop_last, Wait::block, &fibo_sleep_work},
    {Route::fibo_sleep, "offload", Place::offload, Wait::block, &fibo_sleep_work},
    {Route::healthz, "", Place::app, Wait::none, nullptr},
    {Route::stats, "", Place::app, Wait::none, nullptr},
    {Route::metrics, "", Place::app, Wait::none, nullptr},
    {Route::echo, "", Place::app, Wait::none, nullptr},
    {Route::status, "", Place::app, Wait::none, nullptr},
});

// The stats index of every response that reached no row: unknown path, wrong
// method, bad parameter or mode, a limit, and the connection's own errors.
inline constexpr std::size_t other_endpoint = endpoint_table.size();
static_assert(other_endpoint < stats::endpoint_count, "the scoreboard has no room for another endpoint");

const RouteRow& route_row(Route route);

// The row of `route` in `mode` ("" for a route without modes), or
// other_endpoint when the route has no such mode.
std::size_t find_endpoint(Route route, std::string_view mode);

// The mode names of `route`, in table order (empty without modes).
std::span<const std::string_view> mode_names(Route route);

// Index -> {route pattern, mode or "none"}, other_endpoint -> {"other", "none"}:
// what /stats and /metrics show.
stats::EndpointLabels endpoint_labels();

// The [endpoints] keys that name a mode, with the names each accepts, for
// config::set_mode_keys().
std::span<const config::ModeKey> mode_keys();

}  // namespace forkd::app
