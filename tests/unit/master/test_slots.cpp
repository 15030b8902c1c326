// Unit tests for master/slots.cpp: the restart policy of a slot
// (Slot::after_death) and the backoff between restarts.
#include <doctest/doctest.h>

#include "master/slots.hpp"

using namespace forkd::master;

TEST_CASE("backoff: immediate first restart, then doubling up to 5 s")
{
    CHECK(backoff_ms(0) == 0);
    CHECK(backoff_ms(1) == 0);
    CHECK(backoff_ms(2) == 100);
    CHECK(backoff_ms(3) == 200);
    CHECK(backoff_ms(6) == 1600);
    CHECK(backoff_ms(8) == 5000);
    CHECK(backoff_ms(100) == 5000);
}

namespace {

Death ready_death(bool took_requests, uint64_t lived_ms)
{
    Death d;
    d.ready = true;
    d.took_requests = took_requests;
    d.lived_ms = lived_ms;
    return d;
}

}  // namespace

TEST_CASE("restart policy: workers that never became ready back off, and six in a row give up")
{
    Slot slot;
    Death never_ready;
    never_ready.lived_ms = 10;
    const uint64_t delays[] = {0, 100, 200, 400, 800};
    for (uint64_t want : delays) {
        const Restart r = slot.after_death(never_ready);
        CHECK(r.boot_failure);
        CHECK(r.delay_ms == want);
        CHECK_FALSE(r.give_up);
    }
    const Restart last = slot.after_death(never_ready);
    CHECK(last.give_up);

    // A boot failure by exit code counts even if the tick saw it ready.
    Slot other;
    Death boot;
    boot.ready = true;
    boot.boot_failed = true;
    CHECK(other.after_death(boot).boot_failure);
}

TEST_CASE("restart policy: a worker that served never stops the master, however often it dies")
{
    Slot slot;
    for (int i = 0; i < 100; ++i) {
        const Restart r = slot.after_death(ready_death(true, 50));
        CHECK_FALSE(r.give_up);
        CHECK_FALSE(r.boot_failure);
        CHECK(r.delay_ms == 0);  // it took a request: replaced at once
    }
}

TEST_CASE("restart policy: a ready worker that keeps dying by itself backs off, but never gives up")
{
    Slot slot;
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 100);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 200);
    for (int i = 0; i < 20; ++i) {
        const Restart r = slot.after_death(ready_death(false, 10));
        CHECK_FALSE(r.give_up);
        CHECK(r.delay_ms <= 5000);
    }
    // One that lived long enough, or took a request, starts the count over.
    CHECK(slot.after_death(ready_death(false, early_exit_ms)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 100);
    CHECK(slot.after_death(ready_death(true, 10)).delay_ms == 0);
}

TEST_CASE("restart policy: boot failures in a row only; a worker that served resets the count")
{
    Slot slot;
    Death never_ready;
    for (int i = 0; i < 5; ++i)
        CHECK_FALSE(slot.after_death(never_ready).give_up);
    CHECK_FALSE(slot.after_death(ready_death(true, 10)).give_up);
    for (int i = 0; i < 5; ++i)
        CHECK_FALSE(slot.after_death(never_ready).give_up);
    CHECK(slot.after_death(never_ready).give_up);
    slot.forget_failures();  // a reload starts over
    CHECK_FALSE(slot.after_death(never_ready).give_up);
}
