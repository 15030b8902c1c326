// stats/report.hpp: the master's log lines about workers.
//
// Owns the text of the periodic summary (every stats.interval seconds: workers
// ready/target, requests/s, p95 latency, restarts, busiest and idlest worker,
// over the interval since the previous summary), its short form for systemd's
// STATUS=, and the line that gives a reaped worker's final counters. Pure
// text from the board; the master decides when to log and notify.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "stats/scoreboard.hpp"
#include "stats/snapshot.hpp"

namespace forkd::stats {

class Reporter {
public:
    struct Report {
        std::string line;    // for the log
        std::string status;  // for sd_notify STATUS=
    };

    // Summarise the interval since the previous call (the first one: since the
    // server started). `now_ms`: wall clock.
    Report report(const Scoreboard& board, uint64_t now_ms);
    Report report(const Scoreboard& board);
    // The same from a snapshot (for tests).
    Report report(const Snapshot& snap);

private:
    bool primed_ = false;
    uint64_t prev_ms_ = 0;
    uint64_t prev_requests_ = 0;
    std::vector<uint64_t> prev_slot_requests_;
    Histogram prev_latency_;
};

// A reaped worker's final counters, from its entry (call before record_exit()):
// "worker 1 (pid 4242, generation 1) served 5000 requests in 12.3 s: 2xx 4990,
// 4xx 10, 5xx 0; 1.2 MB in, 3.4 MB out; latency p50 52 us, p95 210 us, p99
// 1.02 ms, max 3.10 ms". `now_ms`: wall clock.
std::string exit_line(const WorkerEntry& entry, uint64_t now_ms);
std::string exit_line(const WorkerEntry& entry);

// "850 ns", "52 us", "1.02 ms", "2.50 s".
std::string format_duration(uint64_t ns);
// "512 B", "1.2 kB", "3.4 MB", "1.0 GB".
std::string format_bytes(uint64_t bytes);

}  // namespace forkd::stats
