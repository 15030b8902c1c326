// master/slots.hpp: the master's fixed table of worker slots, as plain data.
//
// Worker i always restarts in slot i: same listening sockets, same
// scoreboard index. The policy (when to spawn, how long to back off) lives
// in master.cpp; this is only the record.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace forkd::master {

struct Slot {
    int index = 0;
    pid_t pid = 0;                // 0: no worker in this slot now
    int generation = 0;
    uint64_t spawned_ms = 0;      // master loop time of the last spawn
    bool ready = false;           // the current worker said it is serving
    int restarts = 0;             // spawns after the first
    int rapid_failures = 0;       // consecutive exits before ready or soon after
    uint64_t respawn_at_ms = 0;   // backoff: not before this loop time
    std::string last_exit;        // describe_exit() of the last worker here
};

// Backoff after `rapid_failures` consecutive early exits: 0 for the first
// restart, then 100 ms doubling up to 5 s.
uint64_t backoff_ms(int rapid_failures);

// How many consecutive early exits make a crash loop (the master gives up).
constexpr int crash_loop_limit = 6;

// A worker that exits sooner than this after its spawn counts as an early exit.
constexpr uint64_t early_exit_ms = 5000;

}  // namespace forkd::master
