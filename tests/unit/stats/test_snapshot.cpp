// Unit tests for stats/snapshot.cpp: reading the board into plain data.
#include <doctest/doctest.h>

#include <string>

#include "stats/report.hpp"
#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/board_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;
using board_fixture::fake_worker;

TEST_CASE("a snapshot lists live workers and sums them per slot and in total")
{
    Scoreboard sb(6, 3);
    set_server(sb, ServerInfo{"/etc/forkd.toml", 2, 3});
    fake_worker(sb, 0, 0, 1001, 5);
    fake_worker(sb, 4, 1, 1002, 7);
    fake_worker(sb, 2, 1, 1003, 1);  // a second process of slot 1 (a reload in progress)
    record_response(sb.entry(2), Endpoint::other, 404, 2000);

    const Snapshot snap = take_snapshot(sb);
    CHECK(snap.server.config_path == "/etc/forkd.toml");
    CHECK(snap.server.generation == 2);
    CHECK(snap.server.workers_target == 3);
    CHECK(snap.server.master_pid == getpid());
    CHECK(snap.server.host_state == HostState::serving);
    CHECK(snap.server.host_state_since_ms == 0);
    REQUIRE(snap.workers.size() == 3);
    CHECK(snap.workers[0].pid == 1001);
    CHECK(snap.workers[1].pid == 1003);  // entry order
    CHECK(snap.workers[2].pid == 1002);
    CHECK_FALSE(snap.workers[0].sampled);
    REQUIRE(snap.slots.size() == 3);
    CHECK(snap.slots[0].counters.requests == 5);
    CHECK(snap.slots[1].counters.requests == 9);
    CHECK(snap.slots[2].counters.requests == 0);
    CHECK(snap.totals.requests == 14);
    CHECK(snap.totals.bytes_in == 1300);
    CHECK(snap.totals.endpoints[std::size_t(Endpoint::hello_inline)].requests() == 13);
    CHECK(snap.totals.by_class()[1] == 13);
    CHECK(snap.totals.by_class()[3] == 1);
    CHECK(snap.endpoint_latency[std::size_t(Endpoint::hello_inline)].count == 13);
    CHECK(snap.latency().count == 14);
    CHECK(snap.workers_in(WorkerState::ready) == 3);
}

TEST_CASE("a snapshot copies the host's state as the master set it")
{
    Scoreboard sb(2);
    sb.master().host_state_since_ms.store(1700000000123);
    sb.master().host_state.store(HostState::draining);
    const Snapshot snap = take_snapshot(sb);
    CHECK(snap.server.host_state == HostState::draining);
    CHECK(snap.server.host_state_since_ms == 1700000000123);
}
