// http/connection.cpp: the I/O around one connection's parser (see connection.hpp).
//
// Owns the socket and the timer of one connection: reading into a buffer
// shared by the loop, feeding the parser, handing complete requests to the
// Handler one at a time, writing responses (uv_try_write first, uv_write for
// the rest), back-pressure, timeouts, shutdown and lingering close, and
// freeing the object once libuv and the handler are both done with it.
// Must not know routes or the worker: it only uses its Context.
//
// Re-entrancy: a handler may call respond() inside on_request. process() is
// the only place that feeds the parser; respond() called while process() runs
// only queues the response, and process() goes on with the next pipelined
// request. llhttp is never re-entered.
#include "http/connection.hpp"

#include <cstring>

#include <spdlog/spdlog.h>

namespace forkd::http {

namespace {

constexpr std::size_t read_buffer_size = 64 * 1024;
// Unparsed bytes kept while an answer is pending: past this, reading stops, so
// that a pipelining client cannot grow our memory.
constexpr std::size_t max_buffered_in = 64 * 1024;
// Response bytes waiting for a slow reader: past this, no further request is
// handled until the socket has taken some.
constexpr std::size_t max_backlog_out = 256 * 1024;
// A burst may grow a buffer; give the memory back once it is empty.
constexpr std::size_t keep_capacity = 16 * 1024;
// How long to read and discard after our shutdown before closing anyway.
constexpr uint64_t linger_ms = 2000;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

bool peer_gone(int rc)
{
    return rc == UV_EPIPE || rc == UV_ECONNRESET || rc == UV_ENOTCONN || rc == UV_ETIMEDOUT || rc == UV_ECONNABORTED ||
           rc == UV_ECANCELED;
}

// The peer going away is ordinary; anything else is worth a warning.
void log_uv(const char* what, int rc)
{
    if (peer_gone(rc)) {
        spdlog::debug("http: {}: {}", what, uv_err_name(rc));
    } else {
        spdlog::warn("http: {}: {}", what, uv_err_name(rc));
    }
}

void release_if_large(std::string& buffer)
{
    if (buffer.empty() && buffer.capacity() > keep_capacity)
        buffer.shrink_to_fit();
}

}  // namespace

// The libuv trampolines. libuv is C: nothing may throw through it.
struct ConnectionCallbacks {
    static Connection& of(void* data) { return *static_cast<Connection*>(data); }

    static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) noexcept
    {
        // One buffer for the whole loop: libuv calls on_read right after
        // on_alloc, and on_read copies what it keeps.
        thread_local char buffer[read_buffer_size];
        *buf = uv_buf_init(buffer, sizeof buffer);
    }

    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept
    {
        Connection& c = of(stream->data);
        if (nread == 0)
            return;  // EAGAIN
        if (nread < 0) {
            int rc = static_cast<int>(nread);
            if (rc != UV_EOF) {
                log_uv("read", rc);
                c.close();
                return;
            }
            c.peer_eof_ = true;
            c.set_reading(false);
            if (c.shutting_down_) {
                c.close();  // the peer closed after our last response: done lingering
            } else {
                c.settle();
            }
            return;
        }
        c.ctx_.bytes_in += static_cast<uint64_t>(nread);
        if (c.close_after_write_ || c.shutting_down_ || c.closing_)
            return;  // read and discard
        c.in_.append(buf->base, static_cast<std::size_t>(nread));
        if (c.wait_ == Connection::Wait::body)
            c.arm(Connection::Wait::body, true);  // progress
        if (c.answer_pending_ || c.blocked_) {
            c.settle();
        } else {
            c.process();
        }
    }

    static void on_write(uv_write_t* req, int status) noexcept
    {
        Connection& c = of(req->handle->data);
        c.writing_ = false;
        c.writing_buf_.clear();
        release_if_large(c.writing_buf_);
        if (status < 0) {
            log_uv("write", status);
            c.close();  // nothing if already closing
            return;
        }
        if (c.closing_)
            return;
        if (c.wait_ == Connection::Wait::write)
            c.arm(Connection::Wait::none);  // progress
        if (c.blocked_ && !c.answer_pending_) {
            c.process();
        } else {
            c.flush();
            c.settle();
        }
    }

