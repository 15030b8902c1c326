// tests/unit/app/test_jobs.cpp: app/jobs.cpp on a real loop and pool: a
// row's work on a pool thread, its wait (blocking there, or a timer after),
// and the refusals (no threads, a full queue).
#include "app/jobs.hpp"

#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "app/routes.hpp"
#include "app/table.hpp"
#include "tests/unit/app/app_harness.hpp"

using namespace forkd;
using app::Route;
using namespace std::chrono_literals;

namespace {

// Plans each request with the real table, then hands every row to the pool.
struct JobHandler final : http::Handler, app::Responder {
    offload::Pool& pool;
    const config::Settings& settings;
    app::Timers timers;
    std::vector<std::thread::id> answered_on;

    JobHandler(uv_loop_t* loop, offload::Pool& p, const config::Settings& s) : pool(p), settings(s), timers(loop, *this)
    {
    }

    void resume(http::Connection&, std::size_t, uint64_t) noexcept override
    {
        FAIL("nothing is deferred: every row goes to the pool here");
    }

    void on_request(http::Connection& conn, const http::Request& request) noexcept override
    {
        app::Plan p = app::plan(request, settings);
        http::Response now;
        if (p.answer_ready())
            answer(conn, app::other_endpoint, std::move(p.answer));
        else if (app::submit_job(pool, *this, timers, conn, p.endpoint, p.param, now))
            answer(conn, app::other_endpoint, std::move(now));
    }
    void answer(http::Connection& conn, std::size_t endpoint, http::Response&& response) noexcept override
    {
        answered_on.push_back(std::this_thread::get_id());
        conn.respond(std::move(response), app::tag_of(endpoint));
    }
    void on_response(const http::Connection&, const http::Request&, const http::Sent&) noexcept override { }
};

}  // namespace

TEST_CASE("jobs: the work runs on the pool and is answered on the loop")
{
    app_test::AppHarness h;
    JobHandler handler(&h.http.loop, h.pool, h.settings);
    h.serve_with(handler);
    h.run([](int port) {
        CHECK(app_test::fetch(port, "/fib/20?mode=offload").body == "{\"n\":20,\"fib\":6765}");
        CHECK(app_test::fetch(port, "/hello?mode=offload").body == "hello");
        CHECK(app_test::fetch(port, "/sleep/20?mode=offload").body == "{\"slept_ms\":20}");  // blocking, there
        // A timer after the work (par): answered once the wait is over.
        const auto start = std::chrono::steady_clock::now();
        CHECK(app_test::fetch(port, "/fibo_sleep/20?mode=par").body == "{\"n\":20,\"fib\":6765,\"slept_s\":0.006765}");
        CHECK(std::chrono::steady_clock::now() - start >= 6ms);
    });
    REQUIRE(handler.answered_on.size() == 4);
    for (std::thread::id id : handler.answered_on)
        CHECK(id == std::this_thread::get_id());  // the loop's thread
    CHECK(handler.timers.pending() == 0);
}

TEST_CASE("jobs: a full queue is a 503 with Retry-After; no threads is a 503 that says so")
{
    app_test::AppHarness h(1, 1);  // one thread, one waiting job
    JobHandler handler(&h.http.loop, h.pool, h.settings);
    h.serve_with(handler);
    h.run([](int port) {
        std::vector<std::unique_ptr<app_test::Client>> clients;
        for (int i = 0; i < 4; ++i) {
            clients.push_back(std::make_unique<app_test::Client>(port));
            clients.back()->send(app_test::get("/sleep/150?mode=offload"));
        }
        int ok = 0, full = 0;
        for (auto& c : clients) {
            const auto r = c->read();
            if (r.status == 200)
                ++ok;
            if (r.status == 503 && r.has("Retry-After: 1"))
                ++full;
        }
        // The running one and at most one queued (the thread may not have
        // taken the first from the queue yet when the second comes).
        CHECK(ok >= 1);
        CHECK(ok <= 2);
        CHECK(ok + full == 4);
    });

    app_test::AppHarness none(0);
    JobHandler refusing(&none.http.loop, none.pool, none.settings);
    none.settings.threads = 4;  // plan() lets it through; the pool itself has none
    none.serve_with(refusing);
    none.run([](int port) {
        const auto r = app_test::fetch(port, "/fib/3?mode=offload");
        CHECK(r.status == 503);
        CHECK(r.body.find("offload threads") != std::string::npos);
    });
}
