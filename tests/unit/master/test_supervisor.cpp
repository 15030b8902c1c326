// Unit tests for master/supervisor.cpp and supervisor_target.cpp: the
// master's policy driven without fork, sockets or clocks, as gunicorn's
// test_arbiter.py drives reap_workers and manage_workers. A Harness plays
// the Master: it "forks" by handing out pids and records what it was told.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <string>
#include <vector>

#include "master/supervisor.hpp"

using namespace forkd::master;

namespace {

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

Death before_ready(uint64_t lived_ms = 50)
{
    Death d;
    d.lived_ms = lived_ms;
    return d;
}

Death after_ready(bool took_requests, uint64_t lived_ms = 50)
{
    Death d;
    d.ready = true;
    d.took_requests = took_requests;
    d.lived_ms = lived_ms;
    return d;
}

}  // namespace

TEST_CASE("supervisor: start spawns one active worker per slot, in slot order")
{
    Harness h(3);
    h.start();
    REQUIRE(h.spawns.size() == 3);
    for (int i = 0; i < 3; ++i) {
        CHECK(h.spawns[std::size_t(i)].slot == i);
        CHECK(h.spawns[std::size_t(i)].role == Role::active);
        CHECK(h.spawns[std::size_t(i)].generation == 1);
    }
    // Each its own scoreboard entry.
    CHECK(h.spawns[0].entry != h.spawns[1].entry);
    CHECK(h.spawns[1].entry != h.spawns[2].entry);
    h.start();  // nothing more to do
    CHECK(h.spawns.size() == 3);
    CHECK(h.sup.serving() == 0);
    h.all_ready();
    CHECK(h.sup.serving() == 3);
}

TEST_CASE("supervisor: crash loop at start: backoff between restarts, then give up after six")
{
    Harness h(2);
    h.start();
    const uint64_t delays[] = {0, 100, 200, 400, 800};
    for (uint64_t delay : delays) {
        const pid_t pid = h.pid_of(0);
        REQUIRE(pid != 0);
        h.dies(pid, before_ready());
        CHECK(h.gave_up.empty());
        if (delay != 0) {
            CHECK(h.pid_of(0) == 0);  // not before the backoff has passed
            h.now += delay - 1;
            h.tick();
            CHECK(h.pid_of(0) == 0);
            h.now += 1;
            h.tick();
        }
        CHECK(h.pid_of(0) != 0);
    }
    h.dies(h.pid_of(0), before_ready());
    CHECK(h.gave_up.find("worker 0 exited 6 times in a row before it was ready (last: exit code 3)") !=
          std::string::npos);
    CHECK(h.gave_up.find("giving up") != std::string::npos);
    CHECK(h.logged("(before it was ready)"));
}

TEST_CASE("supervisor: deaths after ready never give up")
{
    Harness h(1);
    h.start();
    h.all_ready();
    for (int i = 0; i < 50; ++i) {
        const pid_t pid = h.pid_of(0);
        h.dies(pid, after_ready(true));
        CHECK(h.gave_up.empty());
        CHECK(h.pid_of(0) != 0);  // it took a request: replaced at once
        CHECK(h.pid_of(0) != pid);
        h.all_ready();
    }
    // Quick deaths of workers that served nothing back off, but never stop the master.
    for (int i = 0; i < 50; ++i) {
        h.dies(h.pid_of(0), after_ready(false, 10));
        h.now += 10000;
        h.tick();
        h.all_ready();
    }
    CHECK(h.gave_up.empty());
    CHECK(h.sup.serving() == 1);
    CHECK(h.logged("worker 0 (pid "));
    CHECK(h.logged("died after"));
}

