// tests/unit/allocations.hpp: how many times this thread called operator new.
//
// tests/unit/allocations.cpp replaces the global operator new (every form)
// for the whole unit-test binary and counts each call on the calling
// thread, so that a test can check that a path allocates nothing per
// request: read the count, run the path, compare. A thread-local count keeps
// a client thread's allocations out of a loop thread's figure.
#pragma once

#include <cstdint>

namespace forkd_test {

// operator new calls made by this thread since it started.
uint64_t allocations();

}  // namespace forkd_test
