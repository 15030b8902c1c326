// tests/unit/http/test_connection_list.cpp: http/connection_list.cpp, the
// operations the worker runs on all connections of a Context: size,
// drain_served (only connections that answered a request), close_all (in any
// state; one with an answer pending is freed when the answer comes).
#include "connection_harness.hpp"

using namespace forkd_test;
using State = Connection::State;

TEST_CASE("connection list: drain_served leaves a connection that has not sent its request yet")
{
    Harness h;
    h.run([&h](int port) {
        Client served(port);
        served.send(get("/sync/a"));
        CHECK(served.read().status == 200);
        Client fresh(port);
        std::this_thread::sleep_for(30ms);  // accepted
        h.on_loop([&h] {
            CHECK(h.ctx.connections.size() == 2);
            h.ctx.connections.drain_served();
        });
        CHECK(served.eof());
        CHECK(h.eventually([&h] { return h.ctx.connections.size() == 1; }));  // once its close callbacks ran
        fresh.send(get("/sync/b"));
        auto r = fresh.read();
        CHECK(r.body == "/sync/b");
        CHECK(r.has("Connection: keep-alive\r\n"));
    });
}

TEST_CASE("connection list: close_all closes idle and busy connections; a busy one is freed by its answer")
{
    Harness h;
    h.run([&h](int port) {
        Client idle(port);
        idle.send(get("/sync/a"));
        CHECK(idle.read().status == 200);
        Client busy(port);
        busy.send(get("/async/150/b"));
        Client fresh(port);
        std::this_thread::sleep_for(50ms);
        h.on_loop([&h] {
            CHECK(h.ctx.connections.size() == 3);
            CHECK(h.ctx.open == 3);
            h.ctx.connections.close_all();
            CHECK(h.handler.conns[0]->state() == State::closing);
            CHECK(h.handler.conns[1]->state() == State::orphaned);
        });
        CHECK(idle.eof());
        CHECK(fresh.eof());
        CHECK(busy.read().status == 0);  // closed, never answered
        CHECK(h.eventually([&h] { return h.ctx.connections.empty(); }));
    });
    CHECK(h.handler.state_before_answer == std::vector<State>{State::orphaned});
    CHECK(h.handler.statuses == std::vector<int>{200});
    CHECK(h.closed == 3);
}

TEST_CASE("connection list: evict_idle closes the longest-idle keep-alive connections first, and only those")
{
    Harness h;
    h.run([&h](int port) {
        Client oldest(port);
        oldest.send(get("/sync/a"));
        CHECK(oldest.read().status == 200);
        Client newer(port);
        newer.send(get("/sync/b"));
        CHECK(newer.read().status == 200);
        Client fresh(port);                               // no request yet: not idle keep-alive
        Client partial(port);                             // a request under way
        partial.send("GET /sync/c HTTP/1.1\r\nHost: t");  // (head incomplete)
        Client busy(port);
        busy.send(get("/async/300/d"));  // answer pending
        CHECK(h.eventually([&h] { return h.ctx.open == 5 && h.handler.requests == 3; }));
        // oldest was answered first, so it has waited longest; then newer. Then
        // oldest is used again: it moves behind newer.
        oldest.send(get("/sync/e"));
        CHECK(oldest.read().status == 200);
        h.on_loop([&h] {
            CHECK(h.ctx.idle.size() == 2);
            CHECK(evict_idle(h.ctx, 1) == 1);
            CHECK(h.ctx.closed.evicted == 1);
        });
        CHECK(newer.eof());
        oldest.send(get("/sync/f"));
        CHECK(oldest.read().status == 200);
        h.on_loop([&h] {
            CHECK(evict_idle(h.ctx, 10) == 1);  // only oldest is idle
            CHECK(h.ctx.idle.size() == 0);
            CHECK(evict_idle(h.ctx, 10) == 0);
        });
        CHECK(oldest.eof());
        CHECK(busy.read().body == "/async/300/d");  // untouched
        partial.send("est\r\n\r\n");
        CHECK(partial.read().body == "/sync/c");
        fresh.send(get("/sync/g"));
        CHECK(fresh.read().body == "/sync/g");
    });
    CHECK(h.ctx.closed.evicted == 2);
}
