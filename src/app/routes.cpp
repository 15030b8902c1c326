// app/routes.cpp: matching, parameters, modes and limits (see routes.hpp).
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

// "/fib/{n}" -> "/fib/" and "n"; "/hello" -> "/hello" and "".
struct Pattern {
    std::string_view prefix;
    std::string_view param_name;
};

constexpr Pattern split(std::string_view pattern)
{
    const auto brace = pattern.find('{');
    if (brace == std::string_view::npos)
        return {pattern, {}};
    return {pattern.substr(0, brace), pattern.substr(brace + 1, pattern.size() - brace - 2)};
}

// route_table's patterns, split once at compile time (match() runs per request).
constexpr auto route_patterns = [] {
    std::array<Pattern, route_table.size()> out{};
    for (std::size_t i = 0; i < route_table.size(); ++i)
        out[i] = split(route_table[i].pattern);
    return out;
}();

// "/hello, /sleep/{ms}, ...": every route served, for the 404 message.
std::string all_routes(const config::Settings& settings)
{
    std::string out;
    for (const RouteRow& row : route_table) {
        if (row.route == Route::echo && !settings.endpoints.echo)
            continue;
        if (!out.empty())
            out += ", ";
        out += row.pattern;
    }
    return out;
}

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

// The row for ?mode=, or for the configured default when absent (or empty).
// false (and plan.answer set to a 400) when it names no mode of this route.
bool read_mode(const http::Request& request, const config::Settings& settings, Plan& plan)
{
    const RouteRow& route = route_row(plan.route);
    std::string_view mode = request.query_param("mode");
    if (route.default_mode == nullptr) {
        plan.endpoint = find_endpoint(plan.route, "");  // ?mode= means nothing here
        return true;
    }
    if (mode.empty())
        mode = settings.endpoints.*route.default_mode;
    plan.endpoint = find_endpoint(plan.route, mode);
    if (plan.endpoint != other_endpoint)
        return true;
    plan.answer = http::error_response(400, "unknown mode " + quoted(mode) + " for " + std::string(route.pattern) +
                                                "; allowed: " + join(mode_names(plan.route)));
    return false;
}

Plan refuse(int status, const std::string& message)
{
    Plan plan;
    plan.answer = http::error_response(status, message);
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
            const uint64_t sleep_ms = timer_ms(fibo_sleep_ns(f));
            if (endpoints.sleep_max_ms < 0 || sleep_ms > uint64_t(endpoints.sleep_max_ms))
                problem = "n = " + std::to_string(value) + " would sleep F(n)/1e6 = " + micro_to_seconds_text(f) +
                          " s, past sleep_max_ms (" + std::to_string(endpoints.sleep_max_ms) + ")";
        }
        break;
    default: break;
    }
    if (!problem.empty()) {
        plan.endpoint = other_endpoint;
        plan.answer = http::error_response(400, problem);
    }
}

}  // namespace

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
    for (std::size_t i = 0; i < route_table.size(); ++i) {
        const RouteRow& row = route_table[i];
        const Pattern& entry = route_patterns[i];
        if (entry.param_name.empty()) {
            if (path != entry.prefix)
                continue;
        } else {
            if (!path.starts_with(entry.prefix))
                continue;
            std::string_view text = path.substr(entry.prefix.size());
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
        m.route = row.route;
        return m;
    }
    return m;
}

Plan plan(const http::Request& request, const config::Settings& settings)
{
    const Match m = match(request.path);
    if (!m.found || (m.route == Route::echo && !settings.endpoints.echo))
        return refuse(404, "no such path: " + quoted(request.path) + " (routes: " + all_routes(settings) + ")");
    if (m.route == Route::echo) {  // any method: it shows what was sent
        Plan p;
        p.route = m.route;
        p.endpoint = find_endpoint(m.route, "");
        return p;
    }
    if (request.method != HTTP_GET && request.method != HTTP_HEAD) {
        Plan p = refuse(405, "method " + quoted(request.method_name()) + " is not allowed on " +
                                 std::string(route_row(m.route).pattern) + "; allowed: GET, HEAD");
        p.answer.extra_headers = "Allow: GET, HEAD\r\n";
        return p;
    }
    if (!m.error.empty())
        return refuse(400, m.error);

    Plan p;
    p.route = m.route;
    p.param = m.param;
    if (!read_mode(request, settings, p))
        return p;
    check_limits(settings, p);
    if (!p.answer_ready() && p.row().place == Place::offload && settings.threads <= 0) {
        p.endpoint = other_endpoint;
        p.answer = no_threads_response();
    }
    return p;
}

}  // namespace forkd::app
