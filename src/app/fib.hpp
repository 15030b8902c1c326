// app/fib.hpp: the CPU-bound work of the seeds, and a blocking sleep.
//
// fib() is deliberately the naive doubly recursive Fibonacci of the seeds
// (seed 000's fibo(), seed 001's fibo()): exponential time is the point, it
// is the "CPU-bound task". fib_fast() is the iterative version, for tests and
// for checking limits without paying for the naive one.
// sleep_blocking_ns() is the seeds' time.sleep(): it blocks the calling
// thread, whichever that is (a pool thread, or, deliberately, the loop).
// Knows nothing of requests, loops or threads.
#pragma once

#include <cstdint>

namespace forkd::app {

// The largest n whose F(n) fits in 64 bits: F(93) = 12200160415121876738.
inline constexpr int fib_max_representable = 93;

// F(0) = 0, F(1) = 1, F(n) = F(n-1) + F(n-2), by naive recursion. n < 0 gives 0.
uint64_t fib(int n);

// The same numbers in linear time (n <= fib_max_representable).
uint64_t fib_fast(int n);

// Block the calling thread for `ns` nanoseconds of monotonic time, however
// many signals interrupt it.
void sleep_blocking_ns(uint64_t ns);

}  // namespace forkd::app
