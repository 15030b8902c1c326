// Unit tests for stats/report.cpp: the master's log lines.
#include <doctest/doctest.h>

#include <string>

#include "stats/report.hpp"
#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/board_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;
using board_fixture::fake_worker;

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
