// stats/snapshot.hpp: a consistent plain-data copy of the scoreboard.
//
// Owns reading the shared mapping (under the master's sequence lock, so that
// a worker being retired is never counted twice) into ordinary structs that
// the renderers (JSON, Prometheus, the master's log line) turn into text.
// Renderers are pure functions of a Snapshot, so tests build one by hand.
// Histograms are merged here: per worker process (all its endpoints), and per
// endpoint (all workers, live and retired). Never on the hot path.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "stats/histogram.hpp"
#include "stats/labels.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::stats {

// Responses of one endpoint by status code, and their latency.
struct EndpointTotals {
    std::array<uint64_t, code_count> responses{};
    uint64_t latency_sum_ns = 0;
    uint64_t latency_max_ns = 0;

    uint64_t requests() const;
    void merge(const EndpointTotals& other);
};

// What every counting thing has: requests, bytes, per endpoint.
struct Totals {
    uint64_t requests = 0;
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    ConnectionCounts connections;  // closed by the server's limits, refused
    uint64_t taken_over = 0;       // connections accepted from a busy sibling's queue
    std::array<EndpointTotals, endpoint_count> endpoints{};

    // Responses per status class: [0] is 1xx ... [4] is 5xx.
    std::array<uint64_t, 5> by_class() const;
    void merge(const Totals& other);
};

// One live worker process (a non-empty entry).
struct WorkerSnapshot {
    std::size_t entry = 0;
    int pid = 0;
    int slot = 0;
    uint32_t generation = 0;
    WorkerState state = WorkerState::empty;
    uint64_t started_ms = 0;        // wall clock
    uint64_t heartbeat_age_ms = 0;  // since its loop last ticked
    uint32_t in_flight = 0;
    uint32_t connections = 0;
    uint32_t offload_threads = 0;
    uint32_t offload_busy = 0;
    uint32_t offload_queued = 0;
    uint32_t accept_queue = 0;
    uint32_t accept_backlog = 0;
    bool busy = false;  // its slot is steered around: its loop is blocked
    Totals counters;    // since this process started
    Histogram latency;  // all its endpoints

    // The master's /proc sample; `sampled` is false until one was taken for this pid.
    bool sampled = false;
    uint64_t rss_bytes = 0;
    uint64_t cpu_ms = 0;
    double cpu_percent = 0;
    double requests_per_s = 0;
};

struct LastExit {
    std::string reason;  // "signal 9 (Killed)"; empty: none yet
    int code = -1;       // exit code, or -1 (killed by a signal)
    int signal = 0;
    uint64_t at_ms = 0;  // wall clock
};

// One worker slot: the master's figures, and counters since the server started.
struct SlotSnapshot {
    int slot = 0;
    int pid = 0;
    uint32_t restarts = 0;
    uint32_t exits = 0;
    LastExit last_exit;
    uint32_t accept_queue = 0;
    uint32_t accept_backlog = 0;
    double requests_per_s = 0;
    bool busy = false;           // new connections are steered away from it now
    uint64_t busy_ms = 0;        // time steered away, all episodes (the running one too)
    uint64_t busy_episodes = 0;  // how many times it became busy
    Totals counters;             // retired workers plus the live ones of this slot
};

struct ServerSnapshot {
    std::string version;
    int master_pid = 0;
    uint64_t started_ms = 0;
    uint64_t now_ms = 0;  // wall clock when the snapshot was taken
    uint32_t generation = 0;
    uint32_t workers_target = 0;
    std::string config_path;
    bool master_sampled = false;                // sample_master() has run at least once
    HostState host_state = HostState::serving;  // forkd drain / undrain, TERM's shutdown_delay
    uint64_t host_state_since_ms = 0;           // wall clock; 0: never changed
};

struct Snapshot {
    ServerSnapshot server;
    std::vector<WorkerSnapshot> workers;                       // in entry order
    std::vector<SlotSnapshot> slots;                           // slots 0 .. slots_used - 1
    Totals totals;                                             // since the server started (retired + live)
    std::array<Histogram, endpoint_count> endpoint_latency{};  // since the server started
    uint64_t restarts = 0;                                     // all slots

    Histogram latency() const;  // all endpoints merged
    uint32_t workers_in(WorkerState state) const;
};

// Copy the board. `now_ms` is the wall clock, `mono_now_ms` CLOCK_MONOTONIC
// (for heartbeat ages: heartbeats are uv_now() of the workers' loops).
Snapshot take_snapshot(const Scoreboard& board, uint64_t now_ms, uint64_t mono_now_ms);
// The same with the clocks read now.
Snapshot take_snapshot(const Scoreboard& board);

// Read one endpoint's counters (and its histogram, when `latency` is given).
EndpointTotals load_endpoint(const EndpointCounters& c, Histogram* latency);

}  // namespace forkd::stats
