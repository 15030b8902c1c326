// stats/scoreboard.hpp: the shared-memory scoreboard: its layout and the hot path.
//
// One anonymous MAP_SHARED mapping, created by the master before it forks
// (every child inherits it), read by anyone (the master's reports, /stats and
// /metrics in any worker). Its parts, in order:
//
//   MasterArea        server-wide figures, written by the master only
//   WorkerEntry[E]    one per worker *process*, written by that worker only
//   ProcessSample[E]  the master's /proc sample of the process in entry i
//   SlotArea[S]       one per worker *slot*, written by the master only
//
// Entries are not slots: during a reload the old and the new worker of one
// slot run side by side, so the master gives each spawned worker a free entry
// (state empty) and records its slot in it. When the master reaps a worker it
// calls record_exit() (stats/sampler.hpp), which folds the entry's counters into
// its slot's "retired" counters and frees the entry, so that per-slot and
// total counters never go backwards across restarts.
//
// Every part is cache-line aligned so that writers never share a line. Every
// field is a lock-free atomic (the mapping is read while it is written); a
// worker updates its counters with relaxed load + store, not a locked
// read-modify-write, because it is their only writer. Rendering, percentiles
// and /proc reading live elsewhere (snapshot, render, sampler, procfs).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "stats/histogram.hpp"
#include "stats/labels.hpp"

