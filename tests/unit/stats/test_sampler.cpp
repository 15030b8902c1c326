// Unit tests for stats/sampler.cpp: the master's samples, retiring workers,
// exit statuses as text.
#include <doctest/doctest.h>

#include "tests/unit/loopback.hpp"

#include <csignal>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats/report.hpp"
#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/board_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;

using board_fixture::fake_worker;

TEST_CASE("record_exit moves a worker's counters to its slot and frees the entry")
{
    Scoreboard sb(4, 2);
    fake_worker(sb, 1, 1, 2001, 10);
    fake_worker(sb, 2, 0, 2002, 3);
    const uint64_t before = take_snapshot(sb).totals.requests;

    record_exit(sb, sb.entry(1), 9 /* killed by SIGKILL */, 1700000000123);
    CHECK(sb.entry(1).state.load() == WorkerState::empty);
    Snapshot snap = take_snapshot(sb);
    CHECK(snap.totals.requests == before);  // nothing lost, nothing twice
    REQUIRE(snap.workers.size() == 1);
    CHECK(snap.slots[1].counters.requests == 10);
    CHECK(snap.slots[1].exits == 1);
    CHECK(snap.slots[1].last_exit.reason == "signal 9 (Killed)");
    CHECK(snap.slots[1].last_exit.signal == 9);
    CHECK(snap.slots[1].last_exit.code == -1);
    CHECK(snap.slots[1].last_exit.at_ms == 1700000000123);
    CHECK(snap.endpoint_latency[std::size_t(Endpoint::hello_inline)].count == 13);

    // Retiring twice (a second reap of the same entry) changes nothing.
    record_exit(sb, sb.entry(1), 0);
    CHECK(take_snapshot(sb).totals.requests == before);

    // The replacement starts from zero; the slot keeps counting up.
    fake_worker(sb, 1, 1, 2003, 4);
    snap = take_snapshot(sb);
    CHECK(snap.slots[1].counters.requests == 14);
    CHECK(snap.totals.requests == before + 4);

    record_exit(sb, sb.entry(1), 3 << 8 /* exit code 3 */);
    snap = take_snapshot(sb);
    CHECK(snap.slots[1].last_exit.reason == "exit code 3");
    CHECK(snap.slots[1].last_exit.code == 3);
    CHECK(snap.slots[1].last_exit.signal == 0);
    CHECK(snap.slots[1].exits == 2);
}

TEST_CASE("describe_wait_status names codes and signals")
{
    int status = 0;
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGUSR1, SIG_DFL);  // terminates, and leaves no core file
        raise(SIGUSR1);
        _exit(1);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(describe_wait_status(status) == "signal 10 (User defined signal 1)");
    CHECK(describe_wait_status(0) == "exit code 0");
    CHECK(describe_wait_status(3 << 8) == "exit code 3");
    CHECK(describe_wait_status(SIGTERM) == "signal 15 (Terminated)");
}

TEST_CASE("sample_master samples live processes and slots")
{
    const int listener = forkd::test::listen_loopback(64);
    REQUIRE(listener >= 0);

    Scoreboard sb(2, 2);
    fake_worker(sb, 0, 1, int(getpid()), 100);  // this process stands in for a worker
    const SlotView views[] = {{0, 0, 0, -1}, {1, getpid(), 3, listener}};
    sample_master(sb, views, 1000000);
    Snapshot snap = take_snapshot(sb, 1000000, monotonic_now_ms());
    REQUIRE(snap.workers.size() == 1);
    CHECK(snap.server.master_sampled);
    CHECK(snap.workers[0].sampled);
    CHECK(snap.workers[0].rss_bytes > 0);
    CHECK(snap.workers[0].requests_per_s == 0);  // no previous sample yet
    CHECK(snap.slots[1].restarts == 3);
    CHECK(snap.slots[1].pid == getpid());
    CHECK(snap.slots[1].accept_backlog == 64);
    CHECK(snap.restarts == 3);

    // 50 more requests in the next 2 seconds: 25 requests/s.
    for (int k = 0; k < 50; ++k)
        record_response(sb.entry(0), Endpoint::hello_inline, 200, 1000);
    sample_master(sb, views, 1002000);
    snap = take_snapshot(sb, 1002000, monotonic_now_ms());
    CHECK(snap.workers[0].requests_per_s == doctest::Approx(25.0));
    CHECK(snap.slots[1].requests_per_s == doctest::Approx(25.0));
    CHECK(snap.workers[0].cpu_percent >= 0);
    close(listener);
}
