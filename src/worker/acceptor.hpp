// worker/acceptor.hpp: the worker's accept path on one listening socket.
//
// Owns accept4() on one listening fd (polled with a uv_poll_t rather than
// uv_listen: libuv answers EMFILE by silently accepting and closing every
// pending connection, uncounted), the room of its Context (worker_connections,
// or the admin address's own room), making room by closing the longest-idle
// keep-alive connections, stopping while there is none, and refusing
// connections when the process is out of file descriptors: counted by
// reason and logged at most once a second, never silently.
// Must not serve a connection: each accepted socket goes to
// http::Connection::adopt() on its Context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "http/connection.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::worker {

// Connections refused because accept() failed, by reason, since start.
struct Refusals {
    uint64_t emfile = 0;  // the process is out of file descriptors (RLIMIT_NOFILE)
    uint64_t enfile = 0;  // the system is out of file descriptors (fs.file-max)
    uint64_t other = 0;   // ENOBUFS, ENOMEM, ...: the kernel is short of memory
    uint64_t total() const { return emfile + enfile + other; }
};

// A file descriptor held in reserve (on /dev/null): released for a moment
// when accept() fails for want of one, so that the connection can be taken
// and closed (refused: the client sees a reset at once instead of waiting in
// the queue for a worker that cannot take it). One per worker.
class ReserveFd {
public:
    ReserveFd();
    ~ReserveFd();
    ReserveFd(const ReserveFd&) = delete;
    ReserveFd& operator=(const ReserveFd&) = delete;
    // Accept one connection from `listen_fd` with the reserve released, and
    // close it. Returns 1 if one was refused, 0 if none was pending, -1 if
    // the reserve is gone (it could not be taken back).
    int refuse_one(int listen_fd);
    bool held() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

class Acceptor {
public:
    // `room`: connections the Context may hold (worker_connections).
    Acceptor(uv_loop_t* loop, int listen_fd, http::Context& ctx, std::size_t room, ReserveFd& reserve);
    Acceptor(const Acceptor&) = delete;
    Acceptor& operator=(const Acceptor&) = delete;

    int start();  // 0 or a libuv error (logged)
    // A connection of this Context closed or became idle, or a descriptor
    // was freed: take connections again if stopped for want of room (and
    // there is room now, or an idle connection to close) or of descriptors.
    void on_room();
    // Stop accepting and close this worker's copy of the listening fd (drain).
    void close();
    // Log the refusals since the last report, at most once a second.
    void report(uint64_t now_ms);

    http::Context& context() const { return ctx_; }
    const Refusals& refused() const { return refused_; }
    bool stopped() const { return stopped_; }

private:
    static void on_readable(uv_poll_t* poll, int status, int events) noexcept;
    void accept_some();
    void make_room();
    void refuse(int err);
    void stop();

    uv_poll_t poll_{};
    int listen_fd_;
    http::Context& ctx_;
    std::size_t room_;
    ReserveFd& reserve_;
    bool stopped_ = false;  // poll stopped: at room, or out of descriptors with no reserve
    bool closing_ = false;
    Refusals refused_;
    Refusals reported_;  // refused_ as of the last log line
    uint64_t reported_ms_ = 0;
    int last_error_ = 0;
};

// The connections the Contexts closed by the server's limits and the
// acceptors refused, by reason, as the scoreboard stores them.
stats::ConnectionCounts connection_counts(std::initializer_list<const http::Context*> contexts,
                                          const std::vector<std::unique_ptr<Acceptor>>& acceptors);

// What raise_nofile() found and did.
struct FdLimit {
    uint64_t soft_before = 0;
    uint64_t soft = 0;
    uint64_t hard = 0;
    bool raised = false;  // soft went up
    bool enough = true;   // soft >= wanted
};
// Raise RLIMIT_NOFILE's soft limit towards `wanted` (at most the hard
// limit), if it is lower.
FdLimit raise_nofile(uint64_t wanted);

// The descriptors a worker needs: its connections, the admin room, and a
// margin for listeners, logs, the loop and the offload pool.
uint64_t descriptors_wanted(std::size_t worker_connections, std::size_t admin_room);

// Make room for that under RLIMIT_NOFILE (raise_nofile) and say so in the
// log; if the hard limit is too low, say that too: past it connections are
// refused (and counted).
void fit_nofile(std::size_t worker_connections, std::size_t admin_room);

}  // namespace forkd::worker