    static void on_shutdown(uv_shutdown_t* req, int status) noexcept
    {
        Connection& c = of(req->handle->data);
        if (status < 0 && !c.closing_) {
            log_uv("shutdown", status);
            c.close();
        }
    }

    static void on_timer(uv_timer_t* timer) noexcept
    {
        Connection& c = of(timer->data);
        Connection::Wait wait = c.wait_;
        c.wait_ = Connection::Wait::none;
        if (wait == Connection::Wait::head || wait == Connection::Wait::body) {
            c.answer_error(408, wait == Connection::Wait::head ? "timed out reading the request head"
                                                               : "timed out reading the request body");
            c.flush();
            c.settle();
            return;
        }
        // No request begun (idle, first), a peer that does not read, or the end of lingering.
        c.close();
    }

    static void on_close(uv_handle_t* handle) noexcept
    {
        Connection* c = static_cast<Connection*>(handle->data);
        --c->handles_open_;
        Connection::free_when_done(c);
    }
};

Connection::Connection(Context& ctx) : ctx_(ctx), parser_(ctx.limits)
{
    next = ctx_.first;
    if (next != nullptr)
        next->prev = this;
    ctx_.first = this;
    ++ctx_.open;
}

Connection::~Connection()
{
    if (prev != nullptr) {
        prev->next = next;
    } else if (ctx_.first == this) {
        ctx_.first = next;
    }
    if (next != nullptr)
        next->prev = prev;
    --ctx_.open;
}

int Connection::accept(uv_stream_t* server, Context& ctx)
{
    auto* c = new Connection(ctx);
    int rc = uv_timer_init(ctx.loop, &c->timer_);
    if (rc != 0) {
        spdlog::warn("http: uv_timer_init: {}", uv_err_name(rc));
        delete c;
        return rc;
    }
    c->timer_.data = c;
    c->handles_open_ = 1;
    rc = uv_tcp_init(ctx.loop, &c->tcp_);
    if (rc != 0) {
        spdlog::warn("http: uv_tcp_init: {}", uv_err_name(rc));
        c->close();
        return rc;
    }
    c->tcp_.data = c;
    c->tcp_open_ = true;
    c->handles_open_ = 2;
    rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp_));
    if (rc != 0) {
        if (rc == UV_EAGAIN) {
            spdlog::debug("http: uv_accept: {}", uv_err_name(rc));
        } else {
            spdlog::warn("http: uv_accept: {}", uv_err_name(rc));
        }
        c->close();
        return rc;
    }
    // The peer's address is read once, now: once the peer has reset the
    // connection getpeername() fails, and a request still pipelined behind
    // the reset must not turn into a 403 for stats.allow. A connection reset
    // before it was accepted is closed at once: no answer can reach anyone.
    int len = static_cast<int>(sizeof c->peer_);
    rc = uv_tcp_getpeername(&c->tcp_, &c->peer_.sa, &len);
    if (rc != 0) {
        log_uv("getpeername", rc);
        c->close();
        return rc;
    }
    rc = uv_tcp_nodelay(&c->tcp_, 1);
    if (rc != 0)
        spdlog::warn("http: uv_tcp_nodelay: {}", uv_err_name(rc));  // slower, still correct
    c->settle();                                                    // start reading, arm the first-request timer
    return c->closing_ ? UV_EIO : 0;
}

void Connection::respond(Response&& response, uint32_t tag)
{
    if (!answer_pending_) {
        spdlog::error("http: respond() without a pending request (answered twice?)");
        return;
    }
    answer_pending_ = false;
    if (closing_) {  // the peer went away meanwhile: drop the answer
        free_when_done(this);
        return;
    }
    const Request& request = parser_.request();
    uint64_t duration_ns = uv_hrtime() - request.start_ns;
    // While draining, a response says "Connection: close", unless more
    // requests the client pipelined are already here: those are answered
    // too (the last one closes), so a drain never leaves requests unanswered
    // that the client had already sent.
    const bool more_buffered = in_.size() > dispatch_pos_;
    bool keep_alive =
        request.keep_alive && ctx_.limits.keepalive_ms > 0 && (!(draining_ || ctx_.draining) || more_buffered);
    ++requests_served_;
    queue(response, keep_alive, duration_ns, tag);
    if (keep_alive) {
        parser_.next();
    } else {
        close_after_write_ = true;
    }
    if (!dispatching_)
        process();
}

