// tests/unit/app/test_app.cpp: App, the main addresses' handler (app/app.cpp),
// on a real loop: /healthz reading the worker's draining flag, /stats moved
// to stats.bind, stats.allow, cancelled timers. Running the table's rows is
// tests/unit/app/test_dispatch.cpp's.
#include "app/app.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "tests/unit/allocations.hpp"
#include "tests/unit/app/app_harness.hpp"

using namespace forkd;
using app::Route;
using app_test::AppHarness;
using app_test::fetch;
using forkd_test::Client;
using forkd_test::get;

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

TEST_CASE("app: a keep-alive /hello allocates nothing on the loop once warm")
{
    // The whole cycle on the worker's thread: read, parse, route, answer,
    // serialise, write, count. The client thread's allocations are its own
    // (the count is per thread).
    struct Counting final : http::Handler {
        app::App& app;
        std::vector<uint64_t> at;  // allocations() when each request arrived
        explicit Counting(app::App& a) : app(a) { at.reserve(256); }
        void on_request(http::Connection& conn, const http::Request& request) noexcept override
        {
            if (at.size() < at.capacity())
                at.push_back(forkd_test::allocations());
            app.on_request(conn, request);
        }
        void on_response(const http::Connection& conn, const http::Request& request,
                         const http::Sent& sent) noexcept override
        {
            app.on_response(conn, request, sent);
        }
    };
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    Counting counting(app);
    h.serve_with(counting);
    h.run([](int port) {
        app_test::Client c(port);
        for (int i = 0; i < 200; ++i) {
            c.send(app_test::get("/hello"));
            REQUIRE(c.read().body == "hello");
        }
    });
    REQUIRE(counting.at.size() == 200);
    // The first requests size the buffers; after that, nothing.
    CHECK(counting.at[199] - counting.at[20] == 0);
    CHECK(h.requests_of(app::find_endpoint(Route::hello, "inline")) == 200);
}

TEST_CASE("app: while the host drains, /healthz says so and every answer closes its connection")
{
    AppHarness h;
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    // The master's side of the board: a view of the mapping the harness's Accounting made.
    stats::Scoreboard board = stats::Scoreboard::attach(const_cast<stats::WorkerEntry&>(h.entry()));
    h.run([&board](int port) {
        Client c(port);
        c.send(get("/hello"));
        CHECK(c.read().has("Connection: keep-alive\r\n"));
        board.master().host_state.store(stats::HostState::draining);  // forkd drain
        c.send(get("/healthz"));
        const auto r = c.read();
        CHECK(r.status == 503);
        CHECK(r.body == "draining");
        CHECK(r.has("Connection: close\r\n"));
        CHECK(c.eof());
        // Still serving, on the loop and from a timer alike; each answer closes.
        for (const char* path : {"/hello", "/sleep/5"}) {
            Client d(port);
            d.send(get(path));
            const auto answer = d.read();
            CHECK(answer.status == 200);
            CHECK(answer.has("Connection: close\r\n"));
            CHECK(d.eof());
        }
        board.master().host_state.store(stats::HostState::serving);  // forkd undrain
        Client e(port);
        e.send(get("/healthz"));
        const auto back = e.read();
        CHECK(back.body == "ok");
        CHECK(back.has("Connection: keep-alive\r\n"));
    });
}

TEST_CASE("app: with stats.bind, /stats, /metrics and /status are not served here")
{
    AppHarness h;
    h.settings.stats.bind = "127.0.0.1:9";
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) {
        for (const char* path : {"/stats", "/metrics", "/status"}) {
            const auto r = fetch(port, path);
            CHECK(r.status == 404);
            CHECK(r.body.find("served on stats.bind (127.0.0.1:9)") != std::string::npos);
        }
        CHECK(fetch(port, "/healthz").status == 200);
    });
    CHECK(h.requests_of(app::other_endpoint) == 3);
}

TEST_CASE("app: a peer outside stats.allow gets 403")
{
    AppHarness h;
    h.settings.stats.allow = {"10.0.0.0/8"};
    app::App app(&h.http.loop, h.settings, h.pool, h.accounting, h.draining);
    h.serve_with(app);
    h.run([](int port) {
        CHECK(fetch(port, "/metrics").status == 403);
        CHECK(fetch(port, "/status").status == 403);
    });
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
    CHECK(h.requests_of(app::find_endpoint(Route::sleep, "timer")) == 1);
}
