// stats/sampler.hpp: what the master writes into the scoreboard.
//
// Owns the master's side of the board: server facts (set_server), the
// once-a-second sample of every worker process (/proc: RSS, CPU) and of
// every slot (restarts, its listening socket's accept queue, request rates),
// and recording a reaped worker's exit (its counters move to its slot, so
// totals survive restarts). The master calls these from its loop; a worker
// never does. Knows nothing of the master's own tables: it is handed plain
// SlotViews.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "stats/scoreboard.hpp"

namespace forkd::stats {

// Server-wide facts for /stats. Call before forking the first workers and
// again after a reload (a new generation, perhaps a new worker count).
struct ServerInfo {
    std::string_view config_path;  // empty: built-in defaults
    uint32_t generation = 1;
    uint32_t workers_target = 0;
};
void set_server(Scoreboard& board, const ServerInfo& info);

// One slot as the master sees it, for sample_master().
struct SlotView {
    int slot = 0;
    pid_t pid = 0;       // its worker now; 0: none
    int restarts = 0;    // spawns in this slot after the first
    int listen_fd = -1;  // the slot's listening socket; -1: none (or shared)
};

// Once a second (the master's tick): sample /proc for every live entry
// (RSS, CPU time and CPU %, requests/s) and, per slot, restarts, the accept
// queue of its listening socket and its requests/s. `now_ms`: wall clock.
void sample_master(Scoreboard& board, std::span<const SlotView> slots, uint64_t now_ms);
void sample_master(Scoreboard& board, std::span<const SlotView> slots);

// On reaping the worker in `entry`: record how it ended (waitpid's status)
// in its slot, fold its counters into the slot's retired counters, and free
// the entry (state empty) for the next spawn. Call once per reaped worker,
// before the entry is reused. `now_ms`: wall clock.
void record_exit(Scoreboard& board, WorkerEntry& entry, int wait_status, uint64_t now_ms);
void record_exit(Scoreboard& board, WorkerEntry& entry, int wait_status);

// "exit code 3", "signal 9 (Killed)", "signal 11 (Segmentation fault), core dumped".
std::string describe_wait_status(int wait_status);

}  // namespace forkd::stats
