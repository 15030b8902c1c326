// Unit tests for worker/takeover.cpp: accepting from a busy sibling's socket
// only while the scoreboard marks it busy, each connection once.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <uv.h>

#include "http/connection.hpp"
#include "stats/scoreboard.hpp"
#include "tests/unit/loopback.hpp"
#include "worker/takeover.hpp"

using forkd::worker::Takeover;

namespace {

// Run the loop without blocking until `done` holds (at most ~2 s).
template <class Pred> bool turn_until(uv_loop_t* loop, Pred done)
{
    for (int i = 0; i < 400 && !done(); ++i) {
        uv_run(loop, UV_RUN_NOWAIT);
        usleep(5000);
    }
    return done();
}

}  // namespace

TEST_CASE("takeover: a busy sibling's queued connections are accepted here, an idle one's are left alone")
{
    forkd::stats::Scoreboard board(2, 2);
    uint16_t port = 0;
    const int sibling = forkd::test::listen_loopback(16, &port);
    REQUIRE(sibling >= 0);
    REQUIRE(fcntl(sibling, F_SETFL, O_NONBLOCK) == 0);

    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    forkd::http::Context ctx;
    ctx.loop = &loop;
    bool draining = false;
    int accepted = 0;  // connections the takeover handed to ctx (its on_opened hook)
    ctx.owner = &accepted;
    ctx.on_opened = [](forkd::http::Context& c) noexcept { ++*static_cast<int*>(c.owner); };
    Takeover::Target target{&ctx, 10, &draining, &board.entry(0)};
    Takeover t({{1, sibling}}, forkd::stats::Scoreboard::attach(board.entry(0)), target);
    REQUIRE(t.start() == 0);

    // Slot 1 not busy: its queue is its own.
    const int first = forkd::test::connect_loopback(port);
    REQUIRE(first >= 0);
    t.refresh();
    CHECK_FALSE(t.taking_over());
    turn_until(&loop, [] { return false; });
    CHECK(accepted == 0);

    // Busy: what waits there (and what comes next) is served here, once each.
    board.slot(1).busy.store(1);
    t.refresh();
    CHECK(t.taking_over());
    CHECK(turn_until(&loop, [&] { return accepted == 1; }));
    const int second = forkd::test::connect_loopback(port);
    CHECK(turn_until(&loop, [&] { return accepted == 2; }));
    CHECK(board.entry(0).taken_over.load() == 2);
    CHECK(ctx.open == 2);

    // Idle again: polling stops; a drain stops it for good.
    board.slot(1).busy.store(0);
    t.refresh();
    CHECK_FALSE(t.taking_over());
    board.slot(1).busy.store(1);
    draining = true;  // no room while draining
    t.refresh();
    CHECK_FALSE(t.taking_over());
    t.close();
    ctx.connections.close_all();
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(ctx.open == 0);
    CHECK(uv_loop_close(&loop) == 0);
    CHECK(fcntl(sibling, F_GETFD) == -1);  // our copy of the fd is closed
    ::close(first);
    ::close(second);
}
