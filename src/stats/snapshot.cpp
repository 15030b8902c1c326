// stats/snapshot.cpp: reading the shared board into plain data (snapshot.hpp).
//
// Every load is relaxed: the figures are statistics, read while workers write
// them. Only the master's sequence lock is honoured, so that the counters of
// a worker being retired are seen either in its entry or in its slot, never
// in both or neither.
#include "stats/snapshot.hpp"

#include <algorithm>
#include <ctime>

#include <sched.h>

#include "forkd_version.h"

namespace forkd::stats {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

void read_slot(const SlotArea& a, int index, uint64_t mono_now_ms, SlotSnapshot& s)
{
    s.slot = index;
    s.pid = a.pid.load(relaxed);
    s.restarts = a.restarts.load(relaxed);
    s.exits = a.exits.load(relaxed);
    s.last_exit.reason = load_text(a.last_exit, exit_text_size);
    s.last_exit.code = a.last_exit_code.load(relaxed);
    s.last_exit.signal = a.last_exit_signal.load(relaxed);
    s.last_exit.at_ms = a.last_exit_ms.load(relaxed);
    s.accept_queue = a.accept_queue.load(relaxed);
    s.accept_backlog = a.accept_backlog.load(relaxed);
    s.requests_per_s = double(a.requests_per_s_milli.load(relaxed)) / 1000.0;
    s.counters.requests = a.retired_requests.load(relaxed);
    s.counters.bytes_in = a.retired_bytes_in.load(relaxed);
    s.counters.bytes_out = a.retired_bytes_out.load(relaxed);
    for (std::size_t i = 0; i < closed_reason_count; ++i)
        s.counters.connections.closed[i] = a.retired_closed[i].load(relaxed);
    for (std::size_t i = 0; i < refused_reason_count; ++i)
        s.counters.connections.refused[i] = a.retired_refused[i].load(relaxed);
    s.counters.taken_over = a.retired_taken_over.load(relaxed);
    s.busy = a.busy.load(relaxed) != 0;
    s.busy_ms = a.busy_ms_now(mono_now_ms);
    s.busy_episodes = a.busy_episodes.load(relaxed);
}

// One attempt; false if the master retired a worker meanwhile.
bool try_snapshot(const Scoreboard& board, uint64_t now_ms, uint64_t mono_now_ms, Snapshot& out)
{
    const MasterArea& m = board.master();
    const uint64_t seq = m.seq.load(std::memory_order_acquire);
    if (seq & 1)
        return false;

    out = Snapshot{};
    out.server.version = FORKD_VERSION;
    out.server.master_pid = m.master_pid.load(relaxed);
    out.server.started_ms = m.started_ms.load(relaxed);
    out.server.now_ms = now_ms;
    out.server.generation = m.generation.load(relaxed);
    out.server.workers_target = m.workers_target.load(relaxed);
    out.server.config_path = load_text(m.config_path, config_path_size);
    out.server.master_sampled = m.sampled_ms.load(relaxed) != 0;
    out.server.host_state = m.host_state.load(relaxed);
    out.server.host_state_since_ms = m.host_state_since_ms.load(relaxed);

    Histogram scratch;
    for (std::size_t i = 0; i < board.size(); ++i) {
        const WorkerEntry& e = board.entry(i);
        const WorkerState state = e.state.load(std::memory_order_acquire);
        if (state == WorkerState::empty)
            continue;
        WorkerSnapshot w;
        w.entry = i;
        w.pid = e.pid.load(relaxed);
        w.slot = e.slot.load(relaxed);
        w.generation = e.generation.load(relaxed);
        w.state = state;
        w.started_ms = e.started_ms.load(relaxed);
        const uint64_t beat = e.heartbeat_ms.load(relaxed);
        w.heartbeat_age_ms = beat != 0 && mono_now_ms > beat ? mono_now_ms - beat : 0;
        w.in_flight = e.in_flight.load(relaxed);
        w.connections = e.connections.load(relaxed);
        w.offload_threads = e.offload_threads.load(relaxed);
        w.offload_busy = e.offload_busy.load(relaxed);
        w.offload_queued = e.offload_queued.load(relaxed);
        w.accept_queue = e.accept_queue.load(relaxed);
        w.accept_backlog = e.accept_backlog.load(relaxed);
        w.counters.requests = e.requests.load(relaxed);
        w.counters.bytes_in = e.bytes_in.load(relaxed);
        w.counters.bytes_out = e.bytes_out.load(relaxed);
        for (std::size_t k = 0; k < closed_reason_count; ++k)
            w.counters.connections.closed[k] = e.closed[k].load(relaxed);
        for (std::size_t k = 0; k < refused_reason_count; ++k)
            w.counters.connections.refused[k] = e.refused[k].load(relaxed);
        w.counters.taken_over = e.taken_over.load(relaxed);
        for (std::size_t k = 0; k < endpoint_count; ++k) {
            scratch = Histogram{};
            w.counters.endpoints[k] = load_endpoint(e.endpoints[k], &scratch);
            w.latency.merge(scratch);
            out.endpoint_latency[k].merge(scratch);
        }
        const ProcessSample& p = board.sample(i);
        if (p.pid.load(relaxed) == w.pid && w.pid != 0 && p.prev_ms.load(relaxed) != 0) {
            w.sampled = true;
            w.rss_bytes = p.rss_bytes.load(relaxed);
            w.cpu_ms = p.cpu_ms.load(relaxed);
            w.cpu_percent = double(p.cpu_permille.load(relaxed)) / 10.0;
            w.requests_per_s = double(p.requests_per_s_milli.load(relaxed)) / 1000.0;
        }
        out.workers.push_back(std::move(w));
    }

    // The slots the master has used, and those of live workers (a worker
    // may be spawned before the master's first sample says so).
    std::size_t slots_used = m.slots_used.load(relaxed);
    for (const WorkerSnapshot& w : out.workers)
        slots_used = std::max(slots_used, std::size_t(std::max(w.slot, 0)) + 1);
    slots_used = std::min(slots_used, board.slots());
    out.slots.resize(slots_used);
    for (std::size_t i = 0; i < slots_used; ++i) {
        const SlotArea& a = board.slot(i);
        read_slot(a, int(i), mono_now_ms, out.slots[i]);
        for (std::size_t e = 0; e < endpoint_count; ++e)
            out.slots[i].counters.endpoints[e] = load_endpoint(a.retired[e], &out.endpoint_latency[e]);
        out.restarts += out.slots[i].restarts;
    }
    for (WorkerSnapshot& w : out.workers) {
        if (w.slot >= 0 && std::size_t(w.slot) < out.slots.size()) {
            SlotSnapshot& slot = out.slots[std::size_t(w.slot)];
            w.busy = slot.busy && slot.pid == w.pid;
            slot.counters.merge(w.counters);
        } else {
            out.totals.merge(w.counters);  // no slot area to hold it
        }
    }
    for (const SlotSnapshot& s : out.slots)
        out.totals.merge(s.counters);

    std::atomic_thread_fence(std::memory_order_acquire);
    return m.seq.load(relaxed) == seq;
}

}  // namespace

