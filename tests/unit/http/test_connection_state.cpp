// tests/unit/http/test_connection_state.cpp: the transitions of
// http/connection_state.cpp, observed on the loop (Harness::on_loop and the
// states the test handler records around each async answer): pipelining
// while answering, peer EOF and reset while an answer is pending, drain of
// idle and busy connections, write back-pressure, the timers of each state.
#include "connection_harness.hpp"

using namespace forkd_test;
using State = Connection::State;

namespace {
constexpr int big_count = 40;  // responses of 256 KiB: far more than the socket buffers hold
}

TEST_CASE("connection state: answering holds pipelined requests until respond(), then reading")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/100/a") + get("/sync/b") + get("/sync/c"));
        CHECK(c.read().body == "/async/100/a");
        CHECK(c.read().body == "/sync/b");
        CHECK(c.read().body == "/sync/c");
    });
    // All three arrived at once; the parser stayed paused while the first was pending.
    CHECK(h.handler.state_before_answer == std::vector<State>{State::answering});
    CHECK(h.handler.requests_at_answer == std::vector<int>{1});
    CHECK(h.handler.state_after_answer == std::vector<State>{State::reading});
    CHECK(h.handler.requests == 3);
}

TEST_CASE("connection state: peer EOF while answering, then respond() answers and closes")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/80/a"));
        shutdown(c.fd, SHUT_WR);
        auto r = c.read();
        CHECK(r.body == "/async/80/a");
        CHECK(c.eof());
    });
    CHECK(h.handler.state_before_answer == std::vector<State>{State::answering});
    // finishing, and with the peer's FIN already here: closing, without lingering.
    CHECK(h.handler.state_after_answer == std::vector<State>{State::closing});
    CHECK(h.handler.statuses == std::vector<int>{200});
    CHECK(h.closed == 1);
}

TEST_CASE("connection state: a reset while answering orphans the connection until respond() frees it")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/150/gone"));
        std::this_thread::sleep_for(30ms);
        c.reset();
        std::this_thread::sleep_for(250ms);
    });
    CHECK(h.handler.state_before_answer == std::vector<State>{State::orphaned});
    CHECK(h.handler.open_after_answer == std::vector<std::size_t>{0});  // freed inside respond()
    CHECK(h.handler.statuses.empty());
    CHECK(h.closed == 1);
}

TEST_CASE("connection state: a partial request and peer EOF close without an answer")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send("GET /sync/a HTTP/1.1\r\nHo");
        shutdown(c.fd, SHUT_WR);
        CHECK(c.eof());
    });
    CHECK(h.handler.requests == 0);
    CHECK(h.handler.statuses.empty());
    CHECK(h.closed == 1);
}

TEST_CASE("connection state: drain closes an idle connection at once, a busy one after its answer")
{
    Harness h;
    h.run([&h](int port) {
        Client idle(port);
        idle.send(get("/sync/a"));
        CHECK(idle.read().status == 200);
        Client busy(port);
        busy.send(get("/async/150/b"));
        std::this_thread::sleep_for(30ms);
        h.on_loop([&h] {
            REQUIRE(h.handler.conns.size() == 2);
            CHECK(h.handler.conns[0]->state() == State::reading);
            CHECK(h.handler.conns[1]->state() == State::answering);
            h.ctx.connections.drain_all();
            CHECK(h.handler.conns[0]->state() == State::closing);
            CHECK(h.handler.conns[1]->state() == State::answering);
        });
        CHECK(idle.eof());
        auto r = busy.read();
        CHECK(r.body == "/async/150/b");
        CHECK(r.has("Connection: close\r\n"));
        CHECK(busy.eof());
    });
    // The busy one's answer said close: everything written at once, then lingering.
    CHECK(h.handler.state_after_answer == std::vector<State>{State::lingering});
}

TEST_CASE("connection state: a response the handler marks close ends its connection after it is written")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/sync/a"));
        auto first = c.read();
        CHECK(first.has("Connection: keep-alive\r\n"));
        c.send(get("/close/b"));
        auto second = c.read();
        CHECK(second.body == "/close/b");
        CHECK(second.has("Connection: close\r\n"));
        CHECK(c.eof());
    });
    CHECK(h.handler.statuses == std::vector<int>{200, 200});
    CHECK(h.closed == 1);
}

