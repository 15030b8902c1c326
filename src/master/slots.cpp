// master/slots.cpp: the restart backoff policy and role names.
#include "master/slots.hpp"

#include <algorithm>

namespace forkd::master {

uint64_t backoff_ms(int rapid_failures)
{
    if (rapid_failures <= 1)
        return 0;
    const uint64_t ms = 100ull << std::min(rapid_failures - 2, 6);
    return std::min<uint64_t>(ms, 5000);
}

const char* to_string(Role r)
{
    switch (r) {
    case Role::active: return "active";
    case Role::successor: return "successor";
    case Role::retiring: return "retiring";
    }
    return "unknown";
}

}  // namespace forkd::master
