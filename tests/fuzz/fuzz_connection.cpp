// tests/fuzz/fuzz_connection.cpp: a libFuzzer target for one real
// http::Connection serving the real app (routing, dispatch, timers, the
// offload pool, response building), over a real loopback TCP socket.
//
// The first input byte picks the limits (default or small) and how the rest
// is cut into writes; the rest is what a client sends. The client is a plain
// socket on the same loop (a uv_poll reads it, so output never stalls the
// server); after the last write it shuts its side down and reads until the
// server closes. Then, from what the handler saw and what came over the wire:
//  - at most one response per request, in order: the handler sees request,
//    response, request, response..., and at most one response of the
//    connection's own (400, 408, 413, 414, 431, 505) at the very end;
//  - the wire holds exactly those responses, same statuses, same sizes,
//    each complete (Content-Length, Date, X-Process-Time), interim 100s
//    aside, and nothing after a "Connection: close" response;
//  - the connection is freed and no app timer is left (nothing leaks; ASan
//    checks the memory), and the byte counters match the wire.
// Buffers are bounded by the limits: libFuzzer's -rss_limit_mb and
// -malloc_limit_mb fail an input that makes one grow past them.
//
// Why a socket and not a seam: Connection embeds its uv_tcp_t and reads with
// libuv; a socket is the only way to drive that code as the server runs it.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "app/accounting.hpp"
#include "app/app.hpp"
#include "config/settings.hpp"
#include "http/connection.hpp"
#include "http/date.hpp"
#include "offload/pool.hpp"

using namespace forkd;

namespace {

void check(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_connection: invariant broken: %s\n", what);
        std::abort();
    }
}

struct Event {
    bool response = false;  // false: a request reached the handler
    int status = 0;
    std::size_t bytes = 0;
    uint32_t tag = 0;
    bool head = false;       // the request was HEAD
    bool keep_alive = true;  // the request allowed another one
};

// Records what the real app sees and answers, then passes it on.
struct Recorder final : http::Handler {
    app::App* app = nullptr;
    std::vector<Event> events;

    void on_request(http::Connection& conn, const http::Request& request) noexcept override
    {
        events.push_back({false, 0, 0, 0, request.is_head(), request.keep_alive});
        app->on_request(conn, request);
    }
    void on_response(const http::Connection& conn, const http::Request& request,
                     const http::Sent& sent) noexcept override
    {
        events.push_back({true, sent.status, sent.bytes, sent.tag, request.is_head(), true});
        app->on_response(conn, request, sent);
    }
};

struct Server {
    uv_tcp_t tcp;
    http::Context ctx;
    int port = 0;
};

struct Env {
    uv_loop_t loop;
    config::Settings settings;
    bool draining = false;
    std::unique_ptr<offload::Pool> pool;
    std::unique_ptr<app::Accounting> accounting;
    std::unique_ptr<app::App> app;
    Recorder recorder;
    Server servers[2];  // default limits, small limits

    Env()
    {
        settings.threads = 1;
        settings.offload_queue = 2;
        settings.endpoints.sleep_max_ms = 3;
        settings.endpoints.fib_max_n = 25;
        settings.endpoints.echo = true;
        check(uv_loop_init(&loop) == 0, "uv_loop_init");
        http::date::refresh();
        pool = std::make_unique<offload::Pool>(&loop, unsigned(settings.threads), std::size_t(settings.offload_queue));
        check(pool->start() == 0, "pool start");
        accounting = std::make_unique<app::Accounting>(nullptr, app::WorkerIdentity{});
        app = std::make_unique<app::App>(&loop, settings, *pool, *accounting, draining);
        recorder.app = app.get();
        for (int i = 0; i < 2; ++i) {
            Server& s = servers[i];
            s.ctx.loop = &loop;
            s.ctx.limits = http::Limits::from(settings);
            if (i == 1) {
                s.ctx.limits.request_line = 64;
                s.ctx.limits.request_fields = 6;
                s.ctx.limits.request_field_size = 48;
                s.ctx.limits.max_body_size = 32;
            }
            s.ctx.limits.header_timeout_ms = 2000;
            s.ctx.limits.keepalive_ms = 2000;
            s.ctx.handler = &recorder;
            accounting->watch(s.ctx);
            check(uv_tcp_init(&loop, &s.tcp) == 0, "uv_tcp_init");
            s.tcp.data = &s.ctx;
            sockaddr_in addr{};
            uv_ip4_addr("127.0.0.1", 0, &addr);
            check(uv_tcp_bind(&s.tcp, reinterpret_cast<const sockaddr*>(&addr), 0) == 0, "bind");
            check(uv_listen(reinterpret_cast<uv_stream_t*>(&s.tcp), 16,
                            [](uv_stream_t* server, int status) {
                                if (status == 0)
                                    http::Connection::accept(server, *static_cast<http::Context*>(server->data));
                            }) == 0,
                  "listen");
            int len = sizeof addr;
            uv_tcp_getsockname(&s.tcp, reinterpret_cast<sockaddr*>(&addr), &len);
            s.port = ntohs(addr.sin_port);
        }
    }
};