TEST_CASE("supervisor: a failing generation is abandoned after six boot failures; the old one keeps serving")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t old0 = h.pid_of(0), old1 = h.pid_of(1);
    h.run(h.sup.reload(2, Harness::limits(1), h.now));
    h.run(h.sup.maintain(h.now));
    CHECK(h.sup.reloading());
    CHECK(h.sup.generation() == 2);
    REQUIRE(h.pid_of(0, Role::successor) != 0);
    REQUIRE(h.pid_of(1, Role::successor) != 0);
    CHECK(h.spawns.back().generation == 2);

    for (int i = 0; i < 5; ++i) {
        h.dies(h.pid_of(0, Role::successor), before_ready());
        h.now += 10000;
        h.tick();
        REQUIRE(h.pid_of(0, Role::successor) != 0);  // tried again
    }
    const pid_t doomed = h.pid_of(1, Role::successor);
    h.dies(h.pid_of(0, Role::successor), before_ready());
    CHECK(h.gave_up.empty());  // a reload that fails never stops the master
    CHECK(h.reloads_aborted == 1);
    CHECK(h.logged("reload failed: worker 0 exited 6 times in a row before it was ready"));
    CHECK(h.logged("going back to generation 1"));
    CHECK_FALSE(h.sup.reloading());
    CHECK(h.sup.generation() == 1);
    CHECK(h.signalled(doomed));  // the rest of the new generation is retired
    CHECK_FALSE(h.signalled(old0));
    CHECK_FALSE(h.signalled(old1));
    CHECK(h.pid_of(0) == old0);
    CHECK(h.pid_of(1) == old1);
    const std::size_t spawned = h.spawns.size();
    h.now += 10000;
    h.tick();
    CHECK(h.spawns.size() == spawned);  // nothing more to replace
    CHECK(h.reloads_complete == 0);
}

TEST_CASE("supervisor: a reload replaces every worker successor first, then completes")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t old0 = h.pid_of(0), old1 = h.pid_of(1);
    h.run(h.sup.reload(2, Harness::limits(1), h.now));
    h.run(h.sup.maintain(h.now));
    h.tick();
    CHECK(h.signals.empty());  // nobody stops before a successor serves
    h.run(h.sup.ready(h.pid_of(0, Role::successor), h.now));
    CHECK(h.signalled(old0));
    CHECK_FALSE(h.signalled(old1));
    h.tick();
    CHECK(h.reloads_complete == 0);
    h.all_ready();
    CHECK(h.signalled(old1));
    h.tick();
    CHECK(h.reloads_complete == 1);
    CHECK(h.done.back().kind == Action::Kind::reload_complete);
    CHECK(h.done.back().generation == 2);
    CHECK(h.done.back().count == 2);
    // The retired ones exit: no restart.
    const std::size_t spawned = h.spawns.size();
    h.dies(old0, after_ready(true));
    h.dies(old1, after_ready(true));
    CHECK(h.spawns.size() == spawned);
    CHECK(h.logged("exited: exit code 3"));
}

TEST_CASE("supervisor: a worker dying during a reload: its successor takes the slot over")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t old0 = h.pid_of(0);
    h.run(h.sup.reload(2, Harness::limits(1), h.now));
    h.run(h.sup.maintain(h.now));
    const pid_t next0 = h.pid_of(0, Role::successor);
    h.dies(old0, after_ready(true));
    CHECK(h.pid_of(0) == next0);  // promoted, not a second successor
    CHECK(h.pid_of(0, Role::successor) == 0);
    h.all_ready();
    h.tick();
    CHECK(h.reloads_complete == 1);
    CHECK(h.gave_up.empty());
}

TEST_CASE("supervisor: a HUP during a reload reloads again once it completes")
{
    Harness h(1);
    h.start();
    h.all_ready();
    h.run(h.sup.reload(1, Harness::limits(1), h.now));
    h.run(h.sup.maintain(h.now));
    h.sup.reload_later();
    h.all_ready();
    h.tick();
    REQUIRE(h.reloads_complete == 1);
    CHECK(h.done.back().again);
}

TEST_CASE("supervisor: recycling never replaces more than recycle_concurrency workers at once")
{
    for (int concurrency : {1, 2}) {
        CAPTURE(concurrency);
        Harness h(4, concurrency);
        h.start();
        h.all_ready();
        for (int slot = 0; slot < 4; ++slot)
            h.sup.recycle(slot, "max_requests reached");
        std::size_t replaced = 0;
        for (int round = 0; round < 10 && replaced < 4; ++round) {
            h.tick();
            CHECK(h.count(Role::successor) <= std::size_t(concurrency));
            CHECK(h.count(Role::successor) > 0);
            replaced += h.count(Role::successor);
            h.all_ready();
            CHECK(h.count(Role::successor) == 0);
        }
        CHECK(replaced == 4);
        CHECK(h.count(Role::retiring) == 4);
        CHECK(h.count(Role::active) == 4);
    }
}

