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

void WorkerSlot::reset(int32_t new_pid, uint32_t new_generation, uint64_t now_ms)
{
    constexpr auto r = std::memory_order_relaxed;
    requests.store(0, r);
    in_flight.store(0, r);
    connections.store(0, r);
    heartbeat_ms.store(0, r);
    started_ms.store(now_ms, r);
    generation.store(new_generation, r);
    pid.store(new_pid, r);
    state.store(WorkerState::booting, std::memory_order_release);
}

Scoreboard::Scoreboard(std::size_t slots) : size_(slots)
{
    static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
    void* p = mmap(nullptr, sizeof(WorkerSlot) * slots, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap scoreboard");
    slots_ = static_cast<WorkerSlot*>(p);
    for (std::size_t i = 0; i < slots; ++i)
        new (&slots_[i]) WorkerSlot();
}

Scoreboard::~Scoreboard()
{
    munmap(slots_, sizeof(WorkerSlot) * size_);
}

}  // namespace forkd::stats
