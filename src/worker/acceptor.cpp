// worker/acceptor.cpp: the worker's accept path (see acceptor.hpp).
//
// Owns the poll handle on one listening fd, accept4(), the room check and
// evictions, refusing when out of descriptors, the once-a-second log line
// about refusals, and raising RLIMIT_NOFILE. Must not touch a connection
// once adopt() has it.
#include "worker/acceptor.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

namespace forkd::worker {
namespace {

// Connections taken per poll callback: the listener is level-triggered, so
// what is left is taken on the next loop turn, after the connections' I/O.
constexpr int accept_batch = 64;
constexpr uint64_t report_every_ms = 1000;
// Descriptors beyond the connections: listeners, logs, the loop's own
// (epoll, eventfd, signal pipe), the offload pool, the reserve.
constexpr uint64_t fd_margin = 64;

int open_reserve()
{
    return ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

}  // namespace

ReserveFd::ReserveFd() : fd_(open_reserve())
{
}

ReserveFd::~ReserveFd()
{
    if (fd_ >= 0)
        ::close(fd_);
}

int ReserveFd::refuse_one(int listen_fd)
{
    if (fd_ < 0)
        fd_ = open_reserve();  // a descriptor may have been freed meanwhile
    if (fd_ < 0)
        return -1;
    ::close(fd_);
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    const int refused = fd >= 0 ? 1 : 0;
    if (fd >= 0)
        ::close(fd);
    fd_ = open_reserve();
    return refused;
}

Acceptor::Acceptor(uv_loop_t* loop, int listen_fd, http::Context& ctx, std::size_t room, ReserveFd& reserve)
    : listen_fd_(listen_fd), ctx_(ctx), room_(room), reserve_(reserve)
{
    poll_.loop = loop;  // uv_poll_init_socket sets it again; start() needs it first
}

int Acceptor::start()
{
    int rc = uv_poll_init_socket(poll_.loop, &poll_, listen_fd_);
    if (rc != 0) {
        spdlog::critical("uv_poll_init_socket(fd {}): {}", listen_fd_, uv_err_name(rc));
        return rc;
    }
    poll_.data = this;
    rc = uv_poll_start(&poll_, UV_READABLE, &Acceptor::on_readable);
    if (rc != 0)
        spdlog::critical("uv_poll_start(fd {}): {}", listen_fd_, uv_err_name(rc));
    return rc;
}

void Acceptor::on_readable(uv_poll_t* poll, int status, int) noexcept
{
    auto* self = static_cast<Acceptor*>(poll->data);
    if (status < 0) {
        spdlog::warn("poll on listening fd {}: {}", self->listen_fd_, uv_err_name(status));
        return;
    }
    self->accept_some();
}

void Acceptor::accept_some()
{
    for (int i = 0; i < accept_batch && !stopped_; ++i) {
        if (ctx_.open >= room_) {
            // Make room only for a client that waits: the poll said one does
            // when it called us; after an accept, the next poll will say.
            if (i == 0)
                make_room();
            return;
        }
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            http::Connection::adopt(fd, ctx_);
            continue;
        }
        switch (errno) {
        case EAGAIN:
#if EWOULDBLOCK != EAGAIN
        case EWOULDBLOCK:
#endif
            return;
        case EINTR:
        case ECONNABORTED:
        case EPROTO: continue;  // that connection is gone already; the next may be fine
        default: refuse(errno); break;
        }
    }
}

// At the room: close the longest-idle keep-alive connections (a share of
// them, as nginx does with its reusable connections) and stop accepting
// until they are freed; with none idle, stop until any connection closes.
void Acceptor::make_room()
{
    const std::size_t idle = ctx_.idle.size();
    http::evict_idle(ctx_, std::clamp<std::size_t>(idle / 8, 1, 32));
    stop();
}

// accept() failed for want of a descriptor or of kernel memory: take the
// connection and close it at once (a clear refusal for the client; left in
// the queue it would wait for a worker that cannot take it, and the
// level-triggered poll would spin).
void Acceptor::refuse(int err)
{
    last_error_ = err;
    const int refused = reserve_.refuse_one(listen_fd_);
    if (refused < 0) {
        // No reserve to refuse with: leave the connections queued and wait
        // until a connection closes (on_room) or the next tick.
        spdlog::error("accept on fd {}: {}; no descriptor to refuse with, not accepting until one is free", listen_fd_,
                      std::strerror(err));
        stop();
        return;
    }
    if (refused == 0)
        return;
    if (err == EMFILE) {
        ++refused_.emfile;
    } else if (err == ENFILE) {
        ++refused_.enfile;
    } else {
        ++refused_.other;
    }
    report(uv_now(poll_.loop));
}

void Acceptor::report(uint64_t now_ms)
{
    if (refused_.total() == reported_.total() || (reported_ms_ != 0 && now_ms - reported_ms_ < report_every_ms))
        return;
    const uint64_t emfile = refused_.emfile - reported_.emfile;
    const uint64_t enfile = refused_.enfile - reported_.enfile;
    const uint64_t other = refused_.other - reported_.other;
    const uint64_t since_ms = reported_ms_ == 0 ? 0 : now_ms - reported_ms_;
    spdlog::error("refused {} connections on fd {}{}: {} out of file descriptors (EMFILE: RLIMIT_NOFILE reached, {} "
                  "open here), {} system out of file descriptors (ENFILE), {} other ({}); serving the {} open",
                  emfile + enfile + other, listen_fd_,
                  since_ms == 0 ? std::string() : " in the last " + std::to_string(since_ms) + " ms", emfile, ctx_.open,
                  enfile, other, last_error_ != 0 ? std::strerror(last_error_) : "none", ctx_.open);
    reported_ = refused_;
    reported_ms_ = now_ms;
}

void Acceptor::stop()
{
    if (stopped_ || closing_)
        return;
    stopped_ = true;
    ctx_.full = ctx_.open >= room_;
    uv_poll_stop(&poll_);  // cannot fail on an initialised handle
}

void Acceptor::on_room()
{
    if (!stopped_ || closing_ || (ctx_.open >= room_ && ctx_.idle.empty()))
        return;
    stopped_ = false;
    ctx_.full = false;
    int rc = uv_poll_start(&poll_, UV_READABLE, &Acceptor::on_readable);
    if (rc != 0) {
        spdlog::error("uv_poll_start(fd {}): {}; not accepting", listen_fd_, uv_err_name(rc));
        stopped_ = true;
    }
}

void Acceptor::close()
{
    if (closing_)
        return;
    closing_ = true;
    // The fd is closed once libuv has dropped it from its poll set.
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) noexcept {
        auto* self = static_cast<Acceptor*>(h->data);
        ::close(self->listen_fd_);
    });
}