uint64_t EndpointTotals::requests() const
{
    uint64_t n = 0;
    for (uint64_t r : responses)
        n += r;
    return n;
}

void EndpointTotals::merge(const EndpointTotals& other)
{
    for (std::size_t i = 0; i < responses.size(); ++i)
        responses[i] += other.responses[i];
    latency_sum_ns += other.latency_sum_ns;
    latency_max_ns = std::max(latency_max_ns, other.latency_max_ns);
}

std::array<uint64_t, 5> Totals::by_class() const
{
    std::array<uint64_t, 5> out{};
    for (const EndpointTotals& e : endpoints) {
        for (std::size_t i = 0; i < code_count; ++i)
            out[std::size_t(code_class(i) - 1)] += e.responses[i];
    }
    return out;
}

void Totals::merge(const Totals& other)
{
    requests += other.requests;
    bytes_in += other.bytes_in;
    bytes_out += other.bytes_out;
    connections.merge(other.connections);
    taken_over += other.taken_over;
    for (std::size_t i = 0; i < endpoints.size(); ++i)
        endpoints[i].merge(other.endpoints[i]);
}

Histogram Snapshot::latency() const
{
    Histogram all;
    for (const Histogram& h : endpoint_latency)
        all.merge(h);
    return all;
}

uint32_t Snapshot::workers_in(WorkerState state) const
{
    return uint32_t(
        std::count_if(workers.begin(), workers.end(), [state](const WorkerSnapshot& w) { return w.state == state; }));
}

EndpointTotals load_endpoint(const EndpointCounters& c, Histogram* latency)
{
    EndpointTotals t;
    for (std::size_t i = 0; i < code_count; ++i)
        t.responses[i] = c.responses[i].load(relaxed);
    t.latency_sum_ns = c.latency_sum_ns.load(relaxed);
    t.latency_max_ns = c.latency_max_ns.load(relaxed);
    if (latency != nullptr) {
        Histogram h;
        uint64_t count = 0;
        for (std::size_t i = 0; i < hist::bucket_count; ++i) {
            h.buckets[i] = c.latency[i].load(relaxed);
            count += h.buckets[i];
        }
        h.count = count;
        h.sum_ns = t.latency_sum_ns;
        h.max_ns = t.latency_max_ns;
        latency->merge(h);
    }
    return t;
}

Snapshot take_snapshot(const Scoreboard& board, uint64_t now_ms, uint64_t mono_now_ms)
{
    Snapshot out;
    // The master holds the lock for microseconds (a retire); a few tries
    // are plenty, and a last unchecked copy beats no answer.
    for (int attempt = 0; attempt < 100; ++attempt) {
        if (try_snapshot(board, now_ms, mono_now_ms, out))
            return out;
        sched_yield();
    }
    try_snapshot(board, now_ms, mono_now_ms, out);
    return out;
}

Snapshot take_snapshot(const Scoreboard& board)
{
    return take_snapshot(board, wall_now_ms(), monotonic_now_ms());
}

}  // namespace forkd::stats
