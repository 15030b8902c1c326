// worker/takeover.hpp: busy steering, the worker's side: accepting what
// waits in a busy sibling's queue.
//
// Every worker is forked holding its siblings' per-slot listening sockets
// (the master's; closing our copies resets nothing). While the scoreboard
// marks a sibling's slot busy (master/steering.cpp: its loop is blocked),
// this worker polls that slot's sockets too and accepts from them, so the
// connections queued there before the kernel was told to steer around it
// are served now instead of after the blocking work. The kernel's accept()
// hands each connection to exactly one process, whoever asks first, so
// nothing is served twice and nothing is reset. The master sends SIGURG
// when the busy set changes; the worker's tick looks too. Knows nothing of
// HTTP beyond handing each accepted fd to a new http::Connection.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <uv.h>

#include "http/connection.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::worker {

class Takeover {
public:
    struct Socket {
        std::size_t slot = 0;  // the sibling slot it belongs to
        int fd = -1;           // listening, non-blocking
    };
    // Where taken connections go: the worker's main Context, while it has
    // room (worker_connections; without room polling pauses until the next
    // refresh()) and is not draining; its on_opened counts them.
    struct Target {
        http::Context* ctx = nullptr;
        std::size_t max_connections = 0;
        const bool* draining = nullptr;
        stats::WorkerEntry* entry = nullptr;  // counts taken_over
    };

    Takeover(std::vector<Socket> sockets, stats::Scoreboard board, Target target);
    ~Takeover();
    Takeover(const Takeover&) = delete;
    Takeover& operator=(const Takeover&) = delete;

    // Initialise the poll handles (none started). Returns 0 or a libuv error, logged.
    int start();
    // Read the busy flags: poll the busy slots' sockets, stop the others.
    void refresh();
    // Stop polling until refresh() (no room, or out of descriptors).
    void pause();
    // Stop for good (drain): close the handles, then our copies of the fds.
    void close();

    bool taking_over() const;  // polling at least one sibling's socket

private:
    struct Poll {
        uv_poll_t handle{};
        Takeover* self = nullptr;
        Socket socket;
        bool started = false;
    };
    static void on_readable(uv_poll_t* handle, int status, int events) noexcept;
    void accept_from(Poll& p);

    bool room() const;

    std::vector<std::unique_ptr<Poll>> polls_;
    stats::Scoreboard board_;
    Target target_;
    bool closed_ = false;
};

}  // namespace forkd::worker
