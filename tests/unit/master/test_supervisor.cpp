// Unit tests for master/supervisor.cpp: the master's policy driven without
// fork, sockets or clocks, as gunicorn's test_arbiter.py drives
// reap_workers and manage_workers: start, exits and the crash loop,
// readiness, recycling, the watchdog, failed forks, shutdown.
#include <doctest/doctest.h>

#include "master/supervisor.hpp"
#include "supervisor_harness.hpp"

using namespace forkd::master;
using namespace forkd::master::testing;

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
