// stats/sampler.cpp: the master's writes into the board (sampler.hpp).
//
// The master is the only writer of MasterArea, SlotArea and ProcessSample, so
// plain relaxed stores suffice, except where a reader could see a half-made
// change: text fields and record_exit(), which go under MasterArea::seq.
#include "stats/sampler.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include <sys/wait.h>

#include "stats/procfs.hpp"
#include "stats/snapshot.hpp"

namespace forkd::stats {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// The writer's half of the sequence lock.
class WriteLock {
public:
    explicit WriteLock(MasterArea& m) : m_(m)
    {
        m_.seq.store(m_.seq.load(relaxed) + 1, relaxed);  // odd: readers retry
        std::atomic_thread_fence(std::memory_order_release);
    }
    ~WriteLock() { m_.seq.store(m_.seq.load(relaxed) + 1, std::memory_order_release); }
    WriteLock(const WriteLock&) = delete;
    WriteLock& operator=(const WriteLock&) = delete;

private:
    MasterArea& m_;
};

void note_slot_used(MasterArea& m, int slot, std::size_t capacity)
{
    if (slot < 0 || std::size_t(slot) >= capacity)
        return;
    if (uint32_t(slot) + 1 > m.slots_used.load(relaxed))
        m.slots_used.store(uint32_t(slot) + 1, relaxed);
}

void fold(EndpointCounters& into, const EndpointCounters& from)
{
    for (std::size_t i = 0; i < code_count; ++i)
        bump(into.responses[i], from.responses[i].load(relaxed));
    bump(into.latency_sum_ns, from.latency_sum_ns.load(relaxed));
    into.latency_max_ns.store(std::max(into.latency_max_ns.load(relaxed), from.latency_max_ns.load(relaxed)), relaxed);
    for (std::size_t i = 0; i < hist::bucket_count; ++i) {
        const uint64_t n = from.latency[i].load(relaxed);
        if (n != 0)
            bump(into.latency[i], n);
    }
}

// Per-second rate over the time since the previous sample, in thousandths.
uint64_t rate_milli(uint64_t now_count, uint64_t prev_count, uint64_t now_ms, uint64_t prev_ms)
{
    if (prev_ms == 0 || now_ms <= prev_ms || now_count < prev_count)
        return 0;
    return (now_count - prev_count) * 1000 * 1000 / (now_ms - prev_ms);
}

void sample_process(ProcessSample& p, const WorkerEntry& e, uint64_t now_ms)
{
    const int32_t pid = e.pid.load(relaxed);
    const uint64_t requests = e.requests.load(relaxed);
    if (pid <= 0)
        return;
    ProcUsage usage;
    if (!read_proc_usage(pid, usage))
        return;
    if (p.pid.load(relaxed) != pid) {
        // A new process in this entry: start its rates afresh.
        p.pid.store(pid, relaxed);
        p.prev_ms.store(0, relaxed);
    }
    const uint64_t prev_ms = p.prev_ms.load(relaxed);
    if (prev_ms != 0 && now_ms > prev_ms) {
        const uint64_t cpu_delta = usage.cpu_ms - std::min(usage.cpu_ms, p.prev_cpu_ms.load(relaxed));
        p.cpu_permille.store(uint32_t(cpu_delta * 1000 / (now_ms - prev_ms)), relaxed);
        p.requests_per_s_milli.store(rate_milli(requests, p.prev_requests.load(relaxed), now_ms, prev_ms), relaxed);
    } else {
        p.cpu_permille.store(0, relaxed);
        p.requests_per_s_milli.store(0, relaxed);
    }
    p.rss_bytes.store(usage.rss_bytes, relaxed);
    p.cpu_ms.store(usage.cpu_ms, relaxed);
    p.prev_cpu_ms.store(usage.cpu_ms, relaxed);
    p.prev_requests.store(requests, relaxed);
    p.prev_ms.store(now_ms, relaxed);
}

}  // namespace

void set_server(Scoreboard& board, const ServerInfo& info)
{
    MasterArea& m = board.master();
    WriteLock lock(m);
    store_text(m.config_path, config_path_size, info.config_path.data(), info.config_path.size());
    m.generation.store(info.generation, relaxed);
    m.workers_target.store(info.workers_target, relaxed);
    if (info.workers_target > 0)
        note_slot_used(m, int(info.workers_target) - 1, board.slots());
}

