// tests/unit/app/test_endpoints.cpp: the exact bodies the endpoints answer with.
#include "app/endpoints.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "app/fib.hpp"
#include "app/status_page.hpp"

using namespace forkd::app;
using nlohmann::json;

TEST_CASE("endpoints: hello and healthz are text/plain")
{
    auto r = hello_response();
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/plain");
    CHECK(r.body == "hello");
    r = healthz_response(false);
    CHECK((r.status == 200 && r.body == "ok" && r.content_type == "text/plain"));
    r = healthz_response(true);
    CHECK((r.status == 503 && r.body == "draining"));
}

TEST_CASE("endpoints: sleep, fib and fibo_sleep bodies")
{
    auto r = sleep_response(250);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == "{\"slept_ms\":250}");
    r = fib_response(20, 6765);
    CHECK(r.body == "{\"n\":20,\"fib\":6765}");
    CHECK(json::parse(r.body) == json{{"n", 20}, {"fib", 6765}});
    r = fibo_sleep_response(20, fib_fast(20));
    CHECK(r.body == "{\"n\":20,\"fib\":6765,\"slept_s\":0.006765}");
    auto j = json::parse(r.body);
    CHECK(j["slept_s"].get<double>() == doctest::Approx(0.006765));
    r = fibo_sleep_response(90, fib_fast(90));
    CHECK(r.body == "{\"n\":90,\"fib\":2880067194370816120,\"slept_s\":2880067194370.816120}");
}

TEST_CASE("endpoints: fibo_sleep durations")
{
    CHECK(micro_to_seconds_text(0) == "0.000000");
    CHECK(micro_to_seconds_text(1) == "0.000001");
    CHECK(micro_to_seconds_text(102334155) == "102.334155");
    CHECK(fibo_sleep_ns(6765) == 6765000);
    CHECK(timer_ms(fibo_sleep_ns(6765)) == 7);  // rounded up: never shorter
    CHECK(timer_ms(fibo_sleep_ns(6000)) == 6);
    CHECK(timer_ms(fibo_sleep_ns(0)) == 0);
}

TEST_CASE("endpoints: stats and metrics wrap the stats renderers")
{
    // The documents themselves are tested in tests/unit/stats/test_render.cpp.
    forkd::stats::Snapshot snap;
    snap.server.version = "test";
    auto r = stats_response(snap, forkd::stats::ServedBy{4242, 3, 2});
    CHECK(r.content_type == "application/json");
    CHECK(json::parse(r.body)["served_by"] == json{{"pid", 4242}, {"slot", 3}, {"generation", 2}});
    r = metrics_response(snap);
    CHECK(r.content_type == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(r.body.find("# TYPE forkd_requests_total counter\n") != std::string::npos);
}

TEST_CASE("endpoints: /status is status.html as built, and may load nothing else")
{
    std::ifstream in(FORKD_SOURCE_ROOT "/src/app/status.html", std::ios::binary);
    REQUIRE(in);
    const std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    CHECK(status_page_html() == source);  // byte for byte, UTF-8 included
    const auto r = status_response();
    CHECK(r.status == 200);
    CHECK(r.content_type == "text/html; charset=utf-8");
    CHECK(r.body == source);
    CHECK(r.body.starts_with("<!doctype html>"));
    // The browser holds the page to what it says: its own inline script and
    // style, and requests to its own origin (/stats), nothing else.
    CHECK(r.extra_headers.find("Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                               "style-src 'unsafe-inline'; connect-src 'self';") == 0);
    CHECK(r.extra_headers.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
    // No external asset even where the policy would stop it.
    for (const char* reference : {"src=", "@import", "url(", "https:", "//cdn"}) {
        CAPTURE(reference);
        CHECK(r.body.find(reference) == std::string::npos);
    }
}

TEST_CASE("endpoints: the app's own errors")
{
    auto r = forbidden_response();
    CHECK(r.status == 403);
    CHECK(json::parse(r.body)["status"] == 403);
    r = no_threads_response();
    CHECK(r.status == 503);
    CHECK(json::parse(r.body)["error"] == "offload mode needs offload threads: config key 'threads' is 0");
    CHECK(r.extra_headers.empty());
    r = queue_full_response();
    CHECK(r.status == 503);
    CHECK(r.extra_headers == "Retry-After: 1\r\n");
    r = internal_error_response("uv_timer_init failed");
    CHECK(r.status == 500);
    CHECK(json::parse(r.body)["error"] == "internal error: uv_timer_init failed");
}
