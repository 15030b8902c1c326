// stats/scoreboard.cpp: the shared mapping and slot resets.
#include "stats/scoreboard.hpp"

#include <new>
#include <system_error>

#include <sys/mman.h>

namespace forkd::stats {

const char* to_string(WorkerState s)
{
    switch (s) {
    case WorkerState::empty: return "empty";
    case WorkerState::booting: return "booting";
    case WorkerState::ready: return "ready";
    case WorkerState::draining: return "draining";
    case WorkerState::exited: return "exited";
    }
    return "unknown";
}

void WorkerEntry::reset(int32_t new_slot, uint32_t new_generation, uint64_t now_ms)
{
    constexpr auto r = std::memory_order_relaxed;
    requests.store(0, r);
    in_flight.store(0, r);
    connections.store(0, r);
    heartbeat_ms.store(0, r);
    started_ms.store(now_ms, r);
    generation.store(new_generation, r);
    slot.store(new_slot, r);
    pid.store(0, r);
    state.store(WorkerState::booting, std::memory_order_release);
}

Scoreboard::Scoreboard(std::size_t entries) : size_(entries)
{
    static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
    void* p = mmap(nullptr, sizeof(WorkerEntry) * entries, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap scoreboard");
    entries_ = static_cast<WorkerEntry*>(p);
    for (std::size_t i = 0; i < entries; ++i)
        new (&entries_[i]) WorkerEntry();
}

Scoreboard::~Scoreboard()
{
    munmap(entries_, sizeof(WorkerEntry) * size_);
}

}  // namespace forkd::stats
