// tests/unit/http/test_connection_io.cpp: the libuv side of a connection
// (http/connection_io.cpp and accept in connection.cpp): a write that fails
// because the peer reset, reading and discarding while lingering, and a
// connection reset before it was accepted.
#include "connection_harness.hpp"

using namespace forkd_test;

TEST_CASE("connection io: a peer that resets during a large write is closed, quietly and once")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/big/16000000"));
        char buf[65536];
        CHECK(recv(c.fd, buf, sizeof buf, 0) > 0);  // the write is under way
        c.reset();
        std::this_thread::sleep_for(100ms);  // the write fails (EPIPE or ECONNRESET), then close
    });
    CHECK(h.handler.statuses == std::vector<int>{200});
    CHECK(h.closed == 1);
}

TEST_CASE("connection io: while lingering, bytes are discarded and the peer's FIN ends it")
{
    Harness h;
    h.run([&h](int port) {
        Client c(port);
        c.send(get("/sync/last", "Connection: close\r\n"));
        auto r = c.read();
        CHECK(r.body == "/sync/last");
        CHECK(r.has("Connection: close\r\n"));
        c.send(get("/sync/ignored") + std::string(100000, 'x'));  // read and discarded, no reset
        CHECK(c.eof());
        h.on_loop([&h] { CHECK(h.ctx.connections.size() == 1); });  // still lingering
        shutdown(c.fd, SHUT_WR);
        CHECK(h.eventually([&h] { return h.ctx.connections.empty(); }));
    });
    CHECK(h.handler.requests == 1);
    CHECK(h.closed == 1);
}

TEST_CASE("connection io: a connection reset before it was accepted is closed at once")
{
    Harness h;
    h.allow_accept_errors = true;
    h.run([&h](int port) {
        std::thread stall([&h] { h.on_loop([] { std::this_thread::sleep_for(200ms); }); });
        std::this_thread::sleep_for(50ms);  // the loop is asleep: nothing is accepted now
        {
            Client c(port);
            c.send(get("/sync/never"));
            c.reset();
        }
        stall.join();
        CHECK(h.eventually([&h] { return h.accept_errors + h.closed >= 1 && h.ctx.connections.empty(); }));
    });
    // Either the kernel dropped it from the accept queue (nothing to accept)
    // or getpeername failed: never an answer, never a request.
    CHECK(h.handler.requests == 0);
    CHECK(h.handler.statuses.empty());
    CHECK(h.accept_errors == h.closed);
}
