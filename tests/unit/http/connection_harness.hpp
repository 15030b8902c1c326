// tests/unit/http/connection_harness.hpp: a real loop, server and client for
// the http::Connection tests.
//
// A uv loop with a TCP server on 127.0.0.1 (port 0) whose connection callback
// calls Connection::accept, and a client made of plain blocking sockets in a
// std::thread. The test handler answers by target: /sync/... at once (inside
// on_request), /async/<ms>/... from a uv_timer, /big/<bytes> with a body of
// that size, /close/... at once with Response::close set (a draining host). When the client is done it wakes the loop, which closes every
// handle; run() then requires that every connection was freed and that
// uv_loop_close() succeeds. on_loop() runs a check on the loop, where the
// connections live, from the client thread; the handler records each
// connection and its state around every async answer.
#pragma once

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/connection.hpp"

namespace forkd_test {

using namespace forkd::http;
using namespace std::chrono_literals;

struct TestHandler final : Handler {
    uv_loop_t* loop = nullptr;
    int requests = 0;
    std::vector<int> statuses;  // from on_response
    bool peer_ok = true;
    uint64_t bytes_in_at_answer = 0;  // Context::bytes_in when the last async answer came
    std::vector<Connection*> conns;   // each request's connection, in order (valid while it is open)
    const uint64_t* loop_turns = nullptr;
    std::vector<uint64_t> turn_of_request;  // the loop turn (Harness::turns) each request came in
    // Around each async answer: the state before respond(), the state after
    // it (orphaned: not read, the connection may be gone) and Context::open.
    std::vector<Connection::State> state_before_answer;
    std::vector<Connection::State> state_after_answer;
    std::vector<int> requests_at_answer;
    std::vector<std::size_t> open_after_answer;

    struct Job {
        uv_timer_t timer;
        Connection* conn;
        std::string body;
    };

    void on_request(Connection& conn, const Request& request) noexcept override
    {
        ++requests;
        conns.push_back(&conn);
        turn_of_request.push_back(loop_turns != nullptr ? *loop_turns : 0);
        sockaddr_storage peer{};
        peer_ok = peer_ok && conn.peer(peer) && peer.ss_family == AF_INET;
        std::string_view path = request.path;
        if (path.rfind("/async/", 0) == 0) {
            auto* job = new Job{{}, &conn, std::string(request.target)};
            uint64_t ms = std::stoul(std::string(path.substr(7)));
            CHECK(uv_timer_init(loop, &job->timer) == 0);
            job->timer.data = job;
            CHECK(uv_timer_start(&job->timer, on_job, ms, 0) == 0);
            return;
        }
        Response response;
        response.content_type = "text/plain";
        if (path.rfind("/big/", 0) == 0) {
            response.body.assign(std::stoul(std::string(path.substr(5))), 'x');
        } else if (path.rfind("/close/", 0) == 0) {
            response.close = true;
            response.body = request.target;
        } else {
            response.body = request.target;
        }
        conn.respond(std::move(response));
    }

    static void on_job(uv_timer_t* timer)
    {
        auto* job = static_cast<Job*>(timer->data);
        auto* self = static_cast<TestHandler*>(job->conn->context().handler);
        Context& ctx = job->conn->context();
        self->bytes_in_at_answer = ctx.bytes_in;
        Response response;
        response.content_type = "text/plain";
        response.body = job->body;
        Connection::State before = job->conn->state();
        self->state_before_answer.push_back(before);
        self->requests_at_answer.push_back(self->requests);
        job->conn->respond(std::move(response));
        if (before != Connection::State::orphaned)
            self->state_after_answer.push_back(job->conn->state());
        self->open_after_answer.push_back(ctx.open);
        uv_close(reinterpret_cast<uv_handle_t*>(timer), [](uv_handle_t* h) { delete static_cast<Job*>(h->data); });
    }

    void on_response(const Connection&, const Request&, const Sent& sent) noexcept override
    {
        CHECK(sent.bytes > 0);
        statuses.push_back(sent.status);
    }
};

struct Harness {
    uv_loop_t loop;
    uv_tcp_t server;
    uv_async_t stop;
    uv_async_t drain;
    uv_async_t probe;
    uv_check_t check;    // counts loop turns
    uint64_t turns = 0;  // loop turns so far
    std::mutex probe_mutex;
    std::function<void()> probe_fn;
    std::promise<void> probe_done;
    Context ctx;
    TestHandler handler;
    int port = 0;
    int closed = 0;                    // on_closed calls
    bool allow_accept_errors = false;  // a test that resets before accept sets it
    int accept_errors = 0;

