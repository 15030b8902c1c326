// app/routes.cpp: the route table, parameters, modes and limits (see routes.hpp).
//
// Pure: reads the request and the settings, returns a Plan. Touches no loop,
// no pool, no connection. The order of the checks is part of the contract:
// path (404), method (405), parameter (400), mode (400), limits (400), then
// offload without threads (503).
#include "app/routes.hpp"

#include <array>
#include <span>

#include "app/endpoints.hpp"
#include "app/fib.hpp"

namespace forkd::app {

namespace {

struct RouteEntry {
    std::string_view path;  // exact path, or the prefix before the parameter
    Route route;
    std::string_view param_name;  // empty: the path is matched exactly
};

constexpr std::array<RouteEntry, 7> route_table = {{
    {"/hello", Route::hello, ""},
    {"/sleep/", Route::sleep, "ms"},
    {"/fib/", Route::fib, "n"},
    {"/fibo_sleep/", Route::fibo_sleep, "n"},
    {"/healthz", Route::healthz, ""},
    {"/stats", Route::stats, ""},
    {"/metrics", Route::metrics, ""},
}};

constexpr std::string_view all_routes = "/hello, /sleep/{ms}, /fib/{n}, /fibo_sleep/{n}, /healthz, /stats, /metrics";

// Client text echoed in an error message: at most 64 bytes, printable ASCII
// only (the rest becomes '?'), in double quotes. JSON escaping of quotes and
// backslashes is http::error_response's.
std::string quoted(std::string_view text)
{
    constexpr std::size_t max_echo = 64;
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < max_echo; ++i) {
        unsigned char c = static_cast<unsigned char>(text[i]);
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    if (text.size() > max_echo)
        out += "...";
    out += '"';
    return out;
}

std::string join(std::span<const std::string_view> names)
{
    std::string out;
    for (std::string_view name : names) {
        if (!out.empty())
            out += ", ";
        out += name;
    }
    return out;
}

// The mode from ?mode=, or the configured default when absent (or empty).
// false (and plan.response set to a 400) when it names no mode of this route.
template <class Mode> bool read_mode(const http::Request& request, Route route, Mode fallback, Mode& out, Plan& plan)
{
    std::string_view text = request.query_param("mode");
    if (text.empty()) {
        out = fallback;
        return true;
    }
    if (config::parse_mode(text, out))
        return true;
    plan.response = http::error_response(400, "unknown mode " + quoted(text) + " for " + route_pattern(route) +
                                                  "; allowed: " + join(config::mode_names<Mode>()));
    return false;
}

Plan refuse(int status, const std::string& message)
{
    Plan plan;
    plan.action = Action::respond;
    plan.response = http::error_response(status, message);
    return plan;
}

std::string limit_message(std::string_view name, std::string_view key, long long limit, uint64_t got)
{
    return std::string(name) + " must be <= " + std::string(key) + " (" + std::to_string(limit) + "), got " +
           std::to_string(got);
}

// The checks past the mode: limits, and whether offload can be done at all.
// `fib_n`: the parameter is an n (fib, fibo_sleep) rather than ms.
void check_limits(const config::Settings& settings, Plan& plan)
{
    const auto& endpoints = settings.endpoints;
    const uint64_t value = plan.param;
    std::string problem;
    switch (plan.route) {
    case Route::sleep:
        if (endpoints.sleep_max_ms < 0 || value > uint64_t(endpoints.sleep_max_ms))
            problem = limit_message("ms", "sleep_max_ms", endpoints.sleep_max_ms, value);
        break;
    case Route::fib:
    case Route::fibo_sleep:
        if (endpoints.fib_max_n < 0 || value > uint64_t(endpoints.fib_max_n)) {
            problem = limit_message("n", "fib_max_n", endpoints.fib_max_n, value);
        } else if (value > uint64_t(fib_max_representable)) {
            // Only reachable when fib_max_n is configured past 93.
            problem = "n must be <= " + std::to_string(fib_max_representable) +
                      " (F(94) does not fit in 64 bits), got " + std::to_string(value);
        } else if (plan.route == Route::fibo_sleep) {
            // The sleep that follows is a sleep too: sleep_max_ms bounds it.
            const uint64_t f = fib_fast(int(value));
            const uint64_t sleep_ms = fibo_sleep_timer_ms(f);
            if (endpoints.sleep_max_ms < 0 || sleep_ms > uint64_t(endpoints.sleep_max_ms))
                problem = "n = " + std::to_string(value) + " would sleep F(n)/1e6 = " + micro_to_seconds_text(f) +
                          " s, past sleep_max_ms (" + std::to_string(endpoints.sleep_max_ms) + ")";
        }
        break;
    default: break;
    }
    if (!problem.empty()) {
        plan.action = Action::respond;
        plan.response = http::error_response(400, problem);
    }
}

}  // namespace

const char* route_pattern(Route route)
{
    switch (route) {
    case Route::hello: return "/hello";
    case Route::sleep: return "/sleep/{ms}";
    case Route::fib: return "/fib/{n}";
    case Route::fibo_sleep: return "/fibo_sleep/{n}";
    case Route::healthz: return "/healthz";
    case Route::stats: return "/stats";
    case Route::metrics: return "/metrics";
    }
    return "?";
}

ParamError parse_decimal(std::string_view text, uint64_t& out)
{
    if (text.empty())
        return ParamError::not_decimal;
    uint64_t value = 0;
    bool too_large = false;
    for (char c : text) {
        if (c < '0' || c > '9')
            return ParamError::not_decimal;  // a stray character beats size
        const uint64_t digit = uint64_t(c - '0');
        if (value > (UINT64_MAX - digit) / 10)
            too_large = true;
        else
            value = value * 10 + digit;
    }
    if (too_large)
        return ParamError::too_large;
    out = value;
    return ParamError::none;
}

Match match(std::string_view path)
{
    Match m;
    for (const RouteEntry& entry : route_table) {
        if (entry.param_name.empty()) {
            if (path != entry.path)
                continue;
        } else {
            if (!path.starts_with(entry.path))
                continue;
            std::string_view text = path.substr(entry.path.size());
            if (text.find('/') != std::string_view::npos)
                continue;  // "/fib/10/" or "/fib/1/2": no such path
            m.param_name = entry.param_name;
            switch (parse_decimal(text, m.param)) {
            case ParamError::none: break;
            case ParamError::not_decimal:
                m.error = "path parameter '" + std::string(entry.param_name) + "' must be a decimal integer, got " +
                          quoted(text);
                break;
            case ParamError::too_large:
                m.error = "path parameter '" + std::string(entry.param_name) + "' is out of range, got " + quoted(text);
                break;
            }
        }
        m.found = true;
        m.route = entry.route;
        return m;
    }
    return m;
}

bool uses_pool(Action action)
{
    switch (action) {
    case Action::hello_offload:
    case Action::sleep_offload:
    case Action::fib_offload:
    case Action::fibo_sleep_par:
    case Action::fibo_sleep_offload: return true;
    default: return false;
    }
}

const char* to_string(Action action)
{
    switch (action) {
    case Action::respond: return "respond";
    case Action::hello_inline: return "hello_inline";
    case Action::hello_offload: return "hello_offload";
    case Action::sleep_timer: return "sleep_timer";
    case Action::sleep_offload: return "sleep_offload";
    case Action::sleep_block: return "sleep_block";
    case Action::fib_inline: return "fib_inline";
    case Action::fib_offload: return "fib_offload";
    case Action::fibo_sleep_par: return "fibo_sleep_par";
    case Action::fibo_sleep_async: return "fibo_sleep_async";
    case Action::fibo_sleep_baseline: return "fibo_sleep_baseline";
    case Action::fibo_sleep_offload: return "fibo_sleep_offload";
    case Action::healthz: return "healthz";
    case Action::stats: return "stats";
    case Action::metrics: return "metrics";
    }
    return "?";
}

Plan plan(const http::Request& request, const config::Settings& settings)
{
    const Match m = match(request.path);
    if (!m.found)
        return refuse(404, "no such path: " + quoted(request.path) + " (routes: " + std::string(all_routes) + ")");
    if (request.method != HTTP_GET && request.method != HTTP_HEAD) {
        Plan p = refuse(405, "method " + quoted(request.method_name()) + " is not allowed on " +
                                 route_pattern(m.route) + "; allowed: GET, HEAD");
        p.response.extra_headers = "Allow: GET, HEAD\r\n";
        return p;
    }
    if (!m.error.empty())
        return refuse(400, m.error);

    Plan p;
    p.route = m.route;
    p.param = m.param;
    const auto& defaults = settings.endpoints;
    switch (m.route) {
    case Route::hello: {
        config::HelloMode mode;
        if (!read_mode(request, m.route, defaults.hello_mode, mode, p))
            return p;
        p.action = mode == config::HelloMode::offload ? Action::hello_offload : Action::hello_inline;
        break;
    }
    case Route::sleep: {
        config::SleepMode mode;
        if (!read_mode(request, m.route, defaults.sleep_mode, mode, p))
            return p;
        p.action = mode == config::SleepMode::offload ? Action::sleep_offload
                   : mode == config::SleepMode::block ? Action::sleep_block
                                                      : Action::sleep_timer;
        break;
    }
    case Route::fib: {
        config::FibMode mode;
        if (!read_mode(request, m.route, defaults.fib_mode, mode, p))
            return p;
        p.action = mode == config::FibMode::inline_ ? Action::fib_inline : Action::fib_offload;
        break;
    }
    case Route::fibo_sleep: {
        config::FiboSleepMode mode;
        if (!read_mode(request, m.route, defaults.fibo_sleep_mode, mode, p))
            return p;
        switch (mode) {
        case config::FiboSleepMode::par: p.action = Action::fibo_sleep_par; break;
        case config::FiboSleepMode::async: p.action = Action::fibo_sleep_async; break;
        case config::FiboSleepMode::baseline: p.action = Action::fibo_sleep_baseline; break;
        case config::FiboSleepMode::offload: p.action = Action::fibo_sleep_offload; break;
        }
        break;
    }
    case Route::healthz: p.action = Action::healthz; break;
    case Route::stats: p.action = Action::stats; break;
    case Route::metrics: p.action = Action::metrics; break;
    }

    check_limits(settings, p);
    if (p.action != Action::respond && uses_pool(p.action) && settings.threads <= 0) {
        p.action = Action::respond;
        p.response = no_threads_response();
    }
    return p;
}

}  // namespace forkd::app