TEST_CASE("supervisor: recycling is successor first: the old worker is signalled only once its successor serves")
{
    Harness h(1);
    h.start();
    h.all_ready();
    const pid_t old = h.pid_of(0);
    h.sup.recycle(0, "max_worker_rss exceeded");
    h.tick();
    REQUIRE(h.spawns.size() == 2);
    CHECK(h.spawns.back().text == "max_worker_rss exceeded");  // "recycling worker 0 (pid old): ..."
    CHECK(h.spawns.back().pid != old);
    const pid_t next = h.pid_of(0, Role::successor);
    REQUIRE(next != 0);
    for (int i = 0; i < 5; ++i)
        h.tick();
    CHECK(h.signals.empty());
    h.run(h.sup.ready(next, h.now));
    REQUIRE(h.signals.size() == 1);
    CHECK(h.signalled(old));
    CHECK(h.done.back().text == "max_worker_rss exceeded");
    CHECK(h.pid_of(0) == next);
    // A retired worker that overstays graceful_timeout is killed.
    h.now += 31000;
    h.tick();
    CHECK(h.signalled(old, SIGKILL));
}

TEST_CASE("supervisor: TTOU drains the last slot: steer away, wait for its queue, retire, close")
{
    Harness h(3);
    h.start();
    h.all_ready();
    const pid_t last = h.pid_of(2);
    h.run(h.sup.ttou(h.now));
    CHECK(h.sup.target() == 2);
    CHECK(h.steered_to == 2);
    h.tick({0, 0, 0});
    CHECK_FALSE(h.signalled(last));  // connections may still be on their way
    h.now += steer_settle_ms;
    h.tick({0, 0, 4});
    CHECK_FALSE(h.signalled(last));  // four connections wait for it
    h.tick({0, 0, 0});
    CHECK(h.signalled(last));
    CHECK(h.closed_slots == 0);
    h.dies(last, after_ready(true));
    h.tick({0, 0, 0});
    CHECK(h.closed_slots == 1);
    CHECK(h.sup.slots().size() == 2);
    CHECK(h.spawns.size() == 3);  // no replacement

    h.run(h.sup.ttou(h.now));
    h.run(h.sup.ttou(h.now));
    CHECK(h.sup.target() == 1);
    CHECK(h.logged("TTOU: keeping the last worker"));
}

TEST_CASE("supervisor: a slot being drained whose worker died with connections queued gets one more worker")
{
    Harness h(2);
    h.start();
    h.all_ready();
    h.run(h.sup.ttou(h.now));
    h.dies(h.pid_of(1), after_ready(true));
    CHECK(h.pid_of(1) == 0);  // past the target: maintain leaves it
    h.tick({0, 3});
    CHECK(h.pid_of(1) != 0);  // someone must serve what waits
    h.tick({0, 3});
    h.all_ready();
    h.now += steer_settle_ms;
    h.tick({0, 0});
    CHECK(h.signalled(h.spawns.back().pid));
}

TEST_CASE("supervisor: TTIN adds one worker in a new slot; the scoreboard bounds it")
{
    Harness h(2, 1, 8);
    h.start();
    h.all_ready();
    CHECK(h.sup.needs_slot());
    h.run(h.sup.ttin(h.now));
    CHECK(h.sup.target() == 3);
    CHECK(h.sup.slots().size() == 3);
    CHECK(h.steered_to == 3);
    CHECK(h.spawns.back().slot == 2);
    CHECK(h.logged("TTIN: 3 workers"));
    CHECK_FALSE(h.sup.needs_slot());  // 2 * 4 + 2 > 8
    h.run(h.sup.ttin(h.now));
    CHECK(h.sup.target() == 3);
    CHECK(h.logged("TTIN: already at the most workers this master can run (3)"));
}

TEST_CASE("supervisor: TTIN takes back a slot that TTOU is still draining")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t last = h.pid_of(1);
    h.run(h.sup.ttou(h.now));
    CHECK_FALSE(h.sup.needs_slot());
    h.run(h.sup.ttin(h.now));
    h.now += 1000;
    h.tick({0, 0});
    CHECK_FALSE(h.signalled(last));
    CHECK(h.sup.target() == 2);
    CHECK(h.spawns.size() == 2);
}