    explicit Harness(Limits limits = {})
    {
        REQUIRE(uv_loop_init(&loop) == 0);
        handler.loop = &loop;
        ctx.loop = &loop;
        ctx.limits = limits;
        ctx.handler = &handler;
        ctx.owner = this;
        ctx.on_closed = [](Context& c) { ++static_cast<Harness*>(c.owner)->closed; };
        REQUIRE(uv_tcp_init(&loop, &server) == 0);
        server.data = this;
        sockaddr_in addr{};
        REQUIRE(uv_ip4_addr("127.0.0.1", 0, &addr) == 0);
        REQUIRE(uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
        REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server), 128, on_connection) == 0);
        int len = sizeof addr;
        REQUIRE(uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port = ntohs(addr.sin_port);
        stop.data = this;
        drain.data = this;
        probe.data = this;
        REQUIRE(uv_async_init(&loop, &stop, on_stop) == 0);
        REQUIRE(uv_async_init(&loop, &drain, on_drain) == 0);
        REQUIRE(uv_async_init(&loop, &probe, on_probe) == 0);
        REQUIRE(uv_check_init(&loop, &check) == 0);
        check.data = this;
        REQUIRE(uv_check_start(&check, [](uv_check_t* c) { ++static_cast<Harness*>(c->data)->turns; }) == 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&check));
        handler.loop_turns = &turns;
    }

    static void on_connection(uv_stream_t* server, int status)
    {
        CHECK(status == 0);
        auto* self = static_cast<Harness*>(server->data);
        int rc = Connection::accept(server, self->ctx);
        if (rc != 0)
            ++self->accept_errors;
        if (!self->allow_accept_errors)
            CHECK(rc == 0);
    }

    static void on_stop(uv_async_t* async)
    {
        auto* self = static_cast<Harness*>(async->data);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->server), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->stop), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->drain), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->probe), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&self->check), nullptr);
        self->ctx.connections.close_all();
        self->ctx.turns.close();
    }

    static void on_drain(uv_async_t* async)
    {
        auto* self = static_cast<Harness*>(async->data);
        self->ctx.draining = true;
        self->ctx.connections.drain_all();
    }

    static void on_probe(uv_async_t* async)
    {
        auto* self = static_cast<Harness*>(async->data);
        std::lock_guard lock(self->probe_mutex);
        if (!self->probe_fn)
            return;
        self->probe_fn();
        self->probe_fn = nullptr;
        self->probe_done.set_value();
    }

    // From the client thread: run fn on the loop (between events) and wait
    // until it ran. One at a time.
    void on_loop(std::function<void()> fn)
    {
        std::future<void> done;
        {
            std::lock_guard lock(probe_mutex);
            probe_fn = std::move(fn);
            probe_done = std::promise<void>();
            done = probe_done.get_future();
        }
        uv_async_send(&probe);
        done.wait();
    }

    // From the client thread: true once pred(), run on the loop, holds;
    // false if it does not within two seconds. For what follows an event the
    // client cannot see (a close callback, a write callback).
    bool eventually(const std::function<bool()>& pred)
    {
        for (int i = 0; i < 400; ++i) {
            bool ok = false;
            on_loop([&] { ok = pred(); });
            if (ok)
                return true;
            std::this_thread::sleep_for(5ms);
        }
        return false;
    }

    // Run the loop while `client(port)` runs in a thread; then check that
    // everything was closed and freed.
    template <typename Client> void run(Client client)
    {
        std::thread thread([&] {
            try {
                client(port);
            } catch (...) {
                // A failed REQUIRE in the client thread: already reported.
            }
            uv_async_send(&stop);
        });
        uv_run(&loop, UV_RUN_DEFAULT);
        thread.join();
        CHECK(ctx.open == 0);
        CHECK(ctx.connections.empty());
        CHECK(uv_loop_close(&loop) == 0);
    }
};

// A blocking client socket that reads whole responses.
struct Client {
    int fd = -1;
    std::string buffered;

    explicit Client(int port)
    {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        timeval tv{5, 0};  // no test waits this long: a hang fails instead of blocking
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~Client()
    {
        if (fd >= 0)
            ::close(fd);
    }

    void send(std::string_view data)
    {
        while (!data.empty()) {
            ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            REQUIRE(n > 0);
            data.remove_prefix(static_cast<std::size_t>(n));
        }
    }

    // false on EOF or timeout
    bool fill()
    {
        char buf[65536];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            return false;
        buffered.append(buf, static_cast<std::size_t>(n));
        return true;
    }

    struct Reply {
        int status = 0;
        std::string head;
        std::string body;
        bool has(std::string_view header) const { return head.find(header) != std::string::npos; }
    };

    // One response; HEAD replies and 1xx have no body. status 0: none came.
    Reply read(bool head_request = false)
    {
        Reply r;
        std::size_t end;
        while ((end = buffered.find("\r\n\r\n")) == std::string::npos) {
            if (!fill())
                return r;
        }
        r.head = buffered.substr(0, end + 4);
        buffered.erase(0, end + 4);
        r.status = std::stoi(r.head.substr(9, 3));
        std::size_t length = 0;
        std::size_t at = r.head.find("Content-Length: ");
        if (at != std::string::npos)
            length = std::stoul(r.head.substr(at + 16));
        if (head_request || r.status < 200)
            length = 0;
        while (buffered.size() < length) {
            if (!fill())
                return Reply{};
        }
        r.body = buffered.substr(0, length);
        buffered.erase(0, length);
        return r;
    }

    // True if the server closes the connection (EOF) and sends nothing more.
    bool eof()
    {
        char c;
        return buffered.empty() && recv(fd, &c, 1, 0) == 0;
    }

    // Close with RST instead of FIN.
    void reset()
    {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(fd);
        fd = -1;
    }
};

inline std::string get(std::string_view target, std::string_view extra = "")
{
    return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

}  // namespace forkd_test