TEST_CASE("connection state: requests pipelined before a close-marked answer are still answered")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/close/a") + get("/sync/b"));
        auto first = c.read();
        CHECK(first.body == "/close/a");
        CHECK(first.has("Connection: keep-alive\r\n"));  // more was already buffered: answered too
        auto second = c.read();
        CHECK(second.body == "/sync/b");
        CHECK(second.has("Connection: keep-alive\r\n"));
    });
    CHECK(h.handler.requests == 2);
}

TEST_CASE("connection state: a reader that does not read blocks the connection, reading it unblocks")
{
    Harness h;
    h.run([&h](int port) {
        Client c(port);
        std::string all;
        for (int i = 0; i < big_count; ++i)
            all += get("/big/262144");
        c.send(all);
        std::this_thread::sleep_for(200ms);
        h.on_loop([&h] {
            REQUIRE(!h.handler.conns.empty());
            CHECK(h.handler.conns.back()->state() == State::blocked);
            CHECK(h.handler.requests < big_count);
        });
        for (int i = 0; i < big_count; ++i)
            REQUIRE(c.read().body.size() == 262144);
        CHECK(h.eventually([&h] { return h.handler.conns.back()->state() == State::reading; }));
    });
    CHECK(h.handler.requests == big_count);
}

TEST_CASE("connection state: a long pipeline is answered a share per loop turn, in order")
{
    Harness h;
    h.run([&h](int port) {
        Client c(port);
        std::string all;
        for (int i = 0; i < 20; ++i)
            all += get("/sync/" + std::to_string(i));
        c.send(all);
        for (int i = 0; i < 20; ++i)
            REQUIRE(c.read().body == "/sync/" + std::to_string(i));
        CHECK(h.eventually([&h] { return h.ctx.turns.size() == 0; }));
        h.on_loop([&h] { CHECK(h.handler.conns.back()->state() == State::reading); });
    });
    REQUIRE(h.handler.turn_of_request.size() == 20);
    // 20 requests that arrived at once: 8 in one turn, then 8 in a later one, then 4.
    const auto& turn = h.handler.turn_of_request;
    CHECK(turn[7] == turn[0]);
    CHECK(turn[8] > turn[7]);
    CHECK(turn[15] == turn[8]);
    CHECK(turn[16] > turn[15]);
}

TEST_CASE("connection state: a connection waiting for its turn closes cleanly")
{
    Harness h;
    h.run([&h](int port) {
        Client c(port);
        std::string all;
        for (int i = 0; i < 400; ++i)  // 40 MB of answers: more than any socket buffers
            all += get("/big/100000");
        c.send(all);
        CHECK(c.read().body.size() == 100000);  // one per turn: 100 KB is more than a share
        c.reset();
        CHECK(h.eventually([&h] { return h.ctx.connections.empty(); }));
        CHECK(h.ctx.turns.size() == 0);
    });
    CHECK(h.handler.requests < 400);
}

TEST_CASE("connection state: the head timer answers 408 and goes lingering; answering has no timer")
{
    Limits limits;
    limits.header_timeout_ms = 100;
    Harness h(limits);
    h.run([&h](int port) {
        Client slow(port);
        slow.send(get("/async/250/slow"));  // longer than header_timeout: answering is not timed
        CHECK(slow.read().body == "/async/250/slow");

        Client c(port);
        c.send("GET /sync/a HTTP/1.1\r\nHost: te");
        auto r = c.read();
        CHECK(r.status == 408);
        h.on_loop([&h] {
            CHECK(h.ctx.connections.size() == 2);  // the 408 one lingers, `slow` is kept alive
            CHECK(h.handler.conns.back()->state() == State::reading);
        });
        CHECK(c.eof());  // our FIN; we linger until the peer closes
    });
    CHECK(h.handler.statuses == std::vector<int>{200, 408});
}

TEST_CASE("connection state: the first-byte and keep-alive timers close without an answer")
{
    Limits limits;
    limits.header_timeout_ms = 100;
    limits.keepalive_ms = 100;
    Harness h(limits);
    h.run([](int port) {
        Client quiet(port);
        Client kept(port);
        kept.send(get("/sync/a"));
        CHECK(kept.read().status == 200);
        CHECK(quiet.eof());
        CHECK(kept.eof());
    });
    CHECK(h.handler.statuses == std::vector<int>{200});
    CHECK(h.closed == 2);
}
