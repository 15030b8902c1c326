// http/connection.hpp: one client connection and its llhttp parser.
//
// Owns: reading, parsing (llhttp, strict: no lenient flags), the checks that
// llhttp leaves to a server (Host, versions, request-target form, smuggling,
// limits), keep-alive and pipelining (one request answered at a time, in
// order: the parser is paused while an answer is pending), header and idle
// timeouts, writing responses, and closing.
// Does not know routes: every complete request goes to the Handler in its
// Context; the handler answers with respond(), now or later on the loop.
//
// Lifetime: a Connection embeds its uv_tcp_t and is deleted only in the
// close callback, and never while an answer is pending: if the peer goes
// away while a handler is still working, the connection closes its socket
// and is freed when respond() arrives. So a handler may keep a Connection&
// until it responds, and must respond exactly once per request.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <llhttp.h>
#include <uv.h>

#include "config/settings.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace forkd::http {

class Connection;

struct Limits {
    std::size_t request_line = 8190;       // 414 past this (method + target + version)
    std::size_t request_fields = 100;      // 431 past this many header fields
    std::size_t request_field_size = 8190; // 431 past this many bytes in one field (name + value)
    int64_t max_body_size = 1048576;       // 413 past this
    uint64_t header_timeout_ms = 10000;    // absolute, from the first byte of a request's head
    uint64_t keepalive_ms = 75000;         // idle between requests

    static Limits from(const config::Settings& settings);
};

// Receives every complete, valid request. Implemented by the app.
class Handler {
public:
    virtual ~Handler() = default;
    // Called on the loop. Must call conn.respond() exactly once for this
    // request, now or later (on the loop).
    virtual void on_request(Connection& conn, const Request& request) noexcept = 0;
    // Called on the loop after a response was written to the socket buffer
    // (for statistics and the access log). `bytes` is the whole response.
    virtual void on_response(const Connection& conn, const Request& request,
                             int status, std::size_t bytes, uint64_t duration_ns) noexcept = 0;
};

// Shared by all connections of one worker; owned by the worker.
struct Context {
    uv_loop_t* loop = nullptr;
    Limits limits;
    Handler* handler = nullptr;
    bool draining = false;  // set by the worker: finish the current request, then close

    // Intrusive list of open connections (for drain) and counters.
    Connection* first = nullptr;
    std::size_t open = 0;            // connections not yet freed
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;

    // Called after a connection was freed (the worker resumes accepting).
    void (*on_closed)(Context& ctx) = nullptr;
    void* owner = nullptr;           // the worker, for on_closed
};

class Connection {
public:
    // Accept one pending connection from `server` and start serving it.
    // Returns 0 or a libuv error (already logged).
    static int accept(uv_stream_t* server, Context& ctx);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Answer the current request. Writes the response, then resumes parsing
    // pipelined requests or waits for the next one; closes if the request
    // or the worker asked for it. Safe to call after the peer went away.
    void respond(Response&& response);

    // Begin closing now (quick shutdown, or drain of an idle connection).
    void close();

    // Drain: close now if idle; otherwise after the current response.
    void drain();

    bool idle() const;                    // no request in progress
    const Request& request() const { return request_; }
    Context& context() const { return ctx_; }
    uint64_t requests_served() const { return requests_served_; }

    Connection* next = nullptr;  // Context's list
    Connection* prev = nullptr;

private:
    explicit Connection(Context& ctx);
    ~Connection();
    friend struct ConnectionCallbacks;  // the llhttp and libuv trampolines (connection.cpp)

    Context& ctx_;
    uv_tcp_t tcp_;
    uv_timer_t timer_;       // header timeout or keep-alive timeout
    llhttp_t parser_;
    Request request_;
    uint64_t requests_served_ = 0;
    // (the rest of the private state is http/'s to define)
};

}  // namespace forkd::http
