// tests/unit/http/test_connection_flow.cpp: http/connection.cpp over real
// sockets: timeouts (keep-alive, header, write) and back-pressure (a flood of
// pipelined requests, large responses to slow readers, bounded input).
#include <cerrno>

#include "connection_harness.hpp"

using namespace forkd_test;

TEST_CASE("connection: the keep-alive timeout closes an idle connection")
{
    Limits limits;
    limits.keepalive_ms = 150;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send(get("/sync/a"));
        CHECK(c.read().status == 200);
        auto start = std::chrono::steady_clock::now();
        CHECK(c.eof());
        auto waited = std::chrono::steady_clock::now() - start;
        CHECK(waited >= 100ms);
        CHECK(waited < 3s);
    });
}

TEST_CASE("connection: keepalive 0 closes after each response")
{
    Limits limits;
    limits.keepalive_ms = 0;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send(get("/sync/a") + get("/sync/b"));
        auto r = c.read();
        CHECK(r.body == "/sync/a");
        CHECK(r.has("Connection: close\r\n"));
        CHECK(c.eof());
    });
}

TEST_CASE("connection: the header timeout answers 408 and closes")
{
    Limits limits;
    limits.header_timeout_ms = 150;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send("GET /sync/a HTTP/1.1\r\nHost: te");
        auto start = std::chrono::steady_clock::now();
        auto r = c.read();
        CHECK(std::chrono::steady_clock::now() - start >= 100ms);
        CHECK(r.status == 408);
        CHECK(r.has("Connection: close\r\n"));
        CHECK(r.body.find("\"status\":408") != std::string::npos);
        CHECK(c.eof());
    });
    CHECK(h.handler.statuses == std::vector<int>{408});
    CHECK(h.ctx.closed.header_timeout == 1);
}

TEST_CASE("connection: a connection that sends nothing is closed without an answer")
{
    Limits limits;
    limits.header_timeout_ms = 100;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        CHECK(c.eof());
    });
    CHECK(h.handler.statuses.empty());
    CHECK(h.ctx.closed.header_timeout == 1);
    CHECK(h.ctx.closed.keepalive == 0);
}

TEST_CASE("connection: an idle keep-alive connection is closed after keepalive, and counted")
{
    Limits limits;
    limits.keepalive_ms = 100;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send(get("/sync/a"));
        CHECK(c.read().status == 200);
        CHECK(c.eof());
    });
    CHECK(h.ctx.closed.keepalive == 1);
    CHECK(h.ctx.closed.header_timeout == 0);
}

TEST_CASE("connection: a flood of pipelined requests is answered completely and in order")
{
    Harness h;
    constexpr int count = 3000;
    h.run([](int port) {
        Client c(port);
        std::thread sender([&c] {
            std::string all;
            for (int i = 0; i < count; ++i)
                all += get("/sync/" + std::to_string(i));
            c.send(all);
        });
        std::this_thread::sleep_for(100ms);  // let output pile up first
        for (int i = 0; i < count; ++i) {
            auto r = c.read();
            if (r.body != "/sync/" + std::to_string(i)) {
                FAIL("response " << i << " was " << r.body);
            }
        }
        sender.join();
    });
    CHECK(h.handler.requests == count);
}

TEST_CASE("connection: large responses to a slow reader (write back-pressure)")
{
    Harness h;
    constexpr int count = 40;
    h.run([](int port) {
        Client c(port);
        std::string all;
        for (int i = 0; i < count; ++i)
            all += get("/big/262144");
        c.send(all);
        std::this_thread::sleep_for(200ms);
        for (int i = 0; i < count; ++i) {
            auto r = c.read();
            REQUIRE(r.body.size() == 262144);
        }
    });
    CHECK(h.handler.requests == count);
    CHECK(h.ctx.bytes_out > 40u * 262144u);
}

TEST_CASE("connection: while an answer is pending, buffered input is bounded")
{
    Harness h;
    h.run([](int port) {
        Client c(port);
        c.send(get("/async/300/slow"));
        // Far more pipelined bytes than the connection buffers: the socket
        // stops being read, so this send may only partly complete.
        std::string more;
        for (int i = 0; i < 20000; ++i)
            more += get("/sync/x");
        std::thread sender([&c, &more] {
            ::send(c.fd, more.data(), more.size(), MSG_NOSIGNAL);  // may block until answers are read
        });
        CHECK(c.read().body == "/async/300/slow");
        for (int i = 0; i < 20000; ++i) {
            if (c.read().body != "/sync/x") {
                FAIL("response " << i);
            }
        }
        sender.join();
    });
    // Reading stopped while the first answer was pending: far less than the
    // ~800 KB sent had been read by then (64 KiB kept, plus one read).
    CHECK(h.handler.bytes_in_at_answer < 200u * 1024u);
}

TEST_CASE("connection: a body that stops arriving is a 408")
{
    Limits limits;
    limits.header_timeout_ms = 150;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send("POST /sync/p HTTP/1.1\r\nHost: test\r\nContent-Length: 10\r\n\r\nabc");
        auto r = c.read();
        CHECK(r.status == 408);
        CHECK(r.body.find("body") != std::string::npos);
        CHECK(c.eof());
    });
}

