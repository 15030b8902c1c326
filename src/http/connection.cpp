// http/connection.cpp: a connection's birth and death, and the list of them
// (see connection.hpp).
//
// Owns accept() (the handles, the peer address read once, the first settle),
// the object's place in its Context's list, and freeing the object once libuv
// and the handler are both done with it.
// Must not feed the parser or decide anything about requests: that is
// connection_state.cpp; the libuv callbacks are in connection_io.cpp.
#include "http/connection.hpp"

#include <cstring>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "http/connection_detail.hpp"

namespace forkd::http {

using detail::log_uv;

Connection::Connection(Context& ctx) : ctx_(ctx), parser_(ctx.limits)
{
    ctx_.connections.link(this);
    ++ctx_.open;
}

Connection::~Connection()
{
    ctx_.connections.unlink(this);
    --ctx_.open;
}

template <class Take> int Connection::open(Context& ctx, Take take)
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
    c->handles_open_ = 2;
    rc = take(c->tcp_);
    if (rc != 0) {
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
    c->state_ = State::reading;
    c->settle();  // start reading, arm the first-request timer
    return c->closed() ? UV_EIO : 0;
}

int Connection::accept(uv_stream_t* server, Context& ctx)
{
    return open(ctx, [server](uv_tcp_t& tcp) {
        const int rc = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp));
        if (rc == UV_EAGAIN)
            spdlog::debug("http: uv_accept: {}", uv_err_name(rc));
        else if (rc != 0)
            spdlog::warn("http: uv_accept: {}", uv_err_name(rc));
        return rc;
    });
}

int Connection::adopt(int fd, Context& ctx)
{
    bool taken = false;
    const int rc = open(ctx, [fd, &taken](uv_tcp_t& tcp) {
        const int err = uv_tcp_open(&tcp, fd);
        taken = err == 0;
        if (err != 0)
            spdlog::warn("http: uv_tcp_open: {}", uv_err_name(err));
        return err;
    });
    if (!taken)
        ::close(fd);  // the handles never owned it
    return rc;
}

bool Connection::idle() const
{
    return !answer_pending() && parser_.phase() == Parser::Phase::idle && in_.empty();
}

bool Connection::peer(struct sockaddr_storage& out) const
{
    if (peer_.sa.sa_family == AF_UNSPEC)
        return false;
    out = {};
    std::memcpy(&out, &peer_, sizeof peer_);
    return true;
}

// Called from each close callback and from respond() once orphaned: the last
// of them frees. An orphaned connection still owes its handler an answer.
void Connection::free_when_done(Connection* c)
{
    if (c->handles_open_ > 0 || c->state_ != State::closing)
        return;
    Context& ctx = c->ctx_;
    delete c;
    if (ctx.on_closed != nullptr)
        ctx.on_closed(ctx);
}

}  // namespace forkd::http
