// master/supervisor.hpp: the master's policy, as a plain object.
//
// Owns the slot and process tables, the target, the generation, the reload
// state, the recycle budget, crash-loop backoff and the shutdown deadline.
// It takes events (a worker exited, became ready; a tick; HUP, TTIN, TTOU,
// WINCH; a recycle wanted; the watchdog fired; shutdown) with the time as an
// argument, and returns the actions that follow (spawn a worker in slot S,
// signal pid P, steer or close a slot's socket, give up, a line to log).
// It must not fork, signal, touch a socket, read a clock or log: the Master
// carries the actions out, in order, with real processes and sockets. That
// is what lets tests/unit/master/test_supervisor.cpp drive it without fork.
//
// Its two rules: reap is not respawn (exited() only records why; maintain()
// makes the live workers match the target), and a worker is replaced
// successor first (the old one is signalled only once the successor serves),
// so a slot never stops accepting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "master/slots.hpp"

namespace forkd::master {

struct Action {
    enum class Kind {
        log,              // `level`, `text`
        spawn,            // fork a worker: `slot`, `role`, `generation`, scoreboard `entry`;
                          // `text` non-empty: recycling `pid` (the worker it replaces) because of it;
                          // then report spawned() or spawn_failed()
        retire,           // SIGTERM `pid` (worker `slot`, `generation`) so it drains; `text` says why
        signal,           // send `signum` to `pid`
        steer,            // route new connections to the first `count` slots only
        close_last_slot,  // close the last slot's sockets (its accept queue is empty, its workers gone)
        close_listeners,  // shutdown: close every listening socket
        target_changed,   // the target or the generation changed (the scoreboard's server facts)
        reload_complete,  // generation `generation` serves with `count` workers; `again`: reload again now
        reload_aborted,   // go back to the previous settings (`generation` is the old one again); `text`: why
        give_up,          // stop the master with `text` (a crash loop)
    };
    enum class Level { info, warn, error };

    Kind kind = Kind::log;
    Level level = Level::info;
    std::string text;
    int slot = -1;
    Role role = Role::active;
    int generation = 0;
    std::size_t entry = 0;
    pid_t pid = 0;
    int signum = 0;
    std::size_t count = 0;
    bool again = false;
};

using Actions = std::vector<Action>;

class Supervisor {
public:
    // What the policy needs of the configuration.
    struct Limits {
        int recycle_concurrency = 1;   // successors spawned for recycling at once
        uint64_t retire_grace_ms = 0;  // a retired worker is SIGKILLed after this
    };

    // `entries`: scoreboard entries (one per live process); `slots`: the
    // slots the listeners have (at least `target`).
    Supervisor(std::size_t target, std::size_t slots, std::size_t entries, Limits limits);

    // --- events ------------------------------------------------------------
    // Make the live workers match the target (start, and after reaping).
    Actions maintain(uint64_t now_ms);
    // A spawn action was carried out: the fork gave `pid`, or it failed.
    void spawned(std::size_t entry, pid_t pid);
    Actions spawn_failed(std::size_t entry, uint64_t now_ms);
    // Worker `pid` was reaped. `status` describes how it ended ("exit code 3").
    Actions exited(pid_t pid, const Death& death, std::string_view status, uint64_t now_ms);
    // Worker `pid` says it serves.
    Actions ready(pid_t pid, uint64_t now_ms);
    // The active worker of `slot` should be replaced (max_requests, RSS).
    void recycle(int slot, const char* why);
    // The watchdog found `pid` stuck (the Master logs why): SIGABRT, then SIGKILL.
    Actions watchdog_fired(pid_t pid, uint64_t now_ms);
    // Every tick. `queued[i]`: connections waiting in slot i's accept queue
    // (only read for slots past the target; missing entries count as 0).
    Actions tick(uint64_t now_ms, const std::vector<unsigned>& queued);
    // HUP with a valid configuration for `target` workers (the listeners
    // have max(target, slots().size()) slots now). Starts a new generation;
    // the next maintain() spawns its workers.
    Actions reload(std::size_t target, Limits limits, uint64_t now_ms);
    // HUP while a reload runs: reload again once it completes.
    void reload_later() { reload_again_ = true; }
    // TTIN / TTOU: one worker more / fewer. A TTIN past the slots adds a
    // slot: the Master grows the listeners first (needs_slot()).
    Actions ttin(uint64_t now_ms);
    Actions ttou(uint64_t now_ms);
    // WINCH: retire every worker, spawn none until the next reload.
    Actions pause(uint64_t now_ms);
    // TERM (graceful) or INT/QUIT. Empty if already stopping at least this fast.
    Actions shutdown(bool graceful, uint64_t grace_ms, uint64_t now_ms);

    // --- questions ---------------------------------------------------------
    const std::vector<Slot>& slots() const { return slots_; }
    const std::vector<Proc>& procs() const { return procs_; }
    const Proc* find_pid(pid_t pid) const;
    const Proc* find(int slot, Role role) const;
    std::size_t target() const { return target_; }
    int generation() const { return generation_; }
    bool reloading() const { return reloading_; }
    bool stopping() const { return stopping_; }
    // Room in the scoreboard for two generations of `target` workers, in
    // all the slots there are (a reload).
    bool room_for(std::size_t target) const;
    // Room for one worker more (TTIN), and whether it needs a new slot (and
    // the listeners one more socket).
    bool room_for_one_more() const { return 2 * (target_ + 1) + 2 <= entries_; }
    bool needs_slot() const { return target_ == slots_.size() && room_for_one_more(); }
    // Active workers that serve, and whether any is stuck (watchdog).
    std::size_t serving() const;
    bool stuck() const;

private:
    Proc* find_mut(int slot, Role role);
    Proc* find_pid_mut(pid_t pid);
    std::size_t free_entry() const;
    bool spawn(Slot& slot, Role role, uint64_t now_ms, Actions& out);
    void retire(Proc& proc, const char* why, uint64_t now_ms, Actions& out);
    void maintain(uint64_t now_ms, Actions& out);
    void kill_overdue(uint64_t now_ms, Actions& out);
    void drain_surplus_slots(uint64_t now_ms, const std::vector<unsigned>& queued, Actions& out);
    void check_reload_done(Actions& out);
    void abort_reload(const std::string& why, uint64_t now_ms, Actions& out);
    void add_slot();

    std::vector<Slot> slots_;  // slots_.size() > target_: the last ones are being drained
    std::vector<Proc> procs_;
    std::size_t target_ = 0;  // workers wanted
    std::size_t entries_ = 0;
    Limits limits_;
    Limits previous_limits_;  // to go back to if a reload fails
    int generation_ = 1;
    bool reloading_ = false;
    bool reload_again_ = false;
    bool paused_ = false;  // WINCH: no workers until HUP
    bool stopping_ = false;
    bool graceful_ = true;
    uint64_t stop_deadline_ms_ = 0;
    bool killed_stragglers_ = false;
};

// After SIGABRT from the watchdog, SIGKILL if the worker is still there.
constexpr uint64_t abort_grace_ms = 1000;

// A slot past the target waits at least this long after being steered away
// from, so connections the kernel had already routed to it reach its queue.
constexpr uint64_t steer_settle_ms = 200;

}  // namespace forkd::master
