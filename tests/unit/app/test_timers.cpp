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

// Answers GET /wait/<ms> after ms through Timers, as endpoint 7.
struct WaitHandler final : http::Handler, app::Responder {
    app::Timers timers;
    std::vector<uint32_t> tags;  // from on_response, in order

    explicit WaitHandler(uv_loop_t* loop) : timers(loop, *this) { }

    void on_request(http::Connection& conn, const http::Request& request) noexcept override
    {
        http::Response response;
        response.body = std::string(request.target);
        http::Response now;
        const uint64_t ms = std::stoull(std::string(request.path.substr(6)));
        if (timers.start(conn, 7, ms, std::move(response), now))
            conn.respond(std::move(now));
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
    WaitHandler handler(&h.loop);
    h.ctx.handler = &handler;
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

TEST_CASE("timers: cancel() answers every waiting request with 503")
{
    forkd_test::Harness h;
    WaitHandler handler(&h.loop);
    h.ctx.handler = &handler;
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