TEST_CASE("supervisor: the watchdog sends SIGABRT, then SIGKILL after a grace")
{
    Harness h(1);
    h.start();
    h.all_ready();
    const pid_t pid = h.pid_of(0);
    h.run(h.sup.watchdog_fired(pid, h.now));
    CHECK(h.signalled(pid, SIGABRT));
    CHECK(h.sup.stuck());
    h.run(h.sup.watchdog_fired(pid, h.now));  // once
    CHECK(h.signals.size() == 1);
    h.now += abort_grace_ms;
    h.tick();
    CHECK(h.signalled(pid, SIGKILL));
    h.dies(pid, after_ready(true));
    CHECK(h.pid_of(0) != 0);
    CHECK_FALSE(h.sup.stuck());
}

TEST_CASE("supervisor: a failed fork backs off and retries, without giving up")
{
    Harness h(1);
    h.fail_forks = true;
    h.start();
    CHECK(h.sup.procs().empty());
    h.tick();
    CHECK(h.sup.procs().empty());  // 100 ms backoff
    h.fail_forks = false;
    h.now += 100;
    h.tick();
    CHECK(h.pid_of(0) != 0);
    CHECK(h.gave_up.empty());
}

TEST_CASE("supervisor: WINCH retires every worker and spawns none until a reload")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t a = h.pid_of(0), b = h.pid_of(1);
    h.run(h.sup.pause(h.now));
    CHECK(h.signalled(a));
    CHECK(h.signalled(b));
    h.dies(a, after_ready(true));
    h.dies(b, after_ready(true));
    h.tick();
    CHECK(h.sup.procs().empty());
    h.run(h.sup.reload(2, Harness::limits(1), h.now));
    h.run(h.sup.maintain(h.now));
    CHECK(h.sup.procs().size() == 2);
}

TEST_CASE("supervisor: shutdown signals every worker once, restarts nothing, and kills stragglers at the deadline")
{
    Harness h(2);
    h.start();
    h.all_ready();
    const pid_t a = h.pid_of(0), b = h.pid_of(1);
    h.run(h.sup.shutdown(true, 5000, h.now));
    CHECK(h.signalled(a));
    CHECK(h.signalled(b));
    CHECK(h.done.back().kind == Action::Kind::close_listeners);
    CHECK(h.sup.shutdown(true, 5000, h.now).empty());  // already stopping
    h.dies(a, after_ready(true));
    CHECK(h.sup.procs().size() == 1);
    CHECK(h.logged("graceful shutdown of 2 workers"));
    h.now += 5000;
    h.tick();
    CHECK(h.signalled(b, SIGKILL));

    // A quick shutdown after a graceful one goes faster; the listeners close once.
    Harness q(1);
    q.start();
    q.run(q.sup.shutdown(true, 5000, q.now));
    q.run(q.sup.shutdown(false, 2000, q.now));
    CHECK(q.signalled(q.spawns[0].pid, SIGQUIT));
    CHECK(std::count_if(q.done.begin(), q.done.end(),
                        [](const Action& x) { return x.kind == Action::Kind::close_listeners; }) == 1);
    CHECK(q.sup.shutdown(true, 5000, q.now).empty());
}

TEST_CASE("supervisor: TTIN counts only the workers wanted, not the slots still being drained")
{
    Harness h(3, 1, 7);  // 2 * (2 + 1) + 2 = 8 > 7: TTIN from 2 would be refused, from 1 not
    h.start();
    h.all_ready();
    h.run(h.sup.ttou(h.now));
    h.run(h.sup.ttou(h.now));
    CHECK(h.sup.target() == 1);
    CHECK(h.sup.slots().size() == 3);  // both still draining
    CHECK_FALSE(h.sup.room_for(2));    // a reload to two would not fit beside three slots
    h.run(h.sup.ttin(h.now));
    CHECK(h.sup.target() == 2);
    h.run(h.sup.ttin(h.now));
    CHECK(h.sup.target() == 2);
    CHECK(h.logged("TTIN: already at the most workers this master can run (2)"));
}
