// http/connection_io.cpp: the libuv side of one connection (see connection.hpp).
//
// Owns every libuv call on the connection's socket and timer once it is
// accepted: the trampolines (read, write, shutdown, timer, close), writing
// (uv_try_write first, uv_write for the rest), reading on and off, arming the
// one timer, shutdown with lingering, and uv_close. Each callback turns a
// libuv event into a state change and hands over to process() or settle().
// Must not decide what a request gets or when to finish: that is
// connection_state.cpp. Every libuv result is checked and logged once, here.
#include "http/connection.hpp"

#include <cerrno>

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include "http/connection_detail.hpp"

namespace forkd::http {

using detail::log_uv;
using detail::release_if_large;

// The libuv trampolines. libuv is C: nothing may throw through it.
struct ConnectionCallbacks {
    using State = Connection::State;
    using Wait = Connection::Wait;

    static Connection& of(void* data) { return *static_cast<Connection*>(data); }

    static void on_alloc(uv_handle_t*, std::size_t, uv_buf_t* buf) noexcept
    {
        // One buffer for the whole loop: libuv calls on_read right after
        // on_alloc, and on_read copies what it keeps.
        thread_local char buffer[detail::read_buffer_size];
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
            if (c.state_ == State::lingering) {
                c.close();  // the peer closed after our last response: done lingering
            } else {
                c.settle();
            }
            return;
        }
        c.ctx_.bytes_in += static_cast<uint64_t>(nread);
        if (c.state_ == State::finishing || c.state_ == State::lingering || c.closed())
            return;  // read and discard
        c.in_.append(buf->base, static_cast<std::size_t>(nread));
        if (c.wait_ == Wait::body)
            c.arm(Wait::body, true);  // progress
        if (c.state_ == State::answering || c.state_ == State::blocked || c.state_ == State::queued) {
            c.settle();  // buffered until respond(), on_write or its turn
        } else {
            c.process();
        }
    }

    static void on_write(uv_write_t* req, int status) noexcept
    {
        Connection& c = of(req->handle->data);
        c.writing_buf_.clear();
        release_if_large(c.writing_buf_);
        if (status < 0) {
            log_uv("write", status);
            c.close();  // nothing if already closing
            return;
        }
        if (c.closed())
            return;
        if (c.wait_ == Wait::write)
            c.arm(Wait::none);  // progress: settle() arms it afresh if more waits
        if (c.state_ == State::blocked) {
            c.process();
        } else {
            c.flush();
            c.settle();
        }
    }

    static void on_shutdown(uv_shutdown_t* req, int status) noexcept
    {
        Connection& c = of(req->handle->data);
        if (status < 0 && !c.closed()) {
            log_uv("shutdown", status);
            c.close();
        }
    }

    static void on_timer(uv_timer_t* timer) noexcept
    {
        Connection& c = of(timer->data);
        Wait wait = c.wait_;
        // The timer is lazy (see arm()): it may fire for a wait that has
        // ended or been pushed back since. Nothing to do, or wait the rest.
        if (wait == Wait::none || c.deadline_ == 0)
            return;
        const uint64_t now = uv_now(timer->loop);
        if (now < c.deadline_) {
            c.start_timer(c.deadline_ - now);
            return;
        }
        if (wait == Wait::write) {
            // send_timeout counts from the last progress: libuv reports a
            // uv_write only once it is complete, so a reader that takes a
            // large response slowly shows its progress here.
            const std::size_t unsent = uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&c.tcp_));
            if (unsent < c.unsent_at_arm_) {
                c.arm(Wait::write, true);
                return;
            }
        }
        c.set_wait(Wait::none);
        Closes& closed = c.ctx_.closed;
        switch (wait) {
        case Wait::head:
        case Wait::body:
            ++closed.header_timeout;
            c.answer_error(408, wait == Wait::head ? "timed out reading the request head"
                                                   : "timed out reading the request body");
            c.flush();
            c.settle();
            return;
        case Wait::first: ++closed.header_timeout; break;
        case Wait::idle: ++closed.keepalive; break;
        case Wait::write: ++closed.send_timeout; break;
        case Wait::none:
        case Wait::linger: break;
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

void Connection::close()
{
    if (closed())
        return;
    // handles_open_ is 2 once tcp_ was initialised (accept() may fail before).
    const bool tcp_initialised = handles_open_ == 2;
    if (state_ == State::queued)
        ctx_.turns.remove(this);
    state_ = answer_pending() ? State::orphaned : State::closing;
    reading_ = false;
    set_wait(Wait::none);
    if (tcp_initialised)
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), ConnectionCallbacks::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), ConnectionCallbacks::on_close);
}