Env& env()
{
    static Env* e = new Env();  // lives as long as the process: the pool's threads too
    return *e;
}

// The client end, read on the loop.
struct Client {
    int fd = -1;
    uv_poll_t poll;
    std::string wire;
    bool eof = false;
    bool reset = false;
    bool poll_closed = false;

    static void on_readable(uv_poll_t* handle, int status, int)
    {
        auto* c = static_cast<Client*>(handle->data);
        if (status < 0) {
            c->finish(true);
            return;
        }
        char buf[65536];
        for (;;) {
            ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
            if (n > 0) {
                c->wire.append(buf, std::size_t(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (n < 0 && errno == EINTR)
                continue;
            c->finish(n < 0);
            return;
        }
    }
    void finish(bool was_reset)
    {
        eof = true;
        reset = reset || was_reset;
        uv_poll_stop(&poll);
    }
};

// One response from the front of `wire`: false when malformed or incomplete.
struct Parsed {
    int status = 0;
    std::size_t bytes = 0;
    bool close = false;
    std::string_view body;
};

bool parse_response(std::string_view wire, bool head, Parsed& out)
{
    std::size_t end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos || wire.substr(0, 9) != "HTTP/1.1 " || end < 12)
        return false;
    std::string_view status = wire.substr(9, 3);
    for (char c : status) {
        if (c < '0' || c > '9')
            return false;
    }
    out.status = (status[0] - '0') * 100 + (status[1] - '0') * 10 + (status[2] - '0');
    std::string_view headers = wire.substr(0, end + 2);
    bool has_length = false, has_date = false, has_time = false;
    std::size_t length = 0;
    out.close = false;
    for (std::size_t pos = headers.find("\r\n") + 2; pos < headers.size();) {
        std::size_t eol = headers.find("\r\n", pos);
        std::string_view line = headers.substr(pos, eol - pos);
        pos = eol + 2;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return false;
        std::string_view name = line.substr(0, colon);
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ')
            value.remove_prefix(1);
        if (name == "Content-Length") {
            has_length = true;
            length = std::strtoull(std::string(value).c_str(), nullptr, 10);
        } else if (name == "Date") {
            has_date = true;
        } else if (name == "X-Process-Time") {
            has_time = true;
        } else if (name == "Connection") {
            out.close = value == "close";
        }
    }
    if (out.status >= 200)
        check(has_length && has_date && has_time, "a response lacks Content-Length, Date or X-Process-Time");
    std::size_t body = (head || out.status < 200 || out.status == 204 || out.status == 304) ? 0 : length;
    if (wire.size() < end + 4 + body)
        return false;
    out.body = wire.substr(end + 4, body);
    out.bytes = end + 4 + body;
    return true;
}

void run_once(uv_loop_t* loop, bool wait)
{
    uv_run(loop, wait ? UV_RUN_ONCE : UV_RUN_NOWAIT);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    Env& e = env();
    Server& server = e.servers[data[0] & 1];
    const std::size_t pattern = (data[0] >> 1) & 15;  // 0: one write
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    e.recorder.events.clear();
    const uint64_t bytes_in_before = server.ctx.bytes_in;
    const uint64_t bytes_out_before = server.ctx.bytes_out;

    Client client;
    client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    check(client.fd >= 0, "client socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(server.port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = ::connect(client.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    check(rc == 0 || errno == EINPROGRESS, "connect");
    check(uv_poll_init_socket(&e.loop, &client.poll, client.fd) == 0, "uv_poll_init_socket");
    client.poll.data = &client;
    check(uv_poll_start(&client.poll, UV_READABLE, &Client::on_readable) == 0, "uv_poll_start");
    while (server.ctx.open == 0)
        run_once(&e.loop, true);  // the accept

    // Write the input in pieces, letting the server read between them.
    std::size_t offset = 0;
    for (std::size_t step = 0; offset < input.size() && !client.eof; ++step) {
        std::size_t n = pattern == 0 ? input.size() : 1 + (pattern * 7 + step * 13) % (pattern * 5 + 1);
        n = std::min(n, input.size() - offset);
        ssize_t sent = ::send(client.fd, input.data() + offset, n, MSG_NOSIGNAL);
        if (sent > 0) {
            offset += std::size_t(sent);
        } else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            break;  // the server closed (after an error): the rest is not sent
        }
        run_once(&e.loop, sent <= 0);
        run_once(&e.loop, false);
    }
    ::shutdown(client.fd, SHUT_WR);
    while (!client.eof || server.ctx.open != 0 || e.app->pending_timers() != 0)
        run_once(&e.loop, true);
    uv_close(reinterpret_cast<uv_handle_t*>(&client.poll),
             [](uv_handle_t* h) { static_cast<Client*>(h->data)->poll_closed = true; });
    while (!client.poll_closed)
        run_once(&e.loop, false);
    ::close(client.fd);

    // At most one response per request, in order; one of the connection's own at the end.
    const std::vector<Event>& events = e.recorder.events;
    std::size_t requests = 0, responses = 0;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (!events[i].response) {
            ++requests;
            check(responses == requests - 1, "a request reached the handler before the last one was answered");
        } else {
            ++responses;
            if (responses > requests) {
                check(i + 1 == events.size(), "something happened after the connection's own error response");
                check(events[i].tag == 0, "an error of the connection's own carries an endpoint tag");
            }
        }
    }
    check(responses == requests || responses == requests + 1, "a request got no response, or two");
    check(server.ctx.bytes_in - bytes_in_before <= offset, "more bytes read than were sent");

    if (client.reset)
        return 0;  // what was in flight may be lost: nothing more to compare
    check(server.ctx.bytes_out - bytes_out_before == client.wire.size(), "bytes_out differs from what arrived");
    std::string_view wire = client.wire;
    std::size_t request_index = 0;  // the request each response answers
    bool closed = false;
    for (const Event& ev : events) {
        if (!ev.response)
            continue;
        const Event* request = nullptr;
        for (std::size_t seen = 0, i = 0; i < events.size(); ++i) {
            if (!events[i].response && seen++ == request_index) {
                request = &events[i];
                break;
            }
        }
        ++request_index;
        Parsed parsed;
        for (;;) {
            check(!closed, "bytes after a Connection: close response");
            // ev.head: the request as far as it was parsed (an error answer to a HEAD has no body either).
            check(parse_response(wire, ev.head, parsed), "a malformed or missing response");
            wire.remove_prefix(parsed.bytes);
            if (parsed.status != 100)
                break;
        }
        check(parsed.status == ev.status, "the wire's status differs from the handler's");
        check(parsed.bytes == ev.bytes, "the wire's response size differs from the handler's");
        if (ev.status >= 400 && !ev.head)
            check(parsed.body.find("\"error\"") != std::string_view::npos, "an error response without a JSON error");
        if (request == nullptr)
            check(parsed.close, "the connection's own error did not close");
        if (request != nullptr && !request->keep_alive)
            check(parsed.close, "a request that ends the connection got a keep-alive response");
        closed = parsed.close;
    }
    // A 100 Continue may still precede nothing (the body never came).
    while (!wire.empty()) {
        Parsed parsed;
        check(!closed, "bytes after a Connection: close response");
        check(parse_response(wire, false, parsed) && parsed.status == 100, "bytes that are no response");
        wire.remove_prefix(parsed.bytes);
    }
    return 0;
}
