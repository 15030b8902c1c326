// stats/scoreboard.hpp: shared memory, one cache line (or more) per worker process.
//
// Entries are not worker slots: during a reload the old and the new worker
// of one slot run side by side, so the master gives each spawned worker a
// free entry and records its slot in it.
//
// Created by the master before it forks (an anonymous MAP_SHARED mapping that
// every child inherits). Each slot is written only by the worker in it, with
// relaxed atomics, and read by anyone (the master, /stats). Slots are
// cache-line aligned so workers never share a line.
// Owns the layout only; rendering and the master's own figures live elsewhere.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace forkd::stats {

enum class WorkerState : uint32_t { empty = 0, booting, ready, draining, exited };
const char* to_string(WorkerState);

struct alignas(64) WorkerEntry {
    std::atomic<int32_t> pid{0};
    std::atomic<int32_t> slot{-1};             // the worker slot (listening socket) it serves
    std::atomic<uint32_t> generation{0};
    std::atomic<WorkerState> state{WorkerState::empty};
    std::atomic<uint64_t> started_ms{0};       // wall clock, ms since the epoch
    std::atomic<uint64_t> heartbeat_ms{0};     // monotonic (uv_now of the worker's loop)
    std::atomic<uint64_t> requests{0};
    std::atomic<uint32_t> in_flight{0};
    std::atomic<uint32_t> connections{0};

    // Relaxed: these are statistics, no other memory is published through them.
    void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
    void reset(int32_t new_slot, uint32_t new_generation, uint64_t now_ms);
};

class Scoreboard {
public:
    // Map `entries` entries of shared anonymous memory. Throws std::system_error.
    explicit Scoreboard(std::size_t entries);
    ~Scoreboard();
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;

    WorkerEntry& entry(std::size_t i) { return entries_[i]; }
    const WorkerEntry& entry(std::size_t i) const { return entries_[i]; }
    std::size_t size() const { return size_; }

private:
    WorkerEntry* entries_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace forkd::stats
