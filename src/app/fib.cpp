// app/fib.cpp: naive and fast Fibonacci, and the blocking sleep (see fib.hpp).
//
// Must stay naive: no memoisation, no iteration in fib(). The compiler may
// turn one of the two calls into a loop, but the work stays exponential.
#include "app/fib.hpp"

#include <cerrno>
#include <ctime>

namespace forkd::app {

uint64_t fib(int n)
{
    if (n < 2)
        return n < 0 ? 0 : static_cast<uint64_t>(n);
    return fib(n - 1) + fib(n - 2);
}

uint64_t fib_fast(int n)
{
    if (n <= 0)
        return 0;
    uint64_t previous = 0;
    uint64_t current = 1;
    for (int i = 1; i < n; ++i) {
        uint64_t next = previous + current;
        previous = current;
        current = next;
    }
    return current;
}

void sleep_blocking_ns(uint64_t ns)
{
    // An absolute deadline on the monotonic clock: an EINTR (a signal handled
    // on this thread) resumes towards the same end instead of restarting
    // the whole interval, and a wall-clock jump changes nothing.
    timespec deadline{};
    if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
        return;
    uint64_t nsec = static_cast<uint64_t>(deadline.tv_nsec) + ns % 1000000000u;
    deadline.tv_sec += static_cast<time_t>(ns / 1000000000u + nsec / 1000000000u);
    deadline.tv_nsec = static_cast<long>(nsec % 1000000000u);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) { }
}

}  // namespace forkd::app
