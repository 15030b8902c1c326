// tests/unit/worker/test_acceptor.cpp: worker/acceptor.cpp: the room of a
// Context (evicting the longest-idle keep-alive connection to admit a new
// client, waiting while every connection is busy), refusing with the reserve
// descriptor when out of descriptors, and raising RLIMIT_NOFILE.
#include "worker/acceptor.hpp"

#include <fcntl.h>
#include <sys/resource.h>

#include "tests/unit/http/connection_harness.hpp"

using namespace forkd_test;
using forkd::worker::Acceptor;
using forkd::worker::ReserveFd;

namespace {

// A non-blocking listening socket on 127.0.0.1 and its port.
int listen_loopback(int& port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port = ntohs(addr.sin_port);
    return fd;
}

// A loop serving one Context through one Acceptor with room for `room`.
struct AcceptHarness {
    uv_loop_t loop;
    uv_async_t stop;
    Context ctx;
    TestHandler handler;
    ReserveFd reserve;
    std::unique_ptr<Acceptor> acceptor;
    int port = 0;
    std::atomic<std::size_t> open{0};  // ctx.open, for the client thread

    explicit AcceptHarness(std::size_t room)
    {
        REQUIRE(uv_loop_init(&loop) == 0);
        handler.loop = &loop;
        ctx.loop = &loop;
        ctx.handler = &handler;
        ctx.owner = this;
        ctx.on_closed = [](Context& c) {
            auto* self = static_cast<AcceptHarness*>(c.owner);
            self->open = c.open;
            self->acceptor->on_room();
        };
        ctx.on_idle = [](Context& c) { static_cast<AcceptHarness*>(c.owner)->acceptor->on_room(); };
        ctx.on_opened = [](Context& c) { static_cast<AcceptHarness*>(c.owner)->open = c.open; };
        acceptor = std::make_unique<Acceptor>(&loop, listen_loopback(port), ctx, room, reserve);
        REQUIRE(acceptor->start() == 0);
        stop.data = this;
        REQUIRE(uv_async_init(&loop, &stop, [](uv_async_t* a) {
                    auto* self = static_cast<AcceptHarness*>(a->data);
                    self->acceptor->close();
                    self->ctx.connections.close_all();
                    self->ctx.turns.close();
                    uv_close(reinterpret_cast<uv_handle_t*>(a), nullptr);
                }) == 0);
    }

    template <typename Client> void run(Client client)
    {
        std::thread thread([&] {
            try {
                client(port);
            } catch (...) {
            }
            uv_async_send(&stop);
        });
        uv_run(&loop, UV_RUN_DEFAULT);
        thread.join();
        CHECK(ctx.open == 0);
        CHECK(uv_loop_close(&loop) == 0);
    }
};

// From the client thread: true once the loop has `n` connections open.
bool wait_open(AcceptHarness& h, std::size_t n)
{
    for (int i = 0; i < 400 && h.open.load() != n; ++i)
        std::this_thread::sleep_for(5ms);
    return h.open.load() == n;
}

bool silent_for(Client& c, std::chrono::milliseconds ms)
{
    timeval tv{0, static_cast<suseconds_t>(ms.count() * 1000)};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char byte;
    const bool silent = recv(c.fd, &byte, 1, MSG_PEEK) < 0 && errno == EAGAIN;
    timeval back{5, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_RCVTIMEO, &back, sizeof back);
    return silent;
}

}  // namespace

TEST_CASE("acceptor: at its room the longest-idle keep-alive connection makes way for a new client")
{
    AcceptHarness h(2);
    h.run([&h](int port) {
        Client oldest(port);
        oldest.send(get("/sync/a"));
        CHECK(oldest.read().status == 200);
        Client newer(port);
        newer.send(get("/sync/b"));
        CHECK(newer.read().status == 200);
        Client third(port);
        third.send(get("/sync/c"));
        CHECK(third.read().body == "/sync/c");  // admitted
        CHECK(oldest.eof());                    // evicted, the longest idle
        newer.send(get("/sync/d"));
        CHECK(newer.read().body == "/sync/d");  // untouched
    });
    CHECK(h.ctx.closed.evicted == 1);
}