void Connection::close()
{
    if (closing_)
        return;
    closing_ = true;
    reading_ = false;
    wait_ = Wait::none;
    if (tcp_open_)
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), ConnectionCallbacks::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), ConnectionCallbacks::on_close);
}

void Connection::drain()
{
    draining_ = true;
    if (closing_ || !idle())
        return;  // the current response will say close
    if (!writing_ && out_.empty()) {
        close();
    } else {
        close_after_write_ = true;
        settle();
    }
}

bool Connection::idle() const
{
    return !answer_pending_ && parser_.phase() == Parser::Phase::idle && in_.empty();
}

bool Connection::peer(struct sockaddr_storage& out) const
{
    if (peer_.sa.sa_family == AF_UNSPEC)
        return false;
    out = {};
    std::memcpy(&out, &peer_, sizeof peer_);
    return true;
}

void Connection::free_when_done(Connection* c)
{
    if (c->handles_open_ > 0 || c->answer_pending_)
        return;
    Context& ctx = c->ctx_;
    delete c;
    if (ctx.on_closed != nullptr)
        ctx.on_closed(ctx);
}

// Feed buffered bytes to the parser and hand out complete requests, one at a
// time, until one is pending, more bytes are needed, or the connection ends.
void Connection::process()
{
    dispatching_ = true;
    blocked_ = false;
    std::size_t pos = 0;
    while (!closing_ && !answer_pending_ && !close_after_write_) {
        if (backlog() >= max_backlog_out) {
            flush();
            if (closing_)
                break;
            if (backlog() >= max_backlog_out) {
                blocked_ = true;  // on_write resumes
                break;
            }
        }
        std::size_t used = 0;
        Parser::Event event = parser_.feed(in_.data() + pos, in_.size() - pos, used);
        pos += used;
        if (parser_.take_continue())
            out_ += continue_100;
        if (event == Parser::Event::request) {
            Request& request = parser_.request();
            request.start_ns = uv_hrtime();
            answer_pending_ = true;
            dispatch_pos_ = pos;                       // in_ beyond this is not parsed yet (respond() looks)
            ctx_.handler->on_request(*this, request);  // may call respond() right here
            continue;
        }
        if (event == Parser::Event::error)
            answer_error(parser_.error_status(), parser_.error_message());
        break;  // need_more, error or done
    }
    dispatching_ = false;
    if (pos >= in_.size()) {
        in_.clear();
        release_if_large(in_);
    } else if (pos > 0) {
        in_.erase(0, pos);
    }
    dispatch_pos_ = 0;
    flush();
    settle();
}

// Serialise one response into out_ and report it to the handler.
void Connection::queue(const Response& response, bool keep_alive, uint64_t duration_ns, uint32_t tag)
{
    const Request& request = parser_.request();
    HeadOptions options;
    options.keep_alive = keep_alive;
    options.head_only = request.is_head();
    options.http10 = request.version_minor == 0;
    options.process_time_s = static_cast<double>(duration_ns) / 1e9;
    std::size_t before = out_.size();
    serialize(response, options, out_);
    std::size_t bytes = out_.size() - before;
    ctx_.bytes_out += bytes;
    ctx_.handler->on_response(*this, request, Sent{response.status, bytes, duration_ns, tag});
}

// The connection answers a bad or late request itself, then closes.
void Connection::answer_error(int status, std::string_view message)
{
    close_after_write_ = true;
    uint64_t start_ns = parser_.request().start_ns;
    queue(error_response(status, message), false, start_ns != 0 ? uv_hrtime() - start_ns : 0);
}

