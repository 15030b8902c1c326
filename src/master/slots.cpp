// master/slots.cpp: the restart policy of one slot (Slot::after_death), the
// backoff curve and role names. Pure functions of their arguments: they
// must not read a clock or look at other slots (that is the Supervisor's).
#include "master/slots.hpp"

#include <algorithm>

namespace forkd::master {

uint64_t backoff_ms(int failures)
{
    if (failures <= 1)
        return 0;
    const uint64_t ms = 100ull << std::min(failures - 2, 6);
    return std::min<uint64_t>(ms, 5000);
}

Restart Slot::after_death(const Death& death)
{
    Restart r;
    if (!death.ready || death.boot_failed) {
        ++boot_failures;
        idle_deaths = 0;
        r.boot_failure = true;
        r.delay_ms = backoff_ms(boot_failures);
        r.give_up = boot_failures >= crash_loop_limit;
        return r;
    }
    boot_failures = 0;
    if (death.took_requests || death.lived_ms >= early_exit_ms)
        idle_deaths = 0;
    else
        ++idle_deaths;
    r.delay_ms = backoff_ms(idle_deaths);
    return r;
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