stats::ConnectionCounts connection_counts(std::initializer_list<const http::Context*> contexts,
                                          const std::vector<std::unique_ptr<Acceptor>>& acceptors)
{
    stats::ConnectionCounts counts;
    for (const http::Context* ctx : contexts) {
        counts.closed[stats::closed_keepalive] += ctx->closed.keepalive;
        counts.closed[stats::closed_header_timeout] += ctx->closed.header_timeout;
        counts.closed[stats::closed_send_timeout] += ctx->closed.send_timeout;
        counts.closed[stats::closed_evicted] += ctx->closed.evicted;
    }
    for (const auto& a : acceptors) {
        counts.refused[stats::refused_emfile] += a->refused().emfile;
        counts.refused[stats::refused_enfile] += a->refused().enfile;
        counts.refused[stats::refused_other] += a->refused().other;
    }
    return counts;
}

FdLimit raise_nofile(uint64_t wanted)
{
    FdLimit limit;
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return limit;
    limit.soft_before = limit.soft = rl.rlim_cur;
    limit.hard = rl.rlim_max;
    if (rl.rlim_cur < wanted) {
        rlimit raised = rl;
        raised.rlim_cur = std::min<rlim_t>(wanted, rl.rlim_max);
        if (raised.rlim_cur > rl.rlim_cur && setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            limit.soft = raised.rlim_cur;
            limit.raised = true;
        }
    }
    limit.enough = limit.soft >= wanted;
    return limit;
}

uint64_t descriptors_wanted(std::size_t worker_connections, std::size_t admin_room)
{
    return uint64_t(worker_connections) + admin_room + fd_margin;
}

void fit_nofile(std::size_t worker_connections, std::size_t admin_room)
{
    const uint64_t wanted = descriptors_wanted(worker_connections, admin_room);
    const FdLimit limit = raise_nofile(wanted);
    if (limit.raised)
        spdlog::info("raised RLIMIT_NOFILE from {} to {} for worker_connections = {}", limit.soft_before, limit.soft,
                     worker_connections);
    if (!limit.enough)
        spdlog::warn("RLIMIT_NOFILE is {} (hard limit {}), below the {} descriptors worker_connections = {} needs: "
                     "connections past it are refused (raise LimitNOFILE= or ulimit -n)",
                     limit.soft, limit.hard, wanted, worker_connections);
}

}  // namespace forkd::worker
