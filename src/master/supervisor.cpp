// master/supervisor.cpp: the life of workers in their slots: spawn, reap
// (exited), maintain, promote (ready), retire, the deadlines, shutdown.
//
// Pure policy (see supervisor.hpp): the only effects are the actions it
// appends. Changing the target (reload, TTIN, TTOU, WINCH, slots past the
// target) is in supervisor_target.cpp.
#include "master/supervisor.hpp"

#include <algorithm>
#include <csignal>

#include <spdlog/fmt/fmt.h>

namespace forkd::master {
namespace {

Action note(Action::Level level, std::string text)
{
    Action a;
    a.kind = Action::Kind::log;
    a.level = level;
    a.text = std::move(text);
    return a;
}

Action signal(pid_t pid, int signum)
{
    Action a;
    a.kind = Action::Kind::signal;
    a.pid = pid;
    a.signum = signum;
    return a;
}

}  // namespace

Supervisor::Supervisor(std::size_t target, std::size_t slots, std::size_t entries, Limits limits)
    : target_(target), entries_(entries), limits_(limits), previous_limits_(limits)
{
    while (slots_.size() < std::max(slots, target))
        add_slot();
}

void Supervisor::add_slot()
{
    Slot s;
    s.index = int(slots_.size());
    slots_.push_back(s);
}

// --- questions -------------------------------------------------------------

Proc* Supervisor::find_mut(int slot, Role role)
{
    for (Proc& p : procs_) {
        if (p.slot == slot && p.role == role)
            return &p;
    }
    return nullptr;
}

const Proc* Supervisor::find(int slot, Role role) const
{
    return const_cast<Supervisor*>(this)->find_mut(slot, role);
}

Proc* Supervisor::find_pid_mut(pid_t pid)
{
    auto it = std::find_if(procs_.begin(), procs_.end(), [pid](const Proc& p) { return p.pid == pid; });
    return it == procs_.end() ? nullptr : &*it;
}

const Proc* Supervisor::find_pid(pid_t pid) const
{
    return const_cast<Supervisor*>(this)->find_pid_mut(pid);
}

std::size_t Supervisor::free_entry() const
{
    for (std::size_t i = 0; i < entries_; ++i) {
        if (std::none_of(procs_.begin(), procs_.end(), [i](const Proc& p) { return p.entry == i; }))
            return i;
    }
    return entries_;
}

bool Supervisor::room_for(std::size_t target) const
{
    return 2 * std::max(target, slots_.size()) + 2 <= entries_;
}

std::size_t Supervisor::serving() const
{
    return std::size_t(
        std::count_if(procs_.begin(), procs_.end(), [](const Proc& p) { return p.role == Role::active && p.ready; }));
}

bool Supervisor::stuck() const
{
    return std::any_of(procs_.begin(), procs_.end(), [](const Proc& p) { return p.watchdog_fired; });
}

// --- spawn -----------------------------------------------------------------

// The process is in the table from the decision on, with pid 0 until the
// Master reports the fork (spawned()), so the next decision already counts it.
bool Supervisor::spawn(Slot& slot, Role role, uint64_t now_ms, Actions& out)
{
    const std::size_t entry = free_entry();
    if (entry == entries_) {
        out.push_back(note(Action::Level::error,
                           fmt::format("no free scoreboard entry for worker {}; not spawning", slot.index)));
        return false;
    }
    Proc proc;
    proc.slot = slot.index;
    proc.generation = generation_;
    proc.entry = entry;
    proc.role = role;
    proc.spawned_ms = now_ms;
    procs_.push_back(proc);
    Action a;
    a.kind = Action::Kind::spawn;
    a.slot = slot.index;
    a.role = role;
    a.generation = generation_;
    a.entry = entry;
    out.push_back(std::move(a));
    return true;
}

void Supervisor::spawned(std::size_t entry, pid_t pid)
{
    for (Proc& p : procs_) {
        if (p.entry == entry && p.pid == 0) {
            p.pid = pid;
            slots_.at(std::size_t(p.slot)).fork_failures = 0;
        }
    }
}

// Not the worker's fault, and no reason to give up: retry with backoff.
Actions Supervisor::spawn_failed(std::size_t entry, uint64_t now_ms)
{
    auto it =
        std::find_if(procs_.begin(), procs_.end(), [entry](const Proc& p) { return p.entry == entry && p.pid == 0; });
    if (it == procs_.end())
        return {};
    Slot& slot = slots_.at(std::size_t(it->slot));
    procs_.erase(it);
    ++slot.fork_failures;
    slot.respawn_at_ms = now_ms + backoff_ms(slot.fork_failures + 1);
    return {};
}

// --- reap ------------------------------------------------------------------

Actions Supervisor::exited(pid_t pid, const Death& death, std::string_view status, uint64_t now_ms)
{
    Actions out;
    Proc* found = find_pid_mut(pid);
    if (found == nullptr || pid == 0)
        return out;
    const Proc proc = *found;
    procs_.erase(procs_.begin() + (found - procs_.data()));
    if (stopping_ || proc.role == Role::retiring) {
        out.push_back(note(Action::Level::info, fmt::format("worker {} (pid {}, generation {}) exited: {}", proc.slot,
                                                            proc.pid, proc.generation, status)));
        return out;
    }
    Slot& slot = slots_.at(std::size_t(proc.slot));
    ++slot.restarts;
    const Restart restart = slot.after_death(death);
    slot.respawn_at_ms = now_ms + restart.delay_ms;
    out.push_back(
        note(Action::Level::error, fmt::format("worker {} (pid {}, {}) died after {:.1f} s: {}{}; {}", proc.slot,
                                               proc.pid, to_string(proc.role), double(death.lived_ms) / 1000, status,
                                               restart.boot_failure ? " (before it was ready)" : "",
                                               restart.delay_ms ? fmt::format("restarting in {} ms", restart.delay_ms)
                                                                : std::string("restarting"))));
    if (proc.role == Role::active) {
        // A successor already on its way takes the slot over.
        if (Proc* next = find_mut(proc.slot, Role::successor))
            next->role = Role::active;
    }
    if (restart.give_up) {
        const std::string msg = fmt::format("worker {} exited {} times in a row before it was ready (last: {})",
                                            proc.slot, slot.boot_failures, status);
        if (reloading_ && proc.generation == generation_) {
            abort_reload(msg, now_ms, out);
        } else {
            Action a;
            a.kind = Action::Kind::give_up;
            a.text = msg + "; giving up";
            out.push_back(std::move(a));
        }
    }
    return out;
}

// --- maintain --------------------------------------------------------------

Actions Supervisor::maintain(uint64_t now_ms)
{
    Actions out;
    maintain(now_ms, out);
    return out;
}

void Supervisor::maintain(uint64_t now_ms, Actions& out)
{
    if (stopping_ || paused_)
        return;
    // The recycle budget: successors already on their way for a recycle.
    std::size_t recycling = 0;
    for (const Slot& s : slots_) {
        if (s.recycle != nullptr && find(s.index, Role::successor) != nullptr)
            ++recycling;
    }
    for (std::size_t i = 0; i < target_ && i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        if (now_ms < slot.respawn_at_ms || find(slot.index, Role::successor) != nullptr)
            continue;
        const Proc* active = find(slot.index, Role::active);
        if (active == nullptr) {
            spawn(slot, Role::active, now_ms, out);
        } else if (active->generation < generation_) {
            spawn(slot, Role::successor, now_ms, out);  // reload: all slots at once
        } else if (slot.recycle != nullptr && recycling < std::size_t(std::max(limits_.recycle_concurrency, 1))) {
            const pid_t old = active->pid;
            if (spawn(slot, Role::successor, now_ms, out)) {
                out.back().text = slot.recycle;
                out.back().pid = old;
                ++recycling;
            }
        }
    }
}

// --- promote / retire ------------------------------------------------------

Actions Supervisor::ready(pid_t pid, uint64_t now_ms)
{
    Actions out;
    Proc* p = find_pid_mut(pid);
    if (p == nullptr || pid == 0 || p->ready)
        return out;
    p->ready = true;
    if (p->role != Role::successor)
        return out;
    // The successor serves: only now may its predecessor stop accepting.
    Proc* old = find_mut(p->slot, Role::active);
    p->role = Role::active;
    Slot& slot = slots_.at(std::size_t(p->slot));
    if (old != nullptr)
        retire(*old, slot.recycle != nullptr ? slot.recycle : "replaced by a new generation", now_ms, out);
    slot.recycle = nullptr;
    return out;
}

void Supervisor::retire(Proc& proc, const char* why, uint64_t now_ms, Actions& out)
{
    proc.role = Role::retiring;
    proc.kill_at_ms = now_ms + limits_.retire_grace_ms;
    Action a;
    a.kind = Action::Kind::retire;
    a.slot = proc.slot;
    a.pid = proc.pid;
    a.generation = proc.generation;
    a.text = why;
    out.push_back(std::move(a));
}

void Supervisor::recycle(int slot, const char* why)
{
    const Proc* p = find(slot, Role::active);
    if (p == nullptr || !p->ready || stopping_)
        return;
    Slot& s = slots_.at(std::size_t(slot));
    if (s.recycle == nullptr)
        s.recycle = why;
}

Actions Supervisor::watchdog_fired(pid_t pid, uint64_t now_ms)
{
    Actions out;
    Proc* p = find_pid_mut(pid);
    if (p == nullptr || pid == 0 || p->watchdog_fired)
        return out;
    p->watchdog_fired = true;
    p->kill_at_ms = now_ms + abort_grace_ms;
    out.push_back(signal(pid, SIGABRT));
    return out;
}

void Supervisor::kill_overdue(uint64_t now_ms, Actions& out)
{
    for (Proc& p : procs_) {
        if (p.kill_at_ms != 0 && now_ms >= p.kill_at_ms) {
            out.push_back(
                note(Action::Level::warn,
                     fmt::format("worker {} (pid {}) still running after its deadline; SIGKILL", p.slot, p.pid)));
            out.push_back(signal(p.pid, SIGKILL));
            p.kill_at_ms = 0;
        }
    }
}

// --- tick ------------------------------------------------------------------

Actions Supervisor::tick(uint64_t now_ms, const std::vector<unsigned>& queued)
{
    Actions out;
    if (stopping_) {
        if (!killed_stragglers_ && now_ms >= stop_deadline_ms_) {
            killed_stragglers_ = true;
            out.push_back(
                note(Action::Level::warn,
                     fmt::format("shutdown deadline passed; killing {} workers still running", procs_.size())));
            for (const Proc& p : procs_)
                out.push_back(signal(p.pid, SIGKILL));
        }
        return out;
    }
    kill_overdue(now_ms, out);
    drain_surplus_slots(now_ms, queued, out);
    maintain(now_ms, out);
    check_reload_done(out);
    return out;
}

// --- shutdown --------------------------------------------------------------

Actions Supervisor::shutdown(bool graceful, uint64_t grace_ms, uint64_t now_ms)
{
    Actions out;
    if (stopping_ && (graceful || !graceful_))
        return out;  // already stopping at least this fast
    const bool first = !stopping_;
    stopping_ = true;
    graceful_ = graceful;
    stop_deadline_ms_ = now_ms + grace_ms;
    out.push_back(note(Action::Level::info,
                       fmt::format("{} shutdown of {} workers", graceful ? "graceful" : "quick", procs_.size())));
    for (const Proc& p : procs_)
        out.push_back(signal(p.pid, graceful ? SIGTERM : SIGQUIT));
    if (first) {
        Action a;
        a.kind = Action::Kind::close_listeners;
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace forkd::master
