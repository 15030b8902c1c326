// Unit tests for master/busy.cpp: which slots are busy, from the stamps alone.
#include <doctest/doctest.h>

#include <vector>

#include "master/busy.hpp"

using forkd::master::BusyReading;
using forkd::master::BusyWatch;

TEST_CASE("busy: a loop inside one request for busy_after_ms is busy; back on the loop it is not")
{
    BusyWatch w(20);
    std::vector<BusyReading> slots = {{true, 0}, {true, 0}};
    CHECK_FALSE(w.update(slots, 1000));
    CHECK(w.busy_count() == 0);

    slots[1].request_started_ms = 990;  // 10 ms in: not yet
    CHECK_FALSE(w.update(slots, 1000));
    CHECK_FALSE(w.busy(1));
    CHECK(w.update(slots, 1010));  // 20 ms in: busy, and that is a change
    CHECK(w.busy(1));
    CHECK_FALSE(w.busy(0));
    CHECK(w.busy_count() == 1);
    CHECK_FALSE(w.update(slots, 3000));  // still busy: no change
    CHECK(w.busy(1));

    slots[1].request_started_ms = 0;  // the loop took it back
    CHECK(w.update(slots, 3001));
    CHECK(w.busy_count() == 0);
}

TEST_CASE("busy: short requests one after another never are; a stamp ahead of the clock is not")
{
    BusyWatch w(20);
    std::vector<BusyReading> slots = {{true, 0}};
    for (uint64_t now = 1000; now < 2000; now += 5) {
        slots[0].request_started_ms = now - 3;
        CHECK_FALSE(w.update(slots, now));
    }
    slots[0].request_started_ms = 5000;
    CHECK_FALSE(w.update(slots, 4000));
    CHECK_FALSE(w.busy(0));
}

TEST_CASE("busy: a slot without a serving worker is never busy; slots may come and go")
{
    BusyWatch w(20);
    std::vector<BusyReading> slots = {{false, 100}, {true, 100}};
    CHECK(w.update(slots, 1000));
    CHECK_FALSE(w.busy(0));
    CHECK(w.busy(1));
    CHECK_FALSE(w.busy(7));  // past the readings
    // A third idle slot appears (TTIN): not a change of the busy set.
    slots.push_back({true, 0});
    CHECK_FALSE(w.update(slots, 1001));
    // The busy worker is gone (killed by the watchdog): its slot rejoins.
    slots[1].serving = false;
    CHECK(w.update(slots, 1002));
    CHECK(w.busy_count() == 0);
}
