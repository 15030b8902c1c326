// tests/unit/stats/render_fixture.hpp: a known board for the renderer tests.
//
// Two slots; slot 1 had a worker killed (retired) and has a new one; slot 0
// is busy (busy steering) and slot 1's workers took connections over from it. The
// endpoint indices and labels are the tests' own (endpoint_fixture.hpp).
#pragma once

#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/endpoint_fixture.hpp"

namespace render_fixture {

using namespace forkd::stats;
using namespace endpoint_fixture;

inline Snapshot known_snapshot()
{
    Scoreboard sb(4, 2);  // the snapshot is a copy: the board may go
    set_server(sb, ServerInfo{"/etc/forkd \"quoted\".toml", 3, 2});
    auto worker = [&](std::size_t i, int slot, int pid) -> WorkerEntry& {
        WorkerEntry& e = sb.entry(i);
        e.reset(slot, 3, 1700000000000);
        e.pid.store(pid);
        e.state.store(WorkerState::ready);
        return e;
    };
    WorkerEntry& a = worker(0, 0, 101);
    for (int k = 0; k < 90; ++k)
        record_response(a, Endpoint::hello_inline, 200, 5000 + uint64_t(k) * 100);
    for (int k = 0; k < 10; ++k)
        record_response(a, Endpoint::sleep_timer, 200, 100000000);  // 100 ms
    record_response(a, Endpoint::other, 404, 3000);
    a.in_flight.store(2);
    a.connections.store(5);
    ConnectionCounts counts;
    counts.closed[closed_keepalive] = 3;
    counts.refused[refused_emfile] = 2;
    store_connection_counts(a, counts);
    WorkerEntry& dead = worker(1, 1, 102);
    for (int k = 0; k < 7; ++k)
        record_response(dead, Endpoint::fib_offload, 200, 2000000);
    ConnectionCounts dead_counts;
    dead_counts.closed[closed_send_timeout] = 4;  // kept in its slot after the exit
    store_connection_counts(dead, dead_counts);
    dead.taken_over.store(3);  // busy steering: it took over 3 connections from slot 0
    record_exit(sb, dead, 9, 1700000000500);
    WorkerEntry& b = worker(2, 1, 103);
    record_response(b, Endpoint::fib_offload, 503, 4000);
    ConnectionCounts b_counts;
    b_counts.closed[closed_evicted] = 1;
    store_connection_counts(b, b_counts);
    b.taken_over.store(2);
    // Slot 0's worker is busy now, its second episode; 1.5 s in the first.
    sb.slot(0).pid.store(101);
    sb.slot(0).busy.store(1);
    sb.slot(0).busy_episodes.store(2);
    sb.slot(0).busy_ms.store(1500);
    return take_snapshot(sb, 1700000010000, 0);
}

}  // namespace render_fixture
