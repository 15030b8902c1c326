// master/slots.hpp: the master's tables, as plain data.
//
// A Slot is a place for one worker: its listening sockets and its restart
// history. Worker i always restarts in slot i. A Proc is one live worker
// process; a slot has at most one active Proc, and during a reload or a
// recycle also a successor (spawned, not yet ready), plus any number of
// retiring ones (draining after SIGTERM). The Supervisor (supervisor.hpp)
// owns the tables and decides; this file holds only the data and the one
// rule of a single slot, the restart policy, with no clock or process in
// it (the time comes in with the Death).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <sys/types.h>

namespace forkd::master {

// How a worker ended, as far as restarting its slot is concerned.
struct Death {
    bool ready = false;          // it had said it serves
    bool boot_failed = false;    // it exited with worker::exit_boot_failed
    bool took_requests = false;  // it answered or was working on at least one request
    uint64_t lived_ms = 0;       // from spawn to exit
};

// What to do about it.
struct Restart {
    uint64_t delay_ms = 0;      // respawn no sooner than this
    bool boot_failure = false;  // it never served: counts towards crash_loop_limit
    bool give_up = false;       // crash_loop_limit boot failures in a row
};

struct Slot {
    int index = 0;
    int restarts = 0;               // spawns after a worker of this slot died
    int boot_failures = 0;          // consecutive deaths before the worker was ready
    int idle_deaths = 0;            // consecutive quick deaths of ready workers that took no request
    int fork_failures = 0;          // consecutive failed fork() calls
    uint64_t respawn_at_ms = 0;     // backoff: not before this loop time
    const char* recycle = nullptr;  // why the active worker is to be replaced (max_requests...)
    uint64_t steered_at_ms = 0;     // a slot past the target: when connections stopped coming

    // The restart policy, for a worker of this slot that died unexpectedly.
    // Only workers that never became ready can stop the master: that is a
    // boot failure (bad config, a missing library: gunicorn's exit 3), and
    // restarting it will not help. A worker that served is replaced, however
    // often it dies, since what killed it may be a client's doing and the
    // slot's capacity matters more: at once if it took a request (a client
    // cannot make it spin faster than it sends requests), with backoff if it
    // keeps dying quickly by itself. Updates the counters.
    Restart after_death(const Death& death);

    // A new generation or configuration: the counts start over.
    void forget_failures() { boot_failures = idle_deaths = 0; }
};

enum class Role { active, successor, retiring };
const char* to_string(Role);

struct Proc {
    pid_t pid = 0;
    int slot = 0;
    int generation = 0;
    std::size_t entry = 0;  // scoreboard entry
    Role role = Role::active;
    bool ready = false;       // it said it is serving
    uint64_t spawned_ms = 0;  // master loop time
    uint64_t kill_at_ms = 0;  // retiring or aborted: SIGKILL when this passes (0: never)
    bool watchdog_fired = false;
};

// Backoff after `failures` consecutive quick deaths: 0 for the first
// restart, then 100 ms doubling up to 5 s.
uint64_t backoff_ms(int failures);

// How many consecutive boot failures make a crash loop (the master gives up).
constexpr int crash_loop_limit = 6;

// A ready worker that dies sooner than this after its spawn died quickly.
constexpr uint64_t early_exit_ms = 5000;

}  // namespace forkd::master
