// tests/unit/app/test_app.cpp: App and its dispatch (app/app.cpp, app/dispatch.cpp)
// on a real loop: every Place and Wait of the table answered once, counted
// once under its endpoint, pipelined answers in order, /healthz reading the
// worker's draining flag, /stats moved to stats.bind, cancelled timers.
#include "app/app.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "tests/unit/app/app_harness.hpp"

using namespace forkd;
using app::Route;
using app_test::AppHarness;
using app_test::fetch;

namespace {

uint64_t count_of(const AppHarness& h, std::size_t endpoint)
{
    return h.entry().endpoints[endpoint].requests();
}

}  // namespace

TEST_CASE("app: each kind of row answers, and is counted under its endpoint")
{
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) {
        auto r = fetch(port, "/hello");  // loop
        CHECK(r.status == 200);
        CHECK(r.body == "hello");
        r = fetch(port, "/fib/10?mode=offload");  // pool
        CHECK(r.body == "{\"n\":10,\"fib\":55}");
        r = fetch(port, "/sleep/5");  // loop, then a timer
        CHECK(r.body == "{\"slept_ms\":5}");
        r = fetch(port, "/fibo_sleep/5?mode=par");  // pool, then a timer
        CHECK(r.body == "{\"n\":5,\"fib\":5,\"slept_s\":0.000005}");
        r = fetch(port, "/sleep/1?mode=offload");  // pool, blocking there
        CHECK(r.body == "{\"slept_ms\":1}");
        r = fetch(port, "/fibo_sleep/3?mode=baseline");  // loop, blocking there
        CHECK(r.status == 200);
        r = fetch(port, "/nowhere");  // answer ready
        CHECK(r.status == 404);
        r = fetch(port, "/stats");  // the app's own state; loopback is allowed
        CHECK(r.status == 200);
        CHECK(r.body.find("\"served_by\"") != std::string::npos);
    });
    CHECK(h.entry().requests.load() == 8);
    CHECK(h.entry().in_flight.load() == 0);
    CHECK(count_of(h, app::find_endpoint(Route::hello, "inline")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::fib, "offload")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::sleep, "timer")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::fibo_sleep, "par")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::sleep, "offload")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::fibo_sleep, "baseline")) == 1);
    CHECK(count_of(h, app::find_endpoint(Route::stats, "")) == 1);
    CHECK(count_of(h, app::other_endpoint) == 1);
    CHECK(h.entry().bytes_out.load() == h.http.ctx.bytes_out);
    CHECK(h.entry().bytes_in.load() == h.http.ctx.bytes_in);
    CHECK(app.pending_timers() == 0);
}

TEST_CASE("app: pipelined requests are answered in order, a timer's before an inline one")
{
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) {
        app_test::Client c(port);
        c.send(app_test::get("/sleep/30") + app_test::get("/fib/3?mode=offload") + app_test::get("/hello"));
        CHECK(c.read().body == "{\"slept_ms\":30}");
        CHECK(c.read().body == "{\"n\":3,\"fib\":2}");
        CHECK(c.read().body == "hello");
    });
    CHECK(h.entry().requests.load() == 3);
}

TEST_CASE("app: /healthz reads the worker's draining flag")
{
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([&h](int port) {
        CHECK(fetch(port, "/healthz").body == "ok");
        h.draining = true;  // the worker's flag; written from here only because the loop waits on us
        const auto r = fetch(port, "/healthz");
        CHECK(r.status == 503);
        CHECK(r.body == "draining");
    });
}

TEST_CASE("app: with stats.bind, /stats and /metrics are not served here")
{
    AppHarness h;
    h.settings.stats.bind = "127.0.0.1:9";
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) {
        for (const char* path : {"/stats", "/metrics"}) {
            const auto r = fetch(port, path);
            CHECK(r.status == 404);
            CHECK(r.body.find("served on stats.bind (127.0.0.1:9)") != std::string::npos);
        }
        CHECK(fetch(port, "/healthz").status == 200);
    });
    CHECK(count_of(h, app::other_endpoint) == 2);
}

TEST_CASE("app: a peer outside stats.allow gets 403")
{
    AppHarness h;
    h.settings.stats.allow = {"10.0.0.0/8"};
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) { CHECK(fetch(port, "/metrics").status == 403); });
}

TEST_CASE("app: cancel_timers answers waiting requests with 503 at once")
{
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    // On the loop: once a request waits on its timer, cancel (as the
    // worker does at graceful_timeout), then stop looking.
    uv_timer_t watch{};
    REQUIRE(uv_timer_init(&h.http.loop, &watch) == 0);
    watch.data = &app;
    REQUIRE(uv_timer_start(
                &watch,
                [](uv_timer_t* t) {
                    auto* a = static_cast<app::App*>(t->data);
                    if (a->pending_timers() == 0)
                        return;
                    CHECK(a->cancel_timers() == 1);
                    uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
                },
                5, 5) == 0);
    h.run([&](int port) {
        const auto r = fetch(port, "/sleep/60000");
        CHECK(r.status == 503);
        CHECK(r.body.find("shutting down") != std::string::npos);
    });
    CHECK(app.pending_timers() == 0);
    CHECK(count_of(h, app::find_endpoint(Route::sleep, "timer")) == 1);
}
