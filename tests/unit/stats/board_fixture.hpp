// tests/unit/stats/board_fixture.hpp: fake workers on a real board, for the
// snapshot, sampler and report tests.
#pragma once

#include <cstddef>
#include <cstdint>

#include "stats/scoreboard.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/endpoint_fixture.hpp"

namespace board_fixture {

using namespace forkd::stats;
using namespace endpoint_fixture;

inline  // A "worker" in entry i of slot s, with n hello requests of `ns` each.
    void
    fake_worker(Scoreboard& sb, std::size_t i, int slot, int pid, int n, uint64_t ns = 10000)
{
    WorkerEntry& e = sb.entry(i);
    e.reset(slot, 1, wall_now_ms());
    e.pid.store(pid);
    e.state.store(WorkerState::ready);
    for (int k = 0; k < n; ++k)
        record_response(e, Endpoint::hello_inline, 200, ns);
    e.bytes_in.store(uint64_t(n) * 100);
    e.bytes_out.store(uint64_t(n) * 150);
}

}  // namespace board_fixture
