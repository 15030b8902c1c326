// stats/scoreboard.hpp: shared memory, one cache line (or more) per worker slot.
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

struct alignas(64) WorkerSlot {
    std::atomic<int32_t> pid{0};
    std::atomic<uint32_t> generation{0};
    std::atomic<WorkerState> state{WorkerState::empty};
    std::atomic<uint64_t> started_ms{0};       // wall clock, ms since the epoch
    std::atomic<uint64_t> heartbeat_ms{0};     // monotonic (uv_now of the worker's loop)
    std::atomic<uint64_t> requests{0};
    std::atomic<uint32_t> in_flight{0};
    std::atomic<uint32_t> connections{0};

    // Relaxed: these are statistics, no other memory is published through them.
    void add(std::atomic<uint64_t>& counter, uint64_t n = 1) { counter.fetch_add(n, std::memory_order_relaxed); }
    void reset(int32_t new_pid, uint32_t new_generation, uint64_t now_ms);
};

class Scoreboard {
public:
    // Map `slots` slots of shared anonymous memory. Throws std::system_error.
    explicit Scoreboard(std::size_t slots);
    ~Scoreboard();
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;

    WorkerSlot& slot(std::size_t i) { return slots_[i]; }
    const WorkerSlot& slot(std::size_t i) const { return slots_[i]; }
    std::size_t size() const { return size_; }

private:
    WorkerSlot* slots_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace forkd::stats
