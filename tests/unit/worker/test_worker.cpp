// tests/unit/worker/test_worker.cpp: the worker's decisions that need no
// process (worker/worker.cpp): the tick's period and the recycling budget.
// The loop itself runs in the integration tests (a forked worker).
#include "worker/worker.hpp"

#include <set>

#include <doctest/doctest.h>

using namespace forkd::worker;

TEST_CASE("worker: the tick beats four times per timeout, within 10 ms .. 1 s")
{
    CHECK(tick_ms(30) == 1000);
    CHECK(tick_ms(2) == 500);
    CHECK(tick_ms(0.1) == 25);
    CHECK(tick_ms(0.001) == 10);
}

TEST_CASE("worker: recycle after max_requests plus a jitter within [0, jitter]")
{
    CHECK(recycle_after(0, 50, 1) == 0);  // never
    CHECK(recycle_after(100, 0, 1) == 100);
    std::set<uint64_t> seen;
    for (unsigned seed = 1; seed < 200; ++seed) {
        const uint64_t n = recycle_after(100, 10, seed);
        CHECK(n >= 100);
        CHECK(n <= 110);
        seen.insert(n);
    }
    CHECK(seen.size() > 5);  // the jitter spreads workers out
    CHECK(recycle_after(100, 10, 42) == recycle_after(100, 10, 42));
}
