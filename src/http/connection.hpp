// http/connection.hpp: one client connection and its llhttp parser.
//
// Owns: reading, feeding the parser (http/parser.hpp: llhttp, strict, plus
// the checks llhttp leaves to a server), keep-alive and pipelining (one
// request answered at a time, in order: the parser stays paused while an
// answer is pending), back-pressure (reading stops while too much is
// buffered), header, body and idle timeouts, 100 Continue, writing responses,
// and closing (shutdown, then a short lingering read so that the peer sees
// the last response before any reset).
// Does not know routes: every complete request goes to the Handler in its
// Context; the handler answers with respond(), now or later on the loop.
//
// Lifetime: a Connection embeds its uv_tcp_t and is deleted only in the
// close callback, and never while an answer is pending: if the peer goes
// away while a handler is still working, the connection closes its socket
// and is freed when respond() arrives. So a handler may keep a Connection&
// until it responds, and must respond exactly once per request.
//
// The code is split by purpose: connection.cpp (accept, the public calls,
// freeing), connection_list.cpp (the list of a Context), connection_state.cpp (the state machine:
// process, settle, the transitions table), connection_io.cpp (the libuv
// callbacks, writing, reading on and off, the timer, shutdown and close).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>

#include <llhttp.h>
#include <uv.h>

#include "config/settings.hpp"
#include "http/connection_list.hpp"
#include "http/limits.hpp"
#include "http/parser.hpp"
#include "http/request.hpp"
#include "http/response.hpp"

namespace forkd::http {

class Connection;

// Limits: see http/limits.hpp.

// One response, as queued for writing (Handler::on_response).
struct Sent {
    int status = 0;
    std::size_t bytes = 0;  // the whole response
    uint64_t duration_ns = 0;
    uint32_t tag = 0;  // what the handler passed to respond(); 0 for the connection's own errors
};

// Receives every complete, valid request. Implemented by the app.
class Handler {
public:
    virtual ~Handler() = default;
    // Called on the loop. Must call conn.respond() exactly once for this
    // request, now or later (on the loop).
    virtual void on_request(Connection& conn, const Request& request) noexcept = 0;
    // Called on the loop once a response is queued for writing (written to
    // the socket, or handed to libuv), for statistics and the access log,
    // with the tag its respond() carried: an answer and its accounting
    // travel together. Also called for the errors that the connection
    // answers itself (400, 408, 413, 414, 431, 505), with tag 0 and the
    // request as far as it was parsed (its target may be empty).
    virtual void on_response(const Connection& conn, const Request& request, const Sent& sent) noexcept = 0;
};

// Connections the server closed because of its own limits (not a request's
// Connection: close, nor the peer), since the Context was made.
struct Closes {
    uint64_t keepalive = 0;       // idle past keepalive
    uint64_t header_timeout = 0;  // no complete request head (or body) within header_timeout: 408, or silent
    uint64_t send_timeout = 0;    // output made no progress for send_timeout
    uint64_t evicted = 0;         // idle keep-alive, closed to admit a new client (evict_idle)
};

// Shared by all connections of one worker; owned by the worker.
struct Context {
    uv_loop_t* loop = nullptr;
    Limits limits;
    Handler* handler = nullptr;
    bool draining = false;  // set by the worker: finish the current request, then close

    // Intrusive list of open connections (for drain) and counters.
    ConnectionList connections;
    std::size_t open = 0;  // connections not yet freed
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    Closes closed;
    // Connections waiting for their next request, the longest-waiting first.
    ConnectionQueue idle;
    // Connections that spent their share of a loop turn (see TurnQueue).
    TurnQueue turns;

    // Called after a connection was freed (the worker resumes accepting),
    // and after one was accepted (the worker counts it).
    void (*on_closed)(Context& ctx) = nullptr;
    void (*on_opened)(Context& ctx) = nullptr;
    // Set by the worker while it does not accept for want of room; then
    // on_idle is called when a connection starts waiting for its next
    // request (the worker may close it to admit a waiting client).
    bool full = false;
    void (*on_idle)(Context& ctx) = nullptr;
    void* owner = nullptr;  // the worker, for on_closed

    Context();  // connection.cpp: the queues need the complete Connection
};

// Close up to `max` idle keep-alive connections of `ctx`, the longest idle
// first (nginx's reusable connections), to make room for new clients.
// Returns how many it closed; they are freed once their close callbacks ran.
std::size_t evict_idle(Context& ctx, std::size_t max);

class Connection {
public:
    // Where the connection is in its life. One state at a time: the
    // transitions are written down in connection_state.cpp.
    enum class State : uint8_t {
        opening,    // accept(): the handles are being set up
        reading,    // waiting for a request or reading one (the parser's phase says which part)
        answering,  // a request is with the handler; the parser is paused until respond()
        queued,     // its share of this loop turn is spent: buffered requests wait for its next turn
        blocked,    // too much output waits: no request is handled until the socket takes some
        finishing,  // the last response is queued: shut down once it is written
        lingering,  // FIN sent: reading and discarding until the peer closes (or linger_ms)
        orphaned,   // closed while an answer was pending: kept until respond(), then closing
        closing,    // uv_close() called: freed once both close callbacks ran
    };

