// worker/takeover.cpp: poll and accept from busy siblings' sockets (takeover.hpp).
//
// One uv_poll_t per sibling socket, started only while its slot is busy.
// The poll is level-triggered: while connections wait, it fires every loop
// turn, and each turn accepts a bounded batch so that this worker's own
// connections keep their share of the loop.
#include "worker/takeover.hpp"

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

namespace forkd::worker {
namespace {

// Connections accepted from one sibling socket per loop turn.
constexpr int accept_batch = 16;

}  // namespace

Takeover::Takeover(std::vector<Socket> sockets, stats::Scoreboard board, Target target)
    : board_(std::move(board)), target_(target)
{
    for (const Socket& s : sockets) {
        auto p = std::make_unique<Poll>();
        p->self = this;
        p->socket = s;
        polls_.push_back(std::move(p));
    }
}

Takeover::~Takeover() = default;

int Takeover::start()
{
    for (auto& p : polls_) {
        const int rc = uv_poll_init(target_.ctx->loop, &p->handle, p->socket.fd);
        if (rc != 0) {
            spdlog::critical("uv_poll_init(slot {} fd {}): {}", p->socket.slot, p->socket.fd, uv_err_name(rc));
            return rc;
        }
        p->handle.data = p.get();
    }
    return 0;
}

void Takeover::refresh()
{
    if (closed_)
        return;
    const bool room = this->room();
    for (auto& p : polls_) {
        const std::size_t slot = p->socket.slot;
        const bool busy = slot < board_.slots() && board_.slot(slot).busy.load(std::memory_order_relaxed) != 0;
        if (busy && room && !p->started) {
            const int rc = uv_poll_start(&p->handle, UV_READABLE, &Takeover::on_readable);
            if (rc != 0) {
                spdlog::warn("uv_poll_start(slot {} fd {}): {}", slot, p->socket.fd, uv_err_name(rc));
                continue;
            }
            p->started = true;
            spdlog::debug("taking over new connections queued on busy worker {}", slot);
        } else if ((!busy || !room) && p->started) {
            uv_poll_stop(&p->handle);
            p->started = false;
        }
    }
}

void Takeover::pause()
{
    for (auto& p : polls_) {
        if (p->started)
            uv_poll_stop(&p->handle);
        p->started = false;
    }
}

void Takeover::close()
{
    if (closed_)
        return;
    closed_ = true;
    pause();
    // The fds are the master's sockets: our copies close once the handles
    // are gone (libuv must not see an fd reused under a live poll handle).
    for (auto& p : polls_) {
        uv_close(reinterpret_cast<uv_handle_t*>(&p->handle), [](uv_handle_t* h) noexcept {
            auto* poll = static_cast<Poll*>(h->data);
            ::close(poll->socket.fd);
            poll->socket.fd = -1;
        });
    }
}

bool Takeover::room() const
{
    return !*target_.draining && target_.ctx->open < target_.max_connections;
}

bool Takeover::taking_over() const
{
    for (const auto& p : polls_) {
        if (p->started)
            return true;
    }
    return false;
}

void Takeover::on_readable(uv_poll_t* handle, int status, int) noexcept
{
    auto* p = static_cast<Poll*>(handle->data);
    if (status < 0) {
        spdlog::warn("poll of busy worker {}'s socket: {}", p->socket.slot, uv_err_name(status));
        return;
    }
    p->self->accept_from(*p);
}

void Takeover::accept_from(Poll& p)
{
    for (int i = 0; i < accept_batch && p.started; ++i) {
        if (!room()) {
            pause();
            return;
        }
        const int fd = accept4(p.socket.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;  // a sibling (or the busy worker, back) was first
            if (errno == ECONNABORTED || errno == EINTR)
                continue;
            // Out of descriptors or memory: stop until the next refresh
            // (the tick), rather than spin on a socket that stays readable.
            spdlog::warn("accept from busy worker {}'s socket: {}; pausing the takeover", p.socket.slot,
                         std::strerror(errno));
            pause();
            return;
        }
        if (http::Connection::adopt(fd, *target_.ctx) == 0)
            stats::bump(target_.entry->taken_over);
    }
}

}  // namespace forkd::worker
