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

#include <cerrno>

#include <netinet/tcp.h>
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

Context::Context() : idle(&Connection::idle_links_)
{
}

// The connection object and its timer; the socket is the caller's to set up.
Connection* Connection::open(Context& ctx, int& rc)
{
    auto* c = new Connection(ctx);
    rc = uv_timer_init(ctx.loop, &c->timer_);
    if (rc != 0) {
        spdlog::warn("http: uv_timer_init: {}", uv_err_name(rc));
        delete c;
        return nullptr;
    }
    c->timer_.data = c;
    c->handles_open_ = 1;
    rc = uv_tcp_init(ctx.loop, &c->tcp_);
    if (rc != 0) {
        spdlog::warn("http: uv_tcp_init: {}", uv_err_name(rc));
        c->close();
        return nullptr;
    }
    c->tcp_.data = c;
    c->handles_open_ = 2;
    return c;
}

int Connection::accept(uv_stream_t* server, Context& ctx)
{
    int rc = 0;
    Connection* c = open(ctx, rc);
    if (c == nullptr)
        return rc;
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
    return c->start();
}

int Connection::adopt(int fd, Context& ctx)
{
    int rc = 0;
    Connection* c = open(ctx, rc);
    if (c == nullptr) {
        ::close(fd);
        return rc;
    }
    rc = uv_tcp_open(&c->tcp_, fd);
    if (rc != 0) {
        spdlog::warn("http: uv_tcp_open: {}", uv_err_name(rc));
        ::close(fd);  // not libuv's yet
        c->close();
        return rc;
    }
    return c->start();
}

// The socket is connected and ours: read the peer, start serving.
int Connection::start()
{
    // The peer's address is read once, now: once the peer has reset the
    // connection getpeername() fails, and a request still pipelined behind
    // the reset must not turn into a 403 for stats.allow. A connection reset
    // before it was accepted is closed at once: no answer can reach anyone.
    int len = static_cast<int>(sizeof peer_);
    int rc = uv_tcp_getpeername(&tcp_, &peer_.sa, &len);
    if (rc != 0) {
        log_uv("getpeername", rc);
        close();
        return rc;
    }
    rc = uv_tcp_nodelay(&tcp_, 1);
    if (rc != 0)
        spdlog::warn("http: uv_tcp_nodelay: {}", uv_err_name(rc));  // slower, still correct
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0 &&
        setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &detail::notsent_lowat, sizeof detail::notsent_lowat) != 0)
        spdlog::debug("http: TCP_NOTSENT_LOWAT: {}", std::strerror(errno));  // more kernel buffering, still correct
    state_ = State::reading;
    settle();  // start reading, arm the first-request timer
    if (closed())
        return UV_EIO;
    if (ctx_.on_opened != nullptr)
        ctx_.on_opened(ctx_);
    read_now();
    return 0;
}

void Connection::restart_clock()
{
    parser_.request().start_ns = uv_hrtime();
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