    // Accept one pending connection from `server` and start serving it.
    // Returns 0 or a libuv error (already logged).
    static int accept(uv_stream_t* server, Context& ctx);
    // Start serving `fd`, a connected socket the caller accepted (the
    // worker owns its accept path). The connection owns fd from here on,
    // also when this fails. Returns 0 or a libuv error (already logged).
    static int adopt(int fd, Context& ctx);

    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Answer the current request. Writes the response, then resumes parsing
    // pipelined requests or waits for the next one; closes if the request
    // or the worker asked for it. Safe to call after the peer went away.
    // `tag` comes back in Handler::on_response (the app's endpoint).
    void respond(Response&& response, uint32_t tag = 0);

    // Begin closing now (quick shutdown, or drain of an idle connection).
    void close();

    // Drain: close now if idle; otherwise after the current response.
    void drain();

    bool idle() const;  // no request in progress
    State state() const { return state_; }
    // The peer's address as it was when the connection was accepted (for
    // stats.allow and the access log). false if it could not be read then.
    bool peer(struct sockaddr_storage& out) const;
    const Request& request() const { return parser_.request(); }
    // The handler takes up the request only now (work it deferred to the
    // end of the loop turn): X-Process-Time and the latency count from here,
    // as they would had the request been read now.
    void restart_clock();
    Context& context() const { return ctx_; }
    uint64_t requests_served() const { return requests_served_; }

private:
    explicit Connection(Context& ctx);
    ~Connection();
    friend struct ConnectionCallbacks;  // the libuv trampolines (connection_io.cpp)
    friend class ConnectionList;        // next_, prev_
    friend struct Context;              // idle_links_
    friend class TurnQueue;             // turn_links_, take_turn()

    // What the timer is waiting for. It mirrors the armed timer rather than
    // the state: the head timer is absolute and must not restart while the
    // head arrives, the body timer restarts on every read.
    enum class Wait : uint8_t {
        none,    // an answer is pending, or closing
        first,   // the first byte of a new connection (header_timeout)
        idle,    // the first byte of the next request (keepalive)
        head,    // the rest of a request head, absolute (header_timeout, then 408)
        body,    // progress of a request body (header_timeout, then 408)
        write,   // the peer to read what we wrote (send_timeout without progress, then close)
        linger,  // the peer to close after our shutdown
    };

    // connection_state.cpp
    void process();
    void settle();
    void finish_after_write();
    void queue(const Response& response, bool keep_alive, uint64_t duration_ns, uint32_t tag = 0);
    void answer_error(int status, std::string_view message);
    void take_turn();
    // connection_io.cpp
    void set_wait(Wait wait);
    void flush();
    void set_reading(bool on);
    void read_now();
    void arm(Wait wait, bool restart = false);
    void start_timer(uint64_t ms);
    void shutdown_and_linger();

    bool closed() const { return state_ == State::orphaned || state_ == State::closing; }
    bool answer_pending() const { return state_ == State::answering || state_ == State::orphaned; }
    bool write_in_flight() const { return !writing_buf_.empty(); }
    std::size_t backlog() const { return out_.size() + writing_buf_.size(); }
    static void free_when_done(Connection* conn);
    // accept() and adopt(): the timer, then the socket, then the first settle.
    static Connection* open(Context& ctx, int& rc);
    int start();

    Context& ctx_;
    Connection* next_ = nullptr;  // ctx_.connections
    Connection* prev_ = nullptr;
    QueueLinks idle_links_;  // ctx_.idle, while wait_ is Wait::idle
    QueueLinks turn_links_;  // ctx_.turns, while state_ is State::queued
    uv_tcp_t tcp_;
    uv_timer_t timer_;        // the deadline of wait_, lazily (arm())
    uint64_t deadline_ = 0;   // loop time (ms) when wait_ ends; 0: none
    uint64_t armed_for_ = 0;  // loop time (ms) timer_ was last started to fire at
    uv_write_t write_req_;
    uv_shutdown_t shutdown_req_;
    Parser parser_;
    uint64_t requests_served_ = 0;
    union {
        sockaddr sa;
        sockaddr_in6 in6;  // large enough for either family
    } peer_{};

    std::string in_;                 // received, not yet parsed (pipelined requests)
    std::size_t dispatch_pos_ = 0;   // inside process(): in_ up to here is parsed
    std::size_t unsent_at_arm_ = 0;  // bytes libuv still had to write when the write timer was armed
    std::string out_;                // responses not yet handed to the socket
    std::string writing_buf_;        // the bytes of the uv_write in flight (empty: none); live until its callback
    int handles_open_ = 0;           // timer_, then tcp_, once initialised, until their close callbacks ran
    State state_ = State::opening;
    Wait wait_ = Wait::none;
    // Facts that do not follow from the state (each can hold in several states):
    bool reading_ = false;      // uv_read_start is in effect (libuv's view; set_reading keeps it)
    bool dispatching_ = false;  // inside process(): respond() must not recurse into the parser
    bool draining_ = false;     // drain() was called: the next response says close
    bool peer_eof_ = false;     // the peer sent FIN: nothing more will arrive
};

}  // namespace forkd::http