void sample_master(Scoreboard& board, std::span<const SlotView> slots, uint64_t now_ms)
{
    MasterArea& m = board.master();
    for (std::size_t i = 0; i < board.size(); ++i) {
        const WorkerEntry& e = board.entry(i);
        if (e.state.load(std::memory_order_acquire) != WorkerState::empty)
            sample_process(board.sample(i), e, now_ms);
    }
    for (const SlotView& v : slots) {
        if (v.slot < 0 || std::size_t(v.slot) >= board.slots())
            continue;
        note_slot_used(m, v.slot, board.slots());
        SlotArea& a = board.slot(std::size_t(v.slot));
        a.pid.store(int32_t(v.pid), relaxed);
        a.restarts.store(uint32_t(std::max(v.restarts, 0)), relaxed);
        AcceptQueue q;
        if (v.listen_fd >= 0 && read_accept_queue(v.listen_fd, q)) {
            a.accept_queue.store(q.queued, relaxed);
            a.accept_backlog.store(q.backlog, relaxed);
        }
    }
    // Per-slot request rates, from the slot's counters since the start
    // (retired plus live): they survive restarts and reloads.
    const Snapshot snap = take_snapshot(board, now_ms, monotonic_now_ms());
    for (const SlotSnapshot& s : snap.slots) {
        SlotArea& a = board.slot(std::size_t(s.slot));
        const uint64_t prev_ms = a.prev_ms.load(relaxed);
        a.requests_per_s_milli.store(rate_milli(s.counters.requests, a.prev_requests.load(relaxed), now_ms, prev_ms),
                                     relaxed);
        a.prev_requests.store(s.counters.requests, relaxed);
        a.prev_ms.store(now_ms, relaxed);
    }
    m.sampled_ms.store(now_ms, relaxed);
}

void sample_master(Scoreboard& board, std::span<const SlotView> slots)
{
    sample_master(board, slots, wall_now_ms());
}

void record_exit(Scoreboard& board, WorkerEntry& entry, int wait_status, uint64_t now_ms)
{
    if (entry.state.load(std::memory_order_acquire) == WorkerState::empty)
        return;  // already recorded: never fold twice
    MasterArea& m = board.master();
    const int slot = entry.slot.load(relaxed);
    WriteLock lock(m);
    if (slot >= 0 && std::size_t(slot) < board.slots()) {
        note_slot_used(m, slot, board.slots());
        SlotArea& a = board.slot(std::size_t(slot));
        bump(a.retired_requests, entry.requests.load(relaxed));
        bump(a.retired_bytes_in, entry.bytes_in.load(relaxed));
        bump(a.retired_bytes_out, entry.bytes_out.load(relaxed));
        for (std::size_t i = 0; i < closed_reason_count; ++i)
            bump(a.retired_closed[i], entry.closed[i].load(relaxed));
        for (std::size_t i = 0; i < refused_reason_count; ++i)
            bump(a.retired_refused[i], entry.refused[i].load(relaxed));
        bump(a.retired_taken_over, entry.taken_over.load(relaxed));
        for (std::size_t i = 0; i < endpoint_count; ++i)
            fold(a.retired[i], entry.endpoints[i]);
        a.exits.store(a.exits.load(relaxed) + 1, relaxed);
        const std::string why = describe_wait_status(wait_status);
        store_text(a.last_exit, exit_text_size, why.data(), why.size());
        a.last_exit_code.store(WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1, relaxed);
        a.last_exit_signal.store(WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0, relaxed);
        a.last_exit_ms.store(now_ms, relaxed);
        if (a.pid.load(relaxed) == entry.pid.load(relaxed))
            a.pid.store(0, relaxed);
    }
    entry.state.store(WorkerState::empty, std::memory_order_release);
}

void record_exit(Scoreboard& board, WorkerEntry& entry, int wait_status)
{
    record_exit(board, entry, wait_status, wall_now_ms());
}

std::string describe_wait_status(int status)
{
    if (WIFEXITED(status))
        return "exit code " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        const char* name = strsignal(sig);
        std::string out = "signal " + std::to_string(sig) + " (" + (name ? name : "unknown") + ")";
        if (WCOREDUMP(status))
            out += ", core dumped";
        return out;
    }
    return "status " + std::to_string(status);
}

}  // namespace forkd::stats
