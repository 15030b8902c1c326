// tests/unit/app/test_fib.cpp: the naive and the fast Fibonacci, and the blocking sleep.
#include "app/fib.hpp"

#include <algorithm>
#include <chrono>

#include <doctest/doctest.h>

using namespace forkd::app;

TEST_CASE("fib: the first values")
{
    CHECK(fib(0) == 0);
    CHECK(fib(1) == 1);
    CHECK(fib(2) == 1);
    CHECK(fib(10) == 55);
    CHECK(fib(20) == 6765);
    CHECK(fib(-1) == 0);
}

TEST_CASE("fib_fast: agrees with the naive one, and reaches 64 bits")
{
    for (int n = 0; n <= 25; ++n) {
        CAPTURE(n);
        CHECK(fib(n) == fib_fast(n));
    }
    CHECK(fib_fast(40) == 102334155u);
    CHECK(fib_fast(90) == 2880067194370816120u);
    CHECK(fib_fast(fib_max_representable) == 12200160415121876738u);
    CHECK(fib_fast(-5) == 0);
}

TEST_CASE("fib: stays naive (exponential)")
{
    // F(30) makes 18 times as many calls as F(24). A memoised or iterative
    // fib would take about the same (tiny) time for both. The best of three
    // runs keeps a preempted run on a busy machine from deciding.
    using clock = std::chrono::steady_clock;
    auto best_of_three = [](int n, uint64_t expected) {
        auto best = clock::duration::max();
        for (int i = 0; i < 3; ++i) {
            auto t0 = clock::now();
            volatile uint64_t f = fib(n);
            auto elapsed = clock::now() - t0;
            CHECK(f == expected);
            best = std::min(best, elapsed);
        }
        return best;
    };
    auto small = best_of_three(24, 46368);
    auto large = best_of_three(30, 832040);
    CHECK(large > 4 * small);
}

TEST_CASE("sleep_blocking_ns: blocks for about the time asked")
{
    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    sleep_blocking_ns(30'000'000);
    auto elapsed = clock::now() - t0;
    CHECK(elapsed >= std::chrono::milliseconds(30));
    CHECK(elapsed < std::chrono::milliseconds(200));
    t0 = clock::now();
    sleep_blocking_ns(0);
    CHECK(clock::now() - t0 < std::chrono::milliseconds(50));
}
