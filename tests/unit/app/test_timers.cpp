// tests/unit/app/test_timers.cpp: app/timers.cpp on a real loop: answers
// after their delay with their endpoint, in delay order, cancel() with 503,
// and every timer handle closed.
#include "app/timers.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "app/accounting.hpp"
#include "tests/unit/http/connection_harness.hpp"

using namespace forkd;
using namespace std::chrono_literals;

namespace {

// Answers GET /wait/<ms> after ms through Timers, as endpoint 7; GET
// /defer/<n> is deferred (endpoint 9) and answered "resumed <n>" by resume().
struct WaitHandler final : http::Handler, app::Responder {
    app::Timers timers;
    std::vector<uint32_t> tags;  // from on_response, in order
    const uint64_t* loop_turns = nullptr;
    uint64_t deferred_in_turn = 0, resumed_in_turn = 0;
    int resumed = 0;

    // Serves the harness's connections, counting its loop turns.
    explicit WaitHandler(forkd_test::Harness& h) : timers(&h.loop, *this), loop_turns(&h.turns)
    {
        h.ctx.handler = this;
    }

    void on_request(http::Connection& conn, const http::Request& request) noexcept override
    {
        http::Response now;
        if (request.path == "/defer-then-cancel") {  // a worker stopping at once
            if (!timers.defer(conn, 9, 1, now))
                timers.cancel();
            return;
        }
        if (request.path.starts_with("/defer/")) {
            deferred_in_turn = *loop_turns;
            if (timers.defer(conn, 9, std::stoull(std::string(request.path.substr(7))), now))
                conn.respond(std::move(now));
            return;
        }
        http::Response response;
        response.body = std::string(request.target);
        const uint64_t ms = std::stoull(std::string(request.path.substr(6)));
        if (timers.start(conn, 7, ms, std::move(response), now))
            conn.respond(std::move(now));
    }
    void resume(http::Connection& conn, std::size_t endpoint, uint64_t param) noexcept override
    {
        ++resumed;
        resumed_in_turn = *loop_turns;
        http::Response response;
        response.body = "resumed " + std::to_string(param);
        answer(conn, endpoint, std::move(response));
    }
    void answer(http::Connection& conn, std::size_t endpoint, http::Response&& response) noexcept override
    {
        conn.respond(std::move(response), app::tag_of(endpoint));
    }
    void on_response(const http::Connection&, const http::Request&, const http::Sent& sent) noexcept override
    {
        tags.push_back(sent.tag);
    }
};

}  // namespace

TEST_CASE("timers: each answer goes out after its delay, the shorter first, with its endpoint")
{
    forkd_test::Harness h;
    WaitHandler handler(h);
    h.run([](int port) {
        forkd_test::Client slow(port);
        forkd_test::Client fast(port);
        const auto start = std::chrono::steady_clock::now();
        slow.send(forkd_test::get("/wait/80"));
        fast.send(forkd_test::get("/wait/10"));
        CHECK(fast.read().body == "/wait/10");
        CHECK(std::chrono::steady_clock::now() - start < 80ms);
        CHECK(slow.read().body == "/wait/80");
        // libuv's clock counts whole milliseconds: a timer may fire up to
        // one early in real time.
        CHECK(std::chrono::steady_clock::now() - start >= 79ms);
    });
    CHECK(handler.tags == std::vector<uint32_t>{app::tag_of(7), app::tag_of(7)});
    CHECK(handler.timers.pending() == 0);
}

TEST_CASE("timers: a deferred request is resumed with its parameter after the loop turn it came in")
{
    forkd_test::Harness h;
    WaitHandler handler(h);
    h.run([](int port) {
        forkd_test::Client c(port);
        c.send(forkd_test::get("/defer/42"));
        CHECK(c.read().body == "resumed 42");
    });
    // The check that counts turns runs after each turn's I/O: the request
    // came in turn k, the resume ran in turn k + 1, after that I/O was done.
    CHECK(handler.resumed_in_turn == handler.deferred_in_turn + 1);
    CHECK(handler.tags == std::vector<uint32_t>{app::tag_of(9)});
    CHECK(handler.timers.pending() == 0);
}

TEST_CASE("timers: cancel() answers every waiting request with 503")
{
    forkd_test::Harness h;
    WaitHandler handler(h);
    uv_timer_t watch{};
    REQUIRE(uv_timer_init(&h.loop, &watch) == 0);
    watch.data = &handler;
    REQUIRE(uv_timer_start(
                &watch,
                [](uv_timer_t* t) {
                    auto* self = static_cast<WaitHandler*>(t->data);
                    if (self->timers.pending() < 2)
                        return;
                    CHECK(self->timers.cancel() == 2);
                    CHECK(self->timers.pending() == 0);
                    uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
                },
                5, 5) == 0);
    h.run([](int port) {
        forkd_test::Client a(port);
        forkd_test::Client b(port);
        a.send(forkd_test::get("/wait/60000"));
        b.send(forkd_test::get("/wait/60000"));
        for (forkd_test::Client* c : {&a, &b}) {
            const auto r = c->read();
            CHECK(r.status == 503);
            CHECK(r.body.find("the worker is shutting down") != std::string::npos);
        }
    });
    CHECK(handler.tags.size() == 2);
}

TEST_CASE("timers: cancel() answers a deferred request with 503; it is never resumed")
{
    forkd_test::Harness h;
    WaitHandler handler(h);
    h.run([](int port) {
        forkd_test::Client c(port);
        c.send(forkd_test::get("/defer-then-cancel"));
        CHECK(c.read().status == 503);
    });
    CHECK(handler.resumed == 0);
    CHECK(handler.tags == std::vector<uint32_t>{app::tag_of(9)});
}
