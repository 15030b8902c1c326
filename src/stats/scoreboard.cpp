// stats/scoreboard.cpp: the shared mapping, its layout, resets and the worker's tick.
//
// Owns mmap/munmap of the board and where each part lies in it. Must not
// read /proc or render anything (sampler.cpp, snapshot.cpp, render_*.cpp).
#include "stats/scoreboard.hpp"

#include <ctime>
#include <new>
#include <system_error>

#include <sys/mman.h>
#include <unistd.h>

#include "stats/procfs.hpp"

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

const char* to_string(HostState s)
{
    switch (s) {
    case HostState::serving: return "serving";
    case HostState::draining: return "draining";
    }
    return "unknown";
}

uint64_t EndpointCounters::requests() const
{
    uint64_t n = 0;
    for (const Counter& c : responses)
        n += c.load(std::memory_order_relaxed);
    return n;
}

void EndpointCounters::clear()
{
    constexpr auto r = std::memory_order_relaxed;
    for (Counter& c : responses)
        c.store(0, r);
    latency_sum_ns.store(0, r);
    latency_max_ns.store(0, r);
    for (Counter& c : latency)
        c.store(0, r);
}

void WorkerEntry::reset(int32_t new_slot, uint32_t new_generation, uint64_t now_ms)
{
    constexpr auto r = std::memory_order_relaxed;
    requests.store(0, r);
    in_flight.store(0, r);
    connections.store(0, r);
    bytes_in.store(0, r);
    bytes_out.store(0, r);
    offload_threads.store(0, r);
    offload_busy.store(0, r);
    offload_queued.store(0, r);
    accept_queue.store(0, r);
    accept_backlog.store(0, r);
    for (Counter& c : closed)
        c.store(0, r);
    for (Counter& c : refused)
        c.store(0, r);
    for (EndpointCounters& c : endpoints)
        c.clear();
    heartbeat_ms.store(0, r);
    recycle_wanted.store(0, r);
    taken_over.store(0, r);
    request_started_ms.store(0, r);
    request[0].store('\0', r);
    started_ms.store(now_ms, r);
    generation.store(new_generation, r);
    slot.store(new_slot, r);
    pid.store(0, r);
    state.store(WorkerState::booting, std::memory_order_release);
}

void sample_worker(WorkerEntry& e, const WorkerTick& tick)
{
    constexpr auto r = std::memory_order_relaxed;
    e.offload_threads.store(tick.offload_threads, r);
    e.offload_busy.store(tick.offload_busy, r);
    e.offload_queued.store(tick.offload_queued, r);
    uint32_t queued = 0;
    uint32_t backlog = 0;
    for (int fd : tick.listen_fds) {
        AcceptQueue q;
        if (read_accept_queue(fd, q)) {
            queued += q.queued;
            backlog += q.backlog;
        }
    }
    e.accept_queue.store(queued, r);
    e.accept_backlog.store(backlog, r);
}

namespace {

// Each part's size is a multiple of 64 (alignas), so each starts on a line.
std::size_t mapping_bytes(std::size_t entries, std::size_t slots)
{
    return sizeof(MasterArea) + entries * (sizeof(WorkerEntry) + sizeof(ProcessSample)) + slots * sizeof(SlotArea);
}

}  // namespace

void Scoreboard::locate(void* base)
{
    base_ = base;
    auto* p = static_cast<char*>(base);
    master_ = reinterpret_cast<MasterArea*>(p);
    entry_count_ = master_->entry_count;
    slot_count_ = master_->slot_count;
    p += sizeof(MasterArea);
    entries_ = reinterpret_cast<WorkerEntry*>(p);
    p += entry_count_ * sizeof(WorkerEntry);
    samples_ = reinterpret_cast<ProcessSample*>(p);
    p += entry_count_ * sizeof(ProcessSample);
    slots_ = reinterpret_cast<SlotArea*>(p);
}

Scoreboard::Scoreboard(std::size_t entries, std::size_t slots)
{
    static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");
    static_assert(std::atomic<WorkerState>::is_always_lock_free);
    static_assert(std::atomic<char>::is_always_lock_free);
    static_assert(sizeof(MasterArea) % 64 == 0 && sizeof(WorkerEntry) % 64 == 0 && sizeof(ProcessSample) % 64 == 0 &&
                  sizeof(SlotArea) % 64 == 0);
    if (slots == 0)
        slots = entries;
    const std::size_t bytes = mapping_bytes(entries, slots);
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        throw std::system_error(errno, std::generic_category(), "mmap scoreboard");
    bytes_ = bytes;
    auto* master = new (p) MasterArea();
    master->entry_count = uint32_t(entries);
    master->slot_count = uint32_t(slots);
    locate(p);
    for (std::size_t i = 0; i < entries; ++i) {
        new (&entries_[i]) WorkerEntry();
        entries_[i].index = uint32_t(i);
        new (&samples_[i]) ProcessSample();
    }
    for (std::size_t i = 0; i < slots; ++i)
        new (&slots_[i]) SlotArea();
    master_->started_ms.store(wall_now_ms());
    master_->master_pid.store(int32_t(getpid()));
    master_->generation.store(1);
}

Scoreboard Scoreboard::attach(WorkerEntry& entry)
{
    // The entries follow the master area directly, and every entry knows
    // its index: that is enough to find the start of the mapping.
    auto* first = &entry - entry.index;
    Scoreboard view;
    view.locate(reinterpret_cast<char*>(first) - sizeof(MasterArea));
    return view;
}

Scoreboard::Scoreboard(Scoreboard&& other) noexcept
    : base_(other.base_), bytes_(other.bytes_), master_(other.master_), entries_(other.entries_),
      samples_(other.samples_), slots_(other.slots_), entry_count_(other.entry_count_), slot_count_(other.slot_count_)
{
    other.bytes_ = 0;  // the moved-from object no longer owns the mapping
}

Scoreboard::~Scoreboard()
{
    if (bytes_ != 0)
        munmap(base_, bytes_);
}

void store_text(std::atomic<char>* dst, std::size_t size, const char* src, std::size_t len)
{
    if (size == 0)
        return;
    if (len > size - 1)
        len = size - 1;
    for (std::size_t i = 0; i < len; ++i)
        dst[i].store(src[i], std::memory_order_relaxed);
    dst[len].store('\0', std::memory_order_relaxed);
}

std::string load_text(const std::atomic<char>* src, std::size_t size)
{
    std::string out;
    for (std::size_t i = 0; i < size; ++i) {
        char c = src[i].load(std::memory_order_relaxed);
        if (c == '\0')
            break;
        out += c;
    }
    return out;
}

namespace {

uint64_t clock_ms(clockid_t clock)
{
    timespec ts;
    clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

}  // namespace

uint64_t wall_now_ms()
{
    return clock_ms(CLOCK_REALTIME);
}

uint64_t SlotArea::busy_ms_now(uint64_t now_ms) const
{
    constexpr auto r = std::memory_order_relaxed;
    const uint64_t since = busy_since_ms.load(r);
    const uint64_t running = busy.load(r) != 0 && now_ms > since ? now_ms - since : 0;
    return busy_ms.load(r) + running;
}

uint64_t monotonic_now_ms()
{
    return clock_ms(CLOCK_MONOTONIC);
}

}  // namespace forkd::stats