// Hand out_ to the socket: directly when the kernel takes it all (the common
// case, no request object), else with one uv_write whose buffer stays alive
// in writing_buf_ until on_write.
void Connection::flush()
{
    if (writing_ || out_.empty() || closing_)
        return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    uv_buf_t buf = uv_buf_init(out_.data(), static_cast<unsigned int>(out_.size()));
    int n = uv_try_write(stream, &buf, 1);
    if (n >= 0 && static_cast<std::size_t>(n) == out_.size()) {
        out_.clear();
        release_if_large(out_);
        return;
    }
    if (n < 0 && n != UV_EAGAIN) {
        log_uv("uv_try_write", n);
        close();
        return;
    }
    std::size_t written = n > 0 ? static_cast<std::size_t>(n) : 0;
    writing_buf_.swap(out_);
    out_.clear();
    buf = uv_buf_init(writing_buf_.data() + written, static_cast<unsigned int>(writing_buf_.size() - written));
    int rc = uv_write(&write_req_, stream, &buf, 1, ConnectionCallbacks::on_write);
    if (rc != 0) {
        log_uv("uv_write", rc);
        writing_buf_.clear();
        close();
        return;
    }
    writing_ = true;
}

// Make reading, the timer and closing match the state; called after every event.
void Connection::settle()
{
    if (closing_)
        return;
    if (!close_after_write_ && peer_eof_ && !answer_pending_ && !blocked_) {
        // Every complete request was answered and nothing more will arrive.
        close_after_write_ = true;
    }
    if (close_after_write_) {
        if (answer_pending_)
            return;  // respond() comes back here
        if (!writing_ && out_.empty()) {
            shutdown_and_linger();
        } else {
            arm(Wait::write);
        }
        return;
    }
    set_reading(!peer_eof_ && !blocked_ && !(answer_pending_ && in_.size() >= max_buffered_in));
    if (answer_pending_) {
        arm(Wait::none);
    } else if (blocked_) {
        arm(Wait::write);
    } else {
        switch (parser_.phase()) {
        case Parser::Phase::idle: arm(requests_served_ == 0 ? Wait::first : Wait::idle); break;
        case Parser::Phase::head: arm(Wait::head); break;
        case Parser::Phase::body: arm(Wait::body); break;
        default: arm(Wait::none); break;
        }
    }
}

void Connection::set_reading(bool on)
{
    if (on == reading_ || closing_)
        return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    int rc =
        on ? uv_read_start(stream, ConnectionCallbacks::on_alloc, ConnectionCallbacks::on_read) : uv_read_stop(stream);
    if (rc != 0) {
        log_uv(on ? "uv_read_start" : "uv_read_stop", rc);
        if (on) {
            close();
            return;
        }
    }
    reading_ = on;
}

// Start (or stop) the one timer for what the connection now waits for. The
// head timer is not restarted while the head is still arriving: it is absolute.
void Connection::arm(Wait wait, bool restart)
{
    if (closing_ || (wait == wait_ && !restart))
        return;
    wait_ = wait;
    const Limits& limits = ctx_.limits;
    uint64_t ms = 0;
    switch (wait) {
    case Wait::none: break;
    case Wait::first: ms = limits.header_timeout_ms != 0 ? limits.header_timeout_ms : limits.keepalive_ms; break;
    case Wait::idle: ms = limits.keepalive_ms; break;
    case Wait::head:
    case Wait::body:
    case Wait::write: ms = limits.header_timeout_ms; break;
    case Wait::linger: ms = linger_ms; break;
    }
    if (ms == 0) {
        uv_timer_stop(&timer_);  // cannot fail on an initialised timer
        return;
    }
    int rc = uv_timer_start(&timer_, ConnectionCallbacks::on_timer, ms, 0);
    if (rc != 0)
        spdlog::warn("http: uv_timer_start: {}", uv_err_name(rc));
}

// Everything is written: send FIN, then read and discard until the peer
// closes (or linger_ms passes). Closing with unread bytes in the socket would
// make the kernel send RST, which can destroy our last response before the
// peer has read it (a 413 while the client still sends its body, say).
void Connection::shutdown_and_linger()
{
    if (shutting_down_ || closing_)
        return;
    if (peer_eof_) {  // the peer sent everything it will send: close keeps our data
        close();
        return;
    }
    shutting_down_ = true;
    int rc = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&tcp_), ConnectionCallbacks::on_shutdown);
    if (rc != 0) {
        log_uv("uv_shutdown", rc);
        close();
        return;
    }
    in_.clear();
    release_if_large(in_);
    set_reading(true);
    arm(Wait::linger);
}

}  // namespace forkd::http
