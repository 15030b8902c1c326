// worker/worker.hpp: one worker process, from just after fork to its exit code.
//
// Owns one libuv loop: adopting the slot's listening sockets, accepting
// (with worker_connections as backpressure), the Date/heartbeat timer, the
// worker's signals, draining and the shutdown order. Runs only in the child;
// knows nothing about the master's tables.
#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "config/settings.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::worker {

// Exit codes are a contract with the master: a worker that fails before it is
// ready says so, and the master backs off instead of restarting it in a loop.
enum ExitCode : int {
    exit_ok = 0,
    exit_boot_failed = 3,  // failed before it was ready: the master backs off
};

struct Spec {
    int slot = 0;
    int generation = 1;
    std::vector<int> listen_fds;  // already bound and listening (the master's)
    std::vector<int> admin_fds;   // stats.bind, shared by every worker (may be empty)
    // Busy steering: the other slots' per-slot sockets, as {slot, fd}, polled
    // only while the scoreboard marks their slot busy (takeover.hpp).
    std::vector<std::pair<std::size_t, int>> sibling_fds;
    const config::Settings* settings = nullptr;
    stats::WorkerEntry* scoreboard = nullptr;
    pid_t master_pid = 0;
};

// The tick's period for a heartbeat `timeout` (seconds). The tick is also
// the heartbeat the master's watchdog reads: a quarter of the timeout, within
// 10 ms .. 1 s, so that a healthy loop never looks blocked.
inline uint64_t tick_ms(double timeout_s)
{
    return std::clamp<uint64_t>(uint64_t(timeout_s * 1000 / 4), 10, 1000);
}

// After how many requests a worker asks to be recycled: max_requests plus
// a jitter in [0, jitter] drawn from `seed`, so that workers never all go at
// once; 0 (never) when max_requests is 0.
inline uint64_t recycle_after(int max_requests, int jitter, unsigned seed)
{
    if (max_requests <= 0)
        return 0;
    std::minstd_rand random(seed);
    const auto spread = uint64_t(jitter > 0 ? jitter : 0);
    return uint64_t(max_requests) + (spread ? random() % (spread + 1) : 0);
}

// Serve until told to stop; returns the process exit code. Call in the child
// right after fork, with signal dispositions reset and the mask cleared.
int run(const Spec& spec);

}  // namespace forkd::worker
