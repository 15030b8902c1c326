// Unit tests for stats/snapshot.cpp, sampler.cpp and report.cpp: reading the
// board, the master's samples, retiring workers, and the master's log lines.
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
#include "tests/unit/stats/endpoint_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;

namespace {

// A "worker" in entry i of slot s, with n hello requests of `ns` each.
void fake_worker(Scoreboard& sb, std::size_t i, int slot, int pid, int n, uint64_t ns = 10000)
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

}  // namespace

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

TEST_CASE("retire moves a worker's counters to its slot and frees the entry")
{
    Scoreboard sb(4, 2);
    fake_worker(sb, 1, 1, 2001, 10);
    fake_worker(sb, 2, 0, 2002, 3);
    const uint64_t before = take_snapshot(sb).totals.requests;

    retire(sb, sb.entry(1), 9 /* killed by SIGKILL */, 1700000000123);
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
    retire(sb, sb.entry(1), 0);
    CHECK(take_snapshot(sb).totals.requests == before);

    // The replacement starts from zero; the slot keeps counting up.
    fake_worker(sb, 1, 1, 2003, 4);
    snap = take_snapshot(sb);
    CHECK(snap.slots[1].counters.requests == 14);
    CHECK(snap.totals.requests == before + 4);

    retire(sb, sb.entry(1), 3 << 8 /* exit code 3 */);
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

TEST_CASE("the master's summary line covers the interval since the last one")
{
    Scoreboard sb(3, 2);
    set_server(sb, ServerInfo{"", 1, 2});
    fake_worker(sb, 0, 0, 3001, 100, 20000);
    fake_worker(sb, 1, 1, 3002, 300, 20000);
    Reporter reporter;
    const uint64_t t0 = sb.master().started_ms.load() + 10000;
    Reporter::Report r = reporter.report(sb, t0);
    CAPTURE(r.line);
    CHECK(r.line.find("stats: 2/2 workers ready, 40.0 req/s") == 0);  // 400 in 10 s
    CHECK(r.line.find("p95 20 us") != std::string::npos);
    CHECK(r.line.find("0 restarts") != std::string::npos);
    CHECK(r.line.find("busiest worker 1 (30.0 req/s), idlest worker 0 (10.0 req/s)") != std::string::npos);
    CHECK(r.status == "2/2 workers, 40.0 req/s, p95 20 us, 0 restarts");

    // Next interval: 10 s, only slot 0 busy, and slower.
    for (int k = 0; k < 200; ++k)
        record_response(sb.entry(0), Endpoint::hello_inline, 200, 3000000);
    r = reporter.report(sb, t0 + 10000);
    CAPTURE(r.line);
    CHECK(r.line.find("20.0 req/s") != std::string::npos);
    CHECK(r.line.find("p95 2.9") != std::string::npos);  // 3 ms, within the bucket error
    CHECK(r.line.find("busiest worker 0 (20.0 req/s), idlest worker 1 (0.0 req/s)") != std::string::npos);
}

TEST_CASE("exit_line gives a worker's final counters")
{
    Scoreboard sb(1);
    fake_worker(sb, 0, 2, 4242, 10, 50000);
    record_response(sb.entry(0), Endpoint::other, 404, 1000);
    record_response(sb.entry(0), Endpoint::fib_offload, 503, 1000);
    sb.entry(0).started_ms.store(1000000);
    const std::string line = exit_line(sb.entry(0), 1012500);
    CAPTURE(line);
    CHECK(line.find("worker 2 (pid 4242, generation 1) served 12 requests in 12.5 s: "
                    "2xx 10, 3xx 0, 4xx 1, 5xx 1; 1.0 kB in, 1.5 kB out; latency p50 ") == 0);
    CHECK(line.find("max 50 us") != std::string::npos);
}

TEST_CASE("durations and sizes read naturally")
{
    CHECK(format_duration(850) == "850 ns");
    CHECK(format_duration(52000) == "52 us");
    CHECK(format_duration(1020000) == "1.02 ms");
    CHECK(format_duration(2500000000) == "2.50 s");
    CHECK(format_bytes(512) == "512 B");
    CHECK(format_bytes(1200) == "1.2 kB");
    CHECK(format_bytes(3400000) == "3.4 MB");
}