namespace forkd::stats {

enum class WorkerState : uint32_t { empty = 0, booting, ready, draining, exited };
const char* to_string(WorkerState);

// The host's state, set by the master only (forkd drain / undrain, and TERM
// for shutdown_delay): while draining, every worker answers /healthz with
// 503 "draining" and closes each keep-alive connection after its current
// response, but still accepts and serves: a load balancer moves traffic away.
enum class HostState : uint32_t { serving = 0, draining };
const char* to_string(HostState);

using Counter = std::atomic<uint64_t>;

// Add to a counter that only the calling thread ever writes: a relaxed load
// and store, no lock prefix. Readers may see the old or the new value.
inline void bump(Counter& counter, uint64_t n = 1)
{
    counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Requests of one endpoint (route and mode): by status code, and latency.
struct alignas(64) EndpointCounters {
    Counter responses[code_count]{};  // index: code_index(status)
    Counter latency_sum_ns{0};
    Counter latency_max_ns{0};
    Counter latency[hist::bucket_count]{};  // index: hist::bucket_of(ns)

    uint64_t requests() const;
    void clear();
};

struct alignas(64) WorkerEntry {
    // Identity and lifecycle: set by the master around spawn and reap, then
    // by the worker. State goes booting -> ready -> draining -> exited, and
    // back to empty (free) when the master records its exit.
    std::atomic<int32_t> pid{0};
    std::atomic<int32_t> slot{-1};  // the worker slot (listening socket) it serves
    std::atomic<uint32_t> generation{0};
    std::atomic<WorkerState> state{WorkerState::empty};
    std::atomic<uint64_t> started_ms{0};    // wall clock, ms since the epoch
    std::atomic<uint64_t> heartbeat_ms{0};  // monotonic (uv_now of the worker's loop)

    // Written by the worker on every response (hot path), and only there.
    Counter requests{0};                 // responses sent
    std::atomic<uint32_t> in_flight{0};  // requests taken, not yet answered
    std::atomic<uint32_t> connections{0};
    Counter bytes_in{0};
    Counter bytes_out{0};

    // Written by the worker once a second (sample_worker).
    std::atomic<uint32_t> offload_threads{0};
    std::atomic<uint32_t> offload_busy{0};
    std::atomic<uint32_t> offload_queued{0};
    std::atomic<uint32_t> accept_queue{0};    // connections waiting in its listeners' queues
    std::atomic<uint32_t> accept_backlog{0};  // their listen() backlog
    Counter closed[closed_reason_count]{};    // connections closed by the server's limits (labels.hpp)
    Counter refused[refused_reason_count]{};  // connections refused: accept() failed

    // Lifecycle signals for the master (master/children.cpp reads them).
    std::atomic<uint32_t> recycle_wanted{0};  // 1: the worker reached max_requests
    // Busy steering: connections this worker accepted from a busy sibling's
    // queue (worker/takeover.cpp), counted where they are accepted.
    Counter taken_over{0};
    std::atomic<uint64_t> request_started_ms{0};  // monotonic ms; 0: no request on the loop
    std::atomic<char> request[112]{};             // "GET /fib/45?mode=inline": the watchdog names it

    uint32_t index = 0;  // position in the mapping; set once, at mapping time

    EndpointCounters endpoints[endpoint_count];

    // Clear every figure for a new worker (the master, before the fork).
    void reset(int32_t new_slot, uint32_t new_generation, uint64_t now_ms);
};

// One response, on the worker's loop thread (app/accounting.cpp). No locks,
// no allocation, no system call: an index computation and a few stores.
// `endpoint` is the app's index (labels.hpp); one past the room counts in
// the last set.
inline void record_response(WorkerEntry& e, std::size_t endpoint, int status, uint64_t duration_ns)
{
    bump(e.requests);
    EndpointCounters& c = e.endpoints[endpoint < endpoint_count ? endpoint : endpoint_count - 1];
    bump(c.responses[code_index(status)]);
    bump(c.latency_sum_ns, duration_ns);
    bump(c.latency[hist::bucket_of(duration_ns)]);
    if (duration_ns > c.latency_max_ns.load(std::memory_order_relaxed))
        c.latency_max_ns.store(duration_ns, std::memory_order_relaxed);
}

// The worker's connection counts (its tick and its exit): totals since it
// started, stored whole.
inline void store_connection_counts(WorkerEntry& e, const ConnectionCounts& counts)
{
    for (std::size_t i = 0; i < closed_reason_count; ++i)
        e.closed[i].store(counts.closed[i], std::memory_order_relaxed);
    for (std::size_t i = 0; i < refused_reason_count; ++i)
        e.refused[i].store(counts.refused[i], std::memory_order_relaxed);
}

// The request the worker's loop is busy with, for the master's watchdog
// ("GET /fib/45?mode=inline", cut to fit): set when the app takes a request,
// cleared (loop_busy_done) when the app returns to the loop. A few byte
// stores; a torn read can only garble the watchdog's log line.
inline void loop_busy_with(WorkerEntry& e, std::string_view method, std::string_view target, uint64_t now_ms)
{
    constexpr auto r = std::memory_order_relaxed;
    constexpr std::size_t room = sizeof e.request - 1;
    std::size_t n = 0;
    for (char c : method) {
        if (n < room)
            e.request[n++].store(c, r);
    }
    if (n < room)
        e.request[n++].store(' ', r);
    for (char c : target) {
        if (n >= room)
            break;
        e.request[n++].store(c, r);
    }
    e.request[n].store('\0', r);
    e.request_started_ms.store(now_ms, r);
}

inline void loop_busy_done(WorkerEntry& e)
{
    e.request_started_ms.store(0, std::memory_order_relaxed);
}

// The worker's once-a-second figures (worker/worker.cpp's tick): gauges
// only; the counters are stored where they change (app/accounting.cpp).
struct WorkerTick {
    uint32_t offload_threads = 0;
    uint32_t offload_busy = 0;
    uint32_t offload_queued = 0;
    std::span<const int> listen_fds;  // empty once the worker stopped accepting
};
// Store them; reads the accept queue of listen_fds (getsockopt, once a second).
void sample_worker(WorkerEntry& e, const WorkerTick& tick);

// The master's sample of the process in one entry (sample_master()).
struct alignas(64) ProcessSample {
    std::atomic<int32_t> pid{0};  // the process these figures belong to
    std::atomic<uint64_t> rss_bytes{0};
    std::atomic<uint64_t> cpu_ms{0};        // user + system
    std::atomic<uint32_t> cpu_permille{0};  // CPU time / wall time since the last sample, x1000
    std::atomic<uint64_t> requests_per_s_milli{0};
    // The previous sample, for the rates.
    std::atomic<uint64_t> prev_ms{0};
    std::atomic<uint64_t> prev_cpu_ms{0};
    std::atomic<uint64_t> prev_requests{0};
};

constexpr std::size_t exit_text_size = 96;
constexpr std::size_t config_path_size = 512;

// Per slot, written by the master only.
struct alignas(64) SlotArea {
    std::atomic<int32_t> pid{0};  // its worker now (0: none)
    std::atomic<uint32_t> restarts{0};
    std::atomic<uint32_t> exits{0};                 // workers of this slot retired
    std::atomic<int32_t> last_exit_code{-1};        // -1: none, or killed by a signal
    std::atomic<int32_t> last_exit_signal{0};       // 0: none
    std::atomic<uint64_t> last_exit_ms{0};          // wall clock; 0: never
    std::atomic<char> last_exit[exit_text_size]{};  // "signal 9 (Killed)"; under MasterArea::seq
    std::atomic<uint32_t> accept_queue{0};          // its listening socket, sampled by the master
    std::atomic<uint32_t> accept_backlog{0};
    std::atomic<uint64_t> requests_per_s_milli{0};
    std::atomic<uint64_t> prev_ms{0};
    std::atomic<uint64_t> prev_requests{0};

    // Busy steering (master/steering.cpp): whether new connections are kept
    // off this slot now because its worker's loop is blocked, since when
    // (monotonic ms), how many times that began, and the busy time of the
    // episodes that ended (busy_ms_now() adds the running one).
    std::atomic<uint32_t> busy{0};
    std::atomic<uint64_t> busy_since_ms{0};
    Counter busy_episodes{0};
    Counter busy_ms{0};
    uint64_t busy_ms_now(uint64_t now_ms) const;

    // The counters of this slot's workers that have exited (record_exit()).
    Counter retired_requests{0};
    Counter retired_bytes_in{0};
    Counter retired_bytes_out{0};
    Counter retired_closed[closed_reason_count]{};
    Counter retired_refused[refused_reason_count]{};
    Counter retired_taken_over{0};
    EndpointCounters retired[endpoint_count];
};

// Server-wide, written by the master only.
struct alignas(64) MasterArea {
    // A sequence lock around what can tear or be counted twice: record_exit()
    // (counters move from an entry to its slot) and the text fields. Odd
    // while the master writes; readers retry when it changed under them.
    std::atomic<uint64_t> seq{0};
    std::atomic<uint64_t> started_ms{0};  // wall clock
    std::atomic<int32_t> master_pid{0};
    std::atomic<uint32_t> generation{0};
    std::atomic<uint32_t> workers_target{0};
    std::atomic<uint32_t> slots_used{0};  // highest slot index seen + 1
    std::atomic<uint64_t> sampled_ms{0};  // last sample_master(), wall clock
    std::atomic<HostState> host_state{HostState::serving};
    std::atomic<uint64_t> host_state_since_ms{0};  // wall clock of the last change; 0: never changed
    std::atomic<char> config_path[config_path_size]{};
    uint32_t entry_count = 0;  // fixed at mapping time
    uint32_t slot_count = 0;
};

class Scoreboard {
public:
    // Map `entries` worker entries and `slots` slot areas (0: as many as
    // entries) of shared anonymous memory, before forking. Records this
    // process as the master and now as the start time. Throws std::system_error.
    explicit Scoreboard(std::size_t entries, std::size_t slots = 0);
    // A view of the mapping that holds `entry` (a worker finds the whole
    // board from its own entry). Does not unmap.
    static Scoreboard attach(WorkerEntry& entry);

    ~Scoreboard();
    Scoreboard(Scoreboard&& other) noexcept;
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;
    Scoreboard& operator=(Scoreboard&&) = delete;

    WorkerEntry& entry(std::size_t i) { return entries_[i]; }
    const WorkerEntry& entry(std::size_t i) const { return entries_[i]; }
    std::size_t size() const { return entry_count_; }

    ProcessSample& sample(std::size_t i) { return samples_[i]; }
    const ProcessSample& sample(std::size_t i) const { return samples_[i]; }
    SlotArea& slot(std::size_t i) { return slots_[i]; }
    const SlotArea& slot(std::size_t i) const { return slots_[i]; }
    std::size_t slots() const { return slot_count_; }
    MasterArea& master() { return *master_; }
    const MasterArea& master() const { return *master_; }

private:
    Scoreboard() = default;
    void locate(void* base);

    void* base_ = nullptr;
    std::size_t bytes_ = 0;  // nonzero: this object owns the mapping
    MasterArea* master_ = nullptr;
    WorkerEntry* entries_ = nullptr;
    ProcessSample* samples_ = nullptr;
    SlotArea* slots_ = nullptr;
    std::size_t entry_count_ = 0;
    std::size_t slot_count_ = 0;
};

// Copy a text field in or out of shared memory (always NUL-terminated).
void store_text(std::atomic<char>* dst, std::size_t size, const char* src, std::size_t len);
std::string load_text(const std::atomic<char>* src, std::size_t size);

// The clocks of the board's figures, in milliseconds: wall time for the
// times people read (start, last exit), monotonic for ages and rates.
uint64_t wall_now_ms();
uint64_t monotonic_now_ms();

}  // namespace forkd::stats
