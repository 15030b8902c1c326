// tests/unit/app/test_dispatch.cpp: running a plan where its row says
// (app/dispatch.cpp), through App on a real loop: every Place and Wait of
// the table answered once and counted once under its endpoint, and
// pipelined answers kept in order whatever ran them.
#include "app/app.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "tests/unit/app/app_harness.hpp"

using namespace forkd;
using app::Route;
using app_test::AppHarness;
using app_test::fetch;

TEST_CASE("dispatch: each kind of row answers, and is counted under its endpoint")
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
    CHECK(h.requests_of(app::find_endpoint(Route::hello, "inline")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::fib, "offload")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::sleep, "timer")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::fibo_sleep, "par")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::sleep, "offload")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::fibo_sleep, "baseline")) == 1);
    CHECK(h.requests_of(app::find_endpoint(Route::stats, "")) == 1);
    CHECK(h.requests_of(app::other_endpoint) == 1);
    CHECK(h.entry().bytes_out.load() == h.http.ctx.bytes_out);
    CHECK(h.entry().bytes_in.load() == h.http.ctx.bytes_in);
    CHECK(app.pending_timers() == 0);
}

TEST_CASE("dispatch: pipelined requests are answered in order, a timer's before an inline one")
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