TEST_CASE("acceptor: with every connection busy it waits, and takes the client once one is idle")
{
    AcceptHarness h(2);
    h.run([&h](int port) {
        Client a(port);
        a.send("GET /sync/a HTTP/1.1\r\nHost: t");  // a request under way
        Client b(port);
        b.send("GET /sync/b HTTP/1.1\r\nHost: t");
        CHECK(wait_open(h, 2));
        Client c(port);
        c.send(get("/sync/c"));
        CHECK(silent_for(c, 300ms));  // queued in the kernel, not taken
        CHECK(h.open.load() == 2);
        a.send("\r\n\r\n");
        CHECK(a.read().body == "/sync/a");  // a is idle now: it makes way for c
        CHECK(c.read().body == "/sync/c");
        CHECK(a.eof());
        b.send("\r\n\r\n");
        CHECK(b.read().body == "/sync/b");
    });
    CHECK(h.ctx.closed.evicted == 1);
}

TEST_CASE("acceptor: the reserve descriptor refuses one pending connection, or none")
{
    int port = 0;
    int fd = listen_loopback(port);
    ReserveFd reserve;
    REQUIRE(reserve.held());
    CHECK(reserve.refuse_one(fd) == 0);  // none pending
    Client c(port);
    CHECK(reserve.refuse_one(fd) == 1);
    CHECK(c.eof());
    CHECK(reserve.held());  // taken back
    ::close(fd);
}

TEST_CASE("acceptor: out of descriptors, pending connections are refused and counted, then served again")
{
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    rlimit bounded = saved;
    bounded.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 65536);  // hogging stays quick
    REQUIRE(setrlimit(RLIMIT_NOFILE, &bounded) == 0);
    AcceptHarness h(100);
    h.run([](int port) {
        Client first(port);
        first.send(get("/sync/a"));
        CHECK(first.read().status == 200);
        // The refused client's socket exists before the process runs out.
        int refused = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(refused >= 0);
        std::vector<int> hogs;
        for (int fd; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
            hogs.push_back(fd);
        REQUIRE(errno == EMFILE);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(connect(refused, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        timeval tv{5, 0};
        setsockopt(refused, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char byte;
        const ssize_t n = recv(refused, &byte, 1, 0);
        CHECK((n == 0 || (n < 0 && errno == ECONNRESET)));  // refused at once, not left waiting
        first.send(get("/sync/b"));                         // what is open is still served
        CHECK(first.read().body == "/sync/b");
        ::close(refused);
        for (int fd : hogs)
            ::close(fd);
        Client later(port);
        later.send(get("/sync/c"));
        CHECK(later.read().body == "/sync/c");  // recovered by itself
    });
    REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    CHECK(h.acceptor->refused().emfile == 1);
    CHECK(h.acceptor->refused().total() == 1);
}

TEST_CASE("acceptor: raise_nofile raises the soft limit up to the hard one, and says when that is not enough")
{
    rlimit saved{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (saved.rlim_max < 1024 || saved.rlim_max == RLIM_INFINITY) {
        MESSAGE("skipped: RLIMIT_NOFILE hard limit ", saved.rlim_max, " is unusual here");
        return;
    }
    rlimit low = saved;
    low.rlim_cur = 512;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
    auto limit = forkd::worker::raise_nofile(800);
    CHECK(limit.soft_before == 512);
    CHECK(limit.soft == 800);
    CHECK(limit.raised);
    CHECK(limit.enough);
    limit = forkd::worker::raise_nofile(700);  // enough already: unchanged
    CHECK(limit.soft == 800);
    CHECK_FALSE(limit.raised);
    limit = forkd::worker::raise_nofile(uint64_t(saved.rlim_max) + 1);
    CHECK(limit.soft == saved.rlim_max);
    CHECK_FALSE(limit.enough);
    REQUIRE(setrlimit(RLIMIT_NOFILE, &saved) == 0);
    CHECK(forkd::worker::descriptors_wanted(10000, 64) > 10064);
}

TEST_CASE("acceptor: connection_counts adds up the Contexts' closes and the acceptors' refusals by reason")
{
    forkd::http::Context a;
    forkd::http::Context b;
    a.closed.keepalive = 2;
    b.closed.keepalive = 1;
    a.closed.send_timeout = 3;
    b.closed.evicted = 4;
    const std::vector<std::unique_ptr<Acceptor>> none;
    const forkd::stats::ConnectionCounts counts = forkd::worker::connection_counts({&a, &b}, none);
    CHECK(counts.closed[forkd::stats::closed_keepalive] == 3);
    CHECK(counts.closed[forkd::stats::closed_send_timeout] == 3);
    CHECK(counts.closed[forkd::stats::closed_evicted] == 4);
    CHECK(counts.closed[forkd::stats::closed_header_timeout] == 0);
    CHECK(counts.refused[forkd::stats::refused_emfile] == 0);
}