TEST_CASE("connection: one response larger than the socket buffers, kept alive or closed")
{
    Harness h;
    h.run([](int port) {
        Client a(port);
        a.send(get("/big/4000000"));
        std::this_thread::sleep_for(100ms);
        CHECK(a.read().body.size() == 4000000);
        a.send(get("/sync/after"));
        CHECK(a.read().body == "/sync/after");

        Client b(port);
        b.send(get("/big/4000000", "Connection: close\r\n"));
        std::this_thread::sleep_for(100ms);
        auto r = b.read();
        CHECK(r.body.size() == 4000000);
        CHECK(r.has("Connection: close\r\n"));
        CHECK(b.eof());
    });
}

TEST_CASE("connection: a peer that does not read its answer is closed after send_timeout")
{
    Limits limits;
    limits.header_timeout_ms = 60000;  // not this one
    limits.keepalive_ms = 60000;       // nor this one
    limits.send_timeout_ms = 150;
    Harness h(limits);
    h.run([&h](int port) {
        Client c(port);
        c.send(get("/big/16000000"));
        std::this_thread::sleep_for(600ms);
        // Whatever the kernels held arrives (a few MB of socket buffers),
        // then the end: never all of it. (A tiny SO_RCVBUF here would make
        // the orphaned socket's buffer trickle out for minutes.)
        std::size_t received = 0;
        char buf[65536];
        ssize_t n;
        while ((n = recv(c.fd, buf, sizeof buf, 0)) > 0)
            received += static_cast<std::size_t>(n);
        CHECK(received < 16000000u);
        CHECK((n == 0 || errno == ECONNRESET));  // closed by the server, not our receive timeout
        (void)h;
    });
    CHECK(h.closed == 1);
    CHECK(h.ctx.closed.send_timeout == 1);
}

TEST_CASE("connection: a peer that reads slowly but steadily is not cut by send_timeout")
{
    Limits limits;
    limits.send_timeout_ms = 300;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        c.send(get("/big/8000000"));
        // Read a slice every 5 ms: the whole response takes longer than
        // send_timeout (more than the socket buffers hold), but output never
        // stalls that long.
        std::size_t received = 0;
        char buf[65536];
        auto start = std::chrono::steady_clock::now();
        while (received < 8000000 && std::chrono::steady_clock::now() - start < 20s) {
            ssize_t n = recv(c.fd, buf, sizeof buf, 0);
            if (n <= 0)
                break;
            received += static_cast<std::size_t>(n);
            std::this_thread::sleep_for(5ms);
        }
        CHECK(received > 8000000);                                // the head and all of the body
        CHECK(std::chrono::steady_clock::now() - start > 300ms);  // it did outlast send_timeout
    });
    CHECK(h.ctx.closed.send_timeout == 0);
}

// The loop times (ms) at which the loop's active timers due in `min_ms` or
// more fire: the connections' timers, as armed in libuv.
static std::vector<uint64_t> long_timers_due(uv_loop_t* loop, uint64_t min_ms)
{
    struct Walk {
        std::vector<uint64_t> due;
        uint64_t min_ms;
    } walk{{}, min_ms};
    uv_walk(
        loop,
        [](uv_handle_t* handle, void* arg) {
            auto* w = static_cast<Walk*>(arg);
            if (handle->type != UV_TIMER || !uv_is_active(handle))
                return;
            const uint64_t in = uv_timer_get_due_in(reinterpret_cast<uv_timer_t*>(handle));
            if (in >= w->min_ms)
                w->due.push_back(uv_now(handle->loop) + in);
        },
        &walk);
    return walk.due;
}

TEST_CASE("connection: keep-alive answers do not restart the timer; its deadline moves lazily")
{
    Limits limits;
    limits.keepalive_ms = 60000;
    Harness h(limits);
    h.run([&h](int port) {
        Client c(port);
        c.send(get("/sync/first"));
        CHECK(c.read().status == 200);
        std::vector<uint64_t> first;
        h.on_loop([&] { first = long_timers_due(&h.loop, 1000); });
        REQUIRE(first.size() == 1);  // this connection's, armed at accept (header_timeout, 10 s)
        for (int i = 0; i < 20; ++i) {
            std::this_thread::sleep_for(3ms);  // the loop's clock moves on between answers
            c.send(get("/sync/" + std::to_string(i)));
            CHECK(c.read().status == 200);
        }
        std::vector<uint64_t> after;
        h.on_loop([&] { after = long_timers_due(&h.loop, 1000); });
        CHECK(after == first);  // 20 answers later, still armed as it was: only the deadline moved
    });
}

TEST_CASE("connection: the keep-alive timeout counts from the last answer, not the first")
{
    Limits limits;
    limits.keepalive_ms = 1000;
    Harness h(limits);
    h.run([](int port) {
        Client c(port);
        for (int i = 0; i < 3; ++i) {  // 1.2 s in all, each gap well within keepalive
            c.send(get("/sync/" + std::to_string(i)));
            CHECK(c.read().body == "/sync/" + std::to_string(i));
            if (i < 2)
                std::this_thread::sleep_for(600ms);
        }
        CHECK(c.eof());  // then idle past keepalive
    });
    CHECK(h.ctx.closed.keepalive == 1);
}
