// master/slots.hpp: the master's tables, as plain data.
//
// A Slot is a place for one worker: its listening sockets and its restart
// history. Worker i always restarts in slot i. A Proc is one live worker
// process; a slot has at most one active Proc, and during a reload or a
// recycle also a successor (spawned, not yet ready), plus any number of
// retiring ones (draining after SIGTERM). The policy lives in master/*.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace forkd::master {

struct Slot {
    int index = 0;
    int restarts = 0;             // spawns after a worker of this slot died
    int rapid_failures = 0;       // consecutive exits before ready or soon after
    uint64_t respawn_at_ms = 0;   // backoff: not before this loop time
    std::string last_exit;        // how the last worker here ended, unexpectedly
    uint64_t last_exit_wall_ms = 0;
    const char* recycle = nullptr; // why the active worker is to be replaced (max_requests...)
    uint64_t steered_at_ms = 0;   // a slot past the target: when connections stopped coming
};

enum class Role { active, successor, retiring };
const char* to_string(Role);

struct Proc {
    pid_t pid = 0;
    int slot = 0;
    int generation = 0;
    std::size_t entry = 0;        // scoreboard entry
    Role role = Role::active;
    bool ready = false;           // it said it is serving
    uint64_t spawned_ms = 0;      // master loop time
    uint64_t kill_at_ms = 0;      // retiring or aborted: SIGKILL when this passes (0: never)
    bool watchdog_fired = false;
};

// Backoff after `rapid_failures` consecutive early exits: 0 for the first
// restart, then 100 ms doubling up to 5 s.
uint64_t backoff_ms(int rapid_failures);

// How many consecutive early exits make a crash loop (the master gives up).
constexpr int crash_loop_limit = 6;

// A worker that exits sooner than this after its spawn counts as an early exit.
constexpr uint64_t early_exit_ms = 5000;

}  // namespace forkd::master
