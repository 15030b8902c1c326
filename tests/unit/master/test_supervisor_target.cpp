// Unit tests for master/supervisor_target.cpp: what changes the target,
// driven without fork, sockets or clocks: reload (HUP), a failing
// generation, TTIN, TTOU and the draining of surplus slots, WINCH.
#include <doctest/doctest.h>

#include "master/supervisor.hpp"
#include "supervisor_harness.hpp"

using namespace forkd::master;
using namespace forkd::master::testing;

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
