// tests/unit/master/supervisor_harness.hpp: a Harness that plays the
// Master for the Supervisor's unit tests (test_supervisor.cpp,
// test_supervisor_target.cpp): it "forks" by handing out pids and records
// the actions it was told to carry out, without fork, sockets or clocks.
#pragma once

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "master/supervisor.hpp"

namespace forkd::master::testing {

struct Harness {
    explicit Harness(std::size_t target, int recycle_concurrency = 1, std::size_t entries = 64)
        : sup(target, target, entries, limits(recycle_concurrency))
    {
    }

    static Supervisor::Limits limits(int recycle_concurrency)
    {
        Supervisor::Limits l;
        l.recycle_concurrency = recycle_concurrency;
        l.retire_grace_ms = 31000;
        return l;
    }

    void run(const Actions& actions)
    {
        for (const Action& a : actions) {
            done.push_back(a);
            switch (a.kind) {
            case Action::Kind::spawn:
                if (fail_forks) {
                    run(sup.spawn_failed(a.entry, now));
                } else {
                    sup.spawned(a.entry, next_pid);
                    spawns.push_back(a);
                    spawns.back().pid = next_pid++;
                }
                break;
            case Action::Kind::retire: signals.push_back({a.pid, SIGTERM}); break;
            case Action::Kind::signal: signals.push_back({a.pid, a.signum}); break;
            case Action::Kind::log: lines.push_back(a.text); break;
            case Action::Kind::give_up: gave_up = a.text; break;
            case Action::Kind::reload_complete: ++reloads_complete; break;
            case Action::Kind::reload_aborted: ++reloads_aborted; break;
            case Action::Kind::steer: steered_to = a.count; break;
            case Action::Kind::close_last_slot: ++closed_slots; break;
            default: break;
            }
        }
    }

    void start() { run(sup.maintain(now)); }
    void tick(const std::vector<unsigned>& queued = {}) { run(sup.tick(now, queued)); }

    pid_t pid_of(int slot, Role role = Role::active) const
    {
        const Proc* p = sup.find(slot, role);
        return p != nullptr ? p->pid : 0;
    }

    // Every process not yet ready says it serves.
    void all_ready()
    {
        std::vector<pid_t> pids;
        for (const Proc& p : sup.procs())
            pids.push_back(p.pid);
        for (pid_t pid : pids)
            run(sup.ready(pid, now));
    }

    // As the Master's SIGCHLD: reap, then maintain.
    void dies(pid_t pid, const Death& death)
    {
        run(sup.exited(pid, death, "exit code 3", now));
        run(sup.maintain(now));
    }

    bool signalled(pid_t pid, int signum = SIGTERM) const
    {
        return std::find(signals.begin(), signals.end(), std::pair<pid_t, int>{pid, signum}) != signals.end();
    }

    std::size_t count(Role role) const
    {
        return std::size_t(
            std::count_if(sup.procs().begin(), sup.procs().end(), [role](const Proc& p) { return p.role == role; }));
    }

    bool logged(const std::string& text) const
    {
        return std::any_of(lines.begin(), lines.end(),
                           [&text](const std::string& l) { return l.find(text) != std::string::npos; });
    }

    Supervisor sup;
    uint64_t now = 1000;
    pid_t next_pid = 100;
    bool fail_forks = false;
    std::vector<Action> done;
    std::vector<Action> spawns;
    std::vector<std::pair<pid_t, int>> signals;
    std::vector<std::string> lines;
    std::string gave_up;
    int reloads_complete = 0;
    int reloads_aborted = 0;
    std::size_t steered_to = 0;
    int closed_slots = 0;
};

inline Death before_ready(uint64_t lived_ms = 50)
{
    Death d;
    d.lived_ms = lived_ms;
    return d;
}

inline Death after_ready(bool took_requests, uint64_t lived_ms = 50)
{
    Death d;
    d.ready = true;
    d.took_requests = took_requests;
    d.lived_ms = lived_ms;
    return d;
}

}  // namespace forkd::master::testing
