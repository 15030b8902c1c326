// tests/unit/app/test_routes.cpp: the route table and plan(): paths,
// methods, parameters, modes, defaults, limits, threads = 0.
#include "app/routes.hpp"

#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "config/settings.hpp"
#include "http/request.hpp"

using namespace forkd;
using app::Route;

namespace {

// The table row of a route in a mode ("" for a route without modes).
std::size_t ep(Route route, std::string_view mode)
{
    const std::size_t row = app::find_endpoint(route, mode);
    REQUIRE(row != app::other_endpoint);
    return row;
}

// A request as http/ hands it over: path and query are views into target.
void make(http::Request& r, std::string target, llhttp_method_t method = HTTP_GET)
{
    r.method = method;
    r.target = std::move(target);
    std::string_view t = r.target;
    auto q = t.find('?');
    r.path = t.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

app::Plan plan_for(std::string target, const config::Settings& settings = {}, llhttp_method_t method = HTTP_GET)
{
    http::Request r;
    make(r, std::move(target), method);
    return app::plan(r, settings);
}

// The "error" text of a JSON error response, checking its shape on the way.
std::string error_of(const app::Plan& p, int status)
{
    CHECK(p.answer_ready());
    CHECK(p.answer.status == status);
    CHECK(p.answer.content_type == "application/json");
    auto body = nlohmann::json::parse(p.answer.body);
    CHECK(body["status"] == status);
    return body["error"].get<std::string>();
}

}  // namespace

TEST_CASE("parse_decimal: strict digits, overflow detected")
{
    uint64_t v = 7;
    CHECK(app::parse_decimal("0", v) == app::ParamError::none);
    CHECK(v == 0);
    CHECK(app::parse_decimal("0040", v) == app::ParamError::none);
    CHECK(v == 40);
    CHECK(app::parse_decimal("18446744073709551615", v) == app::ParamError::none);
    CHECK(v == UINT64_MAX);
    CHECK(app::parse_decimal("18446744073709551616", v) == app::ParamError::too_large);
    CHECK(app::parse_decimal("99999999999999999999999", v) == app::ParamError::too_large);
    for (const char* bad : {"", "abc", "-1", "+1", "1.5", " 1", "1 ", "1e3", "0x10", "%31", "١"}) {
        CAPTURE(bad);
        CHECK(app::parse_decimal(bad, v) == app::ParamError::not_decimal);
    }
    // A stray character is reported as such even in a huge number.
    CHECK(app::parse_decimal("99999999999999999999999x", v) == app::ParamError::not_decimal);
}

TEST_CASE("match: every route")
{
    auto m = app::match("/hello");
    CHECK(m.found);
    CHECK(m.route == Route::hello);
    CHECK(m.param_name.empty());
    m = app::match("/sleep/250");
    CHECK((m.found && m.route == Route::sleep && m.param == 250 && m.param_name == "ms"));
    m = app::match("/fib/30");
    CHECK((m.found && m.route == Route::fib && m.param == 30 && m.param_name == "n"));
    m = app::match("/fibo_sleep/20");
    CHECK((m.found && m.route == Route::fibo_sleep && m.param == 20));
    CHECK(app::match("/healthz").route == Route::healthz);
    CHECK(app::match("/stats").route == Route::stats);
    CHECK(app::match("/metrics").route == Route::metrics);
    CHECK(app::match("/status").route == Route::status);
    for (const char* path :
         {"/", "", "/hello/", "/Hello", "/hellox", "/hello/x", "/fib", "/fib/10/", "/fib/1/2", "/fibo", "/fibo_sleep",
          "/sleep", "/healthz/", "/stats/", "/metrics/x", "/status/", "/status.html", "//hello", "hello"}) {
        CAPTURE(path);
        CHECK_FALSE(app::match(path).found);
    }
}

TEST_CASE("plan: the endpoints with their default modes")
{
    config::Settings s;  // defaults: hello inline, sleep timer, fib offload, fibo_sleep par
    auto p = plan_for("/hello", s);
    CHECK(p.endpoint == ep(Route::hello, "inline"));
    p = plan_for("/sleep/100", s);
    CHECK(p.endpoint == ep(Route::sleep, "timer"));
    CHECK(p.param == 100);
    p = plan_for("/fib/30", s);
    CHECK(p.endpoint == ep(Route::fib, "offload"));
    CHECK(p.param == 30);
    p = plan_for("/fibo_sleep/20", s);
    CHECK(p.endpoint == ep(Route::fibo_sleep, "par"));
    CHECK(plan_for("/healthz", s).endpoint == ep(Route::healthz, ""));
    CHECK(plan_for("/stats", s).endpoint == ep(Route::stats, ""));
    CHECK(plan_for("/metrics", s).endpoint == ep(Route::metrics, ""));
    CHECK(plan_for("/status", s).endpoint == ep(Route::status, ""));
    // HEAD is GET without the body: same plan.
    CHECK(plan_for("/fib/30", s, HTTP_HEAD).endpoint == ep(Route::fib, "offload"));
}

TEST_CASE("plan: default modes come from settings.endpoints")
{
    config::Settings s;
    s.endpoints.hello_mode = "offload";
    s.endpoints.sleep_mode = "block";
    s.endpoints.fib_mode = "inline";
    s.endpoints.fibo_sleep_mode = "baseline";
    CHECK(plan_for("/hello", s).endpoint == ep(Route::hello, "offload"));
    CHECK(plan_for("/sleep/1", s).endpoint == ep(Route::sleep, "block"));
    CHECK(plan_for("/fib/1", s).endpoint == ep(Route::fib, "inline"));
    CHECK(plan_for("/fibo_sleep/1", s).endpoint == ep(Route::fibo_sleep, "baseline"));
    // An empty ?mode= is the default too.
    CHECK(plan_for("/fib/1?mode=", s).endpoint == ep(Route::fib, "inline"));
}

TEST_CASE("plan: ?mode= selects every mode")
{
    CHECK(plan_for("/hello?mode=inline").endpoint == ep(Route::hello, "inline"));
    CHECK(plan_for("/hello?mode=offload").endpoint == ep(Route::hello, "offload"));
    CHECK(plan_for("/sleep/5?mode=timer").endpoint == ep(Route::sleep, "timer"));
    CHECK(plan_for("/sleep/5?mode=offload").endpoint == ep(Route::sleep, "offload"));
    CHECK(plan_for("/sleep/5?mode=block").endpoint == ep(Route::sleep, "block"));
    CHECK(plan_for("/fib/5?mode=inline").endpoint == ep(Route::fib, "inline"));
    CHECK(plan_for("/fib/5?mode=offload").endpoint == ep(Route::fib, "offload"));
    CHECK(plan_for("/fibo_sleep/5?mode=par").endpoint == ep(Route::fibo_sleep, "par"));
    CHECK(plan_for("/fibo_sleep/5?mode=async").endpoint == ep(Route::fibo_sleep, "async"));
    CHECK(plan_for("/fibo_sleep/5?mode=baseline").endpoint == ep(Route::fibo_sleep, "baseline"));
    CHECK(plan_for("/fibo_sleep/5?mode=offload").endpoint == ep(Route::fibo_sleep, "offload"));
    // Other query parameters are ignored.
    CHECK(plan_for("/fib/5?x=1&mode=inline&y").endpoint == ep(Route::fib, "inline"));
}

TEST_CASE("plan: unknown mode is 400 naming the allowed ones")
{
    auto e = error_of(plan_for("/fib/5?mode=turbo"), 400);
    CHECK(e == "unknown mode \"turbo\" for /fib/{n}; allowed: offload, inline");
    e = error_of(plan_for("/sleep/5?mode=par"), 400);
    CHECK(e == "unknown mode \"par\" for /sleep/{ms}; allowed: timer, offload, block");
    e = error_of(plan_for("/fibo_sleep/5?mode=Offload"), 400);
    CHECK(e == "unknown mode \"Offload\" for /fibo_sleep/{n}; allowed: par, async, baseline, "
               "offload");
    e = error_of(plan_for("/hello?mode=timer"), 400);
    CHECK(e == "unknown mode \"timer\" for /hello; allowed: inline, offload");
}

TEST_CASE("plan: bad path parameters are 400 naming the problem")
{
    CHECK(error_of(plan_for("/fib/abc"), 400) == "path parameter 'n' must be a decimal integer, got \"abc\"");
    CHECK(error_of(plan_for("/fib/-1"), 400) == "path parameter 'n' must be a decimal integer, got \"-1\"");
    CHECK(error_of(plan_for("/fib/+1"), 400) == "path parameter 'n' must be a decimal integer, got \"+1\"");
    CHECK(error_of(plan_for("/fib/1.5"), 400) == "path parameter 'n' must be a decimal integer, got \"1.5\"");
    CHECK(error_of(plan_for("/fib/"), 400) == "path parameter 'n' must be a decimal integer, got \"\"");
    CHECK(error_of(plan_for("/fib/%201"), 400) == "path parameter 'n' must be a decimal integer, got \"%201\"");
    CHECK(error_of(plan_for("/sleep/abc"), 400) == "path parameter 'ms' must be a decimal integer, got \"abc\"");
    CHECK(error_of(plan_for("/fibo_sleep/x1"), 400) == "path parameter 'n' must be a decimal integer, got \"x1\"");
    CHECK(error_of(plan_for("/fib/99999999999999999999999"), 400) ==
          "path parameter 'n' is out of range, got \"99999999999999999999999\"");
    CHECK(error_of(plan_for("/sleep/99999999999999999999999?mode=block"), 400) ==
          "path parameter 'ms' is out of range, got \"99999999999999999999999\"");
    // Echoed text is bounded, printable, and the body stays valid JSON.
    auto e = error_of(plan_for("/fib/" + std::string(200, 'a')), 400);
    CHECK(e == "path parameter 'n' must be a decimal integer, got \"" + std::string(64, 'a') + "...\"");
    e = error_of(plan_for("/fib/a\"b\\c\x01\xff"), 400);
    CHECK(e == "path parameter 'n' must be a decimal integer, got \"a\"b\\c??\"");
}

TEST_CASE("plan: limits are 400 saying the limit")
{
    config::Settings s;
    CHECK(plan_for("/fib/40", s).endpoint == ep(Route::fib, "offload"));
    CHECK(error_of(plan_for("/fib/41", s), 400) == "n must be <= fib_max_n (40), got 41");
    CHECK(error_of(plan_for("/fibo_sleep/41", s), 400) == "n must be <= fib_max_n (40), got 41");
    CHECK(plan_for("/sleep/60000", s).endpoint == ep(Route::sleep, "timer"));
    CHECK(error_of(plan_for("/sleep/60001", s), 400) == "ms must be <= sleep_max_ms (60000), got 60001");
    CHECK(error_of(plan_for("/sleep/18446744073709551615", s), 400) ==
          "ms must be <= sleep_max_ms (60000), got 18446744073709551615");
    s.endpoints.fib_max_n = 10;
    s.endpoints.sleep_max_ms = 5;
    CHECK(error_of(plan_for("/fib/11?mode=inline", s), 400) == "n must be <= fib_max_n (10), got 11");
    CHECK(error_of(plan_for("/sleep/6?mode=block", s), 400) == "ms must be <= sleep_max_ms (5), got 6");
    // Limits are checked after the mode: a bad mode is reported first.
    CHECK(error_of(plan_for("/fib/11?mode=x", s), 400).starts_with("unknown mode"));
}

TEST_CASE("plan: fibo_sleep's sleep is bounded by sleep_max_ms too")
{
    config::Settings s;  // fib_max_n 40, sleep_max_ms 60000
    // F(38)/1e6 = 39.088169 s: fine. F(39)/1e6 = 63.245986 s: past 60 s.
    CHECK(plan_for("/fibo_sleep/38", s).endpoint == ep(Route::fibo_sleep, "par"));
    CHECK(error_of(plan_for("/fibo_sleep/39", s), 400) ==
          "n = 39 would sleep F(n)/1e6 = 63.245986 s, past sleep_max_ms (60000)");
    // fib itself does not sleep.
    CHECK(plan_for("/fib/39", s).endpoint == ep(Route::fib, "offload"));
}

TEST_CASE("plan: fib_max_n configured past 93 still stops at 64 bits")
{
    config::Settings s;
    s.endpoints.fib_max_n = 200;
    CHECK(error_of(plan_for("/fib/94", s), 400) == "n must be <= 93 (F(94) does not fit in 64 bits), got 94");
}

TEST_CASE("plan: unknown paths are 404, including a trailing slash")
{
    auto e = error_of(plan_for("/nope"), 404);
    CHECK(e.starts_with("no such path: \"/nope\""));
    error_of(plan_for("/hello/"), 404);
    error_of(plan_for("/fib/10/"), 404);
    error_of(plan_for("/"), 404);
    // The path decides, not the method: an unknown path is 404 for any method.
    error_of(plan_for("/nope", {}, HTTP_POST), 404);
}

TEST_CASE("plan: other methods are 405 with Allow")
{
    for (auto method : {HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS, HTTP_PATCH}) {
        for (const char* target : {"/hello", "/fib/10", "/fib/abc", "/healthz", "/stats"}) {
            CAPTURE(target);
            auto p = plan_for(target, {}, method);
            auto e = error_of(p, 405);
            CHECK(p.answer.extra_headers == "Allow: GET, HEAD\r\n");
            CHECK(e.find("allowed: GET, HEAD") != std::string::npos);
        }
    }
    CHECK(error_of(plan_for("/fib/10", {}, HTTP_POST), 405) ==
          "method \"POST\" is not allowed on /fib/{n}; allowed: GET, HEAD");
}

TEST_CASE("plan: offload modes with threads = 0 are 503, never silently inline")
{
    config::Settings s;
    s.threads = 0;
    const std::string message = "offload mode needs offload threads: config key 'threads' is 0";
    for (const char* target : {"/hello?mode=offload", "/sleep/1?mode=offload", "/fib/1", "/fib/1?mode=offload",
                               "/fibo_sleep/1?mode=par", "/fibo_sleep/1?mode=offload", "/fibo_sleep/1"}) {
        CAPTURE(target);
        CHECK(error_of(plan_for(target, s), 503) == message);
    }
    // The modes that need no pool still work.
    CHECK(plan_for("/hello", s).endpoint == ep(Route::hello, "inline"));
    CHECK(plan_for("/sleep/1", s).endpoint == ep(Route::sleep, "timer"));
    CHECK(plan_for("/sleep/1?mode=block", s).endpoint == ep(Route::sleep, "block"));
    CHECK(plan_for("/fib/1?mode=inline", s).endpoint == ep(Route::fib, "inline"));
    CHECK(plan_for("/fibo_sleep/1?mode=async", s).endpoint == ep(Route::fibo_sleep, "async"));
    CHECK(plan_for("/fibo_sleep/1?mode=baseline", s).endpoint == ep(Route::fibo_sleep, "baseline"));
    // A bad request is still a 400 first.
    CHECK(error_of(plan_for("/fib/abc", s), 400).starts_with("path parameter"));
}
