// tests/unit/http/test_connection.cpp: http/connection.cpp over real sockets:
// ordering, keep-alive and close, errors, 100 Continue, peers that go away,
// drain. Timeouts and back-pressure are in test_connection_flow.cpp.
#include "connection_harness.hpp"

using namespace forkd_test;

TEST_CASE("connection: pipelined requests are answered in order, sync and async mixed")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/60/a") + get("/sync/b") + get("/async/10/c") +
               "HEAD /sync/d HTTP/1.1\r\nHost: test\r\n\r\n" + get("/async/0/e?x=1"));
        for (std::string expected : {"/async/60/a", "/sync/b", "/async/10/c", "", "/async/0/e?x=1"}) {
            auto r = c.read(expected.empty());
            CHECK(r.status == 200);
            CHECK(r.body == expected);
            CHECK(r.has("Connection: keep-alive\r\n"));
            CHECK(r.has("\r\nDate: "));
            CHECK(r.has("\r\nX-Process-Time: 0."));
            if (expected.empty())
                CHECK(r.has("Content-Length: 7\r\n"));  // HEAD: the length of "/sync/d"
        }
    });
    CHECK(h.handler.requests == 5);
    CHECK(h.handler.statuses.size() == 5);
    CHECK(h.handler.peer_ok);
}

TEST_CASE("connection: a request split across many reads")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        std::string req = get("/sync/split");
        for (char ch : req) {
            c.send(std::string_view(&ch, 1));
            std::this_thread::sleep_for(1ms);
        }
        CHECK(c.read().body == "/sync/split");
    });
}

TEST_CASE("connection: HTTP/1.0 and Connection: close end the connection after the answer")
{
    Harness h;
    h.run([](int port) {
        Client a(port);
        a.send("GET /sync/a HTTP/1.0\r\n\r\n");
        auto r = a.read();
        CHECK(r.body == "/sync/a");
        CHECK(r.has("Connection: close\r\n"));
        CHECK(a.eof());

        Client b(port);
        b.send(get("/sync/b", "Connection: close\r\n") + get("/sync/never"));
        CHECK(b.read().body == "/sync/b");
        CHECK(b.eof());
    });
    CHECK(h.handler.requests == 2);
}

TEST_CASE("connection: a malformed request gets a JSON 400, then the connection closes")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/sync/ok") + "GET / HTTP/1.1\r\n\r\n" + get("/sync/never"));
        CHECK(c.read().body == "/sync/ok");
        auto r = c.read();
        CHECK(r.status == 400);
        CHECK(r.has("Content-Type: application/json\r\n"));
        CHECK(r.has("Connection: close\r\n"));
        CHECK(r.body == "{\"error\":\"missing Host header\",\"status\":400}");
        CHECK(c.eof());
    });
    CHECK(h.handler.statuses == std::vector<int>{200, 400});
}

TEST_CASE("connection: a 413 reaches a client that is still sending its body")
{
    Limits limits;
    limits.max_body_size = 1000;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send("POST /sync/up HTTP/1.1\r\nHost: test\r\nContent-Length: 4000000\r\n\r\n");
        // The server answered at once and reads (and discards) while it lingers:
        // sending does not block, and the reset that closing with unread bytes
        // would cause does not destroy the answer.
        std::string chunk(65536, 'b');
        for (int i = 0; i < 16; ++i) {
            if (::send(c.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0)
                break;
        }
        auto r = c.read();
        CHECK(r.status == 413);
        CHECK(r.has("Connection: close\r\n"));
    });
}

TEST_CASE("connection: Expect: 100-continue gets an interim response, counted in bytes_out")
{
    Harness h;
    std::size_t arrived = 0;  // every byte the client read
    h.run([&arrived](int port) {
        Client c(port);
        c.send("POST /sync/p HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
        auto interim = c.read();
        CHECK(interim.head == "HTTP/1.1 100 Continue\r\n\r\n");
        c.send("body");
        auto r = c.read();
        CHECK(r.status == 200);
        CHECK(r.body == "/sync/p");
        arrived = interim.head.size() + interim.body.size() + r.head.size() + r.body.size();
    });
    // The interim answer went on the wire too (fuzz_connection's find: it was not counted).
    CHECK(h.ctx.bytes_out == arrived);
}

TEST_CASE("connection: a peer that resets while an async answer is pending")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/150/gone"));
        std::this_thread::sleep_for(30ms);
        c.reset();
        std::this_thread::sleep_for(250ms);  // the answer comes after the close: dropped, then freed
    });
    CHECK(h.handler.requests == 1);
    CHECK(h.handler.statuses.empty());
    CHECK(h.closed == 1);
}

TEST_CASE("connection: a peer that half-closes still gets its pending answer")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/50/a") + get("/sync/b"));
        shutdown(c.fd, SHUT_WR);
        CHECK(c.read().body == "/async/50/a");
        CHECK(c.read().body == "/sync/b");
        CHECK(c.eof());
    });
}

TEST_CASE("connection: drain closes idle connections and finishes busy ones")
{
    Harness h;
    h.run([&h](int port) {
        Client idle(port);
        idle.send(get("/sync/a"));
        CHECK(idle.read().status == 200);
        Client busy(port);
        busy.send(get("/async/200/b"));
        std::this_thread::sleep_for(50ms);
        uv_async_send(&h.drain);
        CHECK(idle.eof());
        auto r = busy.read();
        CHECK(r.body == "/async/200/b");
        CHECK(r.has("Connection: close\r\n"));
        CHECK(busy.eof());
    });
}