// Hand out_ to the socket: directly when the kernel takes it all (the common
// case, no request object), else with one uv_write whose buffer stays alive
// in writing_buf_ until on_write.
void Connection::flush()
{
    if (write_in_flight() || out_.empty() || closed())
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
    }
}

void Connection::set_reading(bool on)
{
    if (on == reading_ || closed())
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

// A connection just accepted reads once, at once: a client sends its request
// right behind the handshake, so it is usually here already. Serving it in
// this loop turn saves one (epoll would report it only in the next) and keeps
// it from waiting behind work that holds the loop at the end of this turn
// (app/'s Place::loop_last). Nothing there yet: epoll tells, as always.
void Connection::read_now()
{
    uv_os_fd_t fd = -1;
    if (!reading_ || uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0)
        return;
    uv_buf_t buf;
    ConnectionCallbacks::on_alloc(nullptr, 0, &buf);
    ssize_t n = 0;
    do {
        n = ::recv(fd, buf.base, buf.len, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n < 0)
        n = uv_translate_sys_error(errno);
    else if (n == 0)
        n = UV_EOF;
    ConnectionCallbacks::on_read(reinterpret_cast<uv_stream_t*>(&tcp_), n, &buf);
}

// What the timer waits for; a connection waiting for its next request is in
// its Context's idle queue (evict_idle() closes the longest waiting first).
void Connection::set_wait(Wait wait)
{
    if (wait_ == Wait::idle && wait != Wait::idle)
        ctx_.idle.remove(this);
    else if (wait == Wait::idle && wait_ != Wait::idle)
        ctx_.idle.push_back(this);
    const bool became_idle = wait == Wait::idle && wait_ != Wait::idle;
    wait_ = wait;
    if (became_idle && ctx_.full && ctx_.on_idle != nullptr)
        ctx_.on_idle(ctx_);
}

// Set the one deadline for what the connection now waits for. The head
// timer is not restarted while the head is still arriving: it is absolute.
//
// The uv timer is lazy, as nginx's are: a wait that ends, or a deadline
// pushed later (the keep-alive wait after every answer), changes only
// deadline_, and the timer, when it fires, waits out the rest. Only a
// deadline earlier than the armed one restarts it. A keep-alive connection
// thus costs no timer-heap work per request, only a wake-up per keepalive.
void Connection::arm(Wait wait, bool restart)
{
    if (closed() || (wait == wait_ && !restart))
        return;
    set_wait(wait);
    const Limits& limits = ctx_.limits;
    uint64_t ms = 0;
    switch (wait) {
    case Wait::none: break;
    case Wait::first: ms = limits.header_timeout_ms != 0 ? limits.header_timeout_ms : limits.keepalive_ms; break;
    case Wait::idle: ms = limits.keepalive_ms; break;
    case Wait::head:
    case Wait::body: ms = limits.header_timeout_ms; break;
    case Wait::write:
        ms = limits.send_timeout_ms;
        unsent_at_arm_ = uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&tcp_));
        break;
    case Wait::linger: ms = detail::linger_ms; break;
    }
    if (ms == 0) {
        deadline_ = 0;  // nothing to wait for, or a limit of 0: the timer, if armed, finds no deadline
        return;
    }
    deadline_ = uv_now(timer_.loop) + ms;
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)) || deadline_ < armed_for_)
        start_timer(ms);
}

void Connection::start_timer(uint64_t ms)
{
    int rc = uv_timer_start(&timer_, ConnectionCallbacks::on_timer, ms, 0);
    if (rc != 0)
        spdlog::warn("http: uv_timer_start: {}", uv_err_name(rc));
    armed_for_ = uv_now(timer_.loop) + ms;
}

// Everything is written: send FIN, then read and discard until the peer
// closes (or linger_ms passes). Closing with unread bytes in the socket would
// make the kernel send RST, which can destroy our last response before the
// peer has read it (a 413 while the client still sends its body, say).
void Connection::shutdown_and_linger()
{
    if (state_ != State::finishing)
        return;       // lingering already, or closed
    if (peer_eof_) {  // the peer sent everything it will send: close keeps our data
        close();
        return;
    }
    state_ = State::lingering;
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
