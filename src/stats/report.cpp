// stats/report.cpp: the summary line, its STATUS= form, the exit line (report.hpp).
#include "stats/report.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace forkd::stats {
namespace {

// The histogram of what happened since `prev` (counts only; max unknown).
Histogram since(const Histogram& now, const Histogram& prev)
{
    Histogram d;
    for (std::size_t i = 0; i < d.buckets.size(); ++i) {
        d.buckets[i] = now.buckets[i] - std::min(now.buckets[i], prev.buckets[i]);
        d.count += d.buckets[i];
    }
    d.sum_ns = now.sum_ns - std::min(now.sum_ns, prev.sum_ns);
    return d;
}

std::string format_rate(double per_s)
{
    return per_s >= 100 ? fmt::format("{:.0f}", per_s) : fmt::format("{:.1f}", per_s);
}

}  // namespace

Reporter::Report Reporter::report(const Scoreboard& board, uint64_t now_ms)
{
    return report(take_snapshot(board, now_ms, monotonic_now_ms()));
}

Reporter::Report Reporter::report(const Scoreboard& board)
{
    return report(board, wall_now_ms());
}

Reporter::Report Reporter::report(const Snapshot& snap)
{
    const uint64_t now_ms = snap.server.now_ms;
    const uint64_t from_ms = primed_ ? prev_ms_ : snap.server.started_ms;
    const double seconds = now_ms > from_ms ? double(now_ms - from_ms) / 1000.0 : 0.0;
    auto rate = [seconds](uint64_t now, uint64_t prev) {
        return seconds > 0 && now >= prev ? double(now - prev) / seconds : 0.0;
    };

    const Histogram latency = snap.latency();
    const Histogram interval = primed_ ? since(latency, prev_latency_) : latency;
    const double requests_per_s = rate(snap.totals.requests, primed_ ? prev_requests_ : 0);

    // Busiest and idlest slot over the interval, among the slots with a worker.
    int busiest = -1, idlest = -1;
    double busiest_rate = 0, idlest_rate = 0;
    for (const SlotSnapshot& s : snap.slots) {
        if (s.pid == 0 && std::none_of(snap.workers.begin(), snap.workers.end(),
                                       [&](const WorkerSnapshot& w) { return w.slot == s.slot; }))
            continue;
        const std::size_t i = std::size_t(s.slot);
        const uint64_t prev = primed_ && i < prev_slot_requests_.size() ? prev_slot_requests_[i] : 0;
        const double r = rate(s.counters.requests, prev);
        if (busiest < 0 || r > busiest_rate) {
            busiest = s.slot;
            busiest_rate = r;
        }
        if (idlest < 0 || r < idlest_rate) {
            idlest = s.slot;
            idlest_rate = r;
        }
    }

    const uint32_t ready = snap.workers_in(WorkerState::ready);
    uint32_t in_flight = 0;
    for (const WorkerSnapshot& w : snap.workers)
        in_flight += w.in_flight;
    const std::string p95 = interval.count == 0 ? "-" : format_duration(interval.percentile(0.95));

    Report out;
    out.line = fmt::format("stats: {}/{} workers ready, {} req/s, p95 {}, {} in flight, {} restarts", ready,
                           snap.server.workers_target, format_rate(requests_per_s), p95, in_flight, snap.restarts);
    if (busiest >= 0 && busiest != idlest)
        out.line += fmt::format(", busiest worker {} ({} req/s), idlest worker {} ({} req/s)", busiest,
                                format_rate(busiest_rate), idlest, format_rate(idlest_rate));
    out.status = fmt::format("{}/{} workers, {} req/s, p95 {}, {} restarts", ready, snap.server.workers_target,
                             format_rate(requests_per_s), p95, snap.restarts);

    primed_ = true;
    prev_ms_ = now_ms;
    prev_requests_ = snap.totals.requests;
    prev_latency_ = latency;
    prev_slot_requests_.assign(snap.slots.size(), 0);
    for (const SlotSnapshot& s : snap.slots)
        prev_slot_requests_[std::size_t(s.slot)] = s.counters.requests;
    return out;
}

std::string exit_line(const WorkerEntry& entry, uint64_t now_ms)
{
    Totals t;
    Histogram latency;
    for (std::size_t i = 0; i < endpoint_count; ++i)
        t.endpoints[i] = load_endpoint(entry.endpoints[i], &latency);
    const auto classes = t.by_class();
    const uint64_t started = entry.started_ms.load(std::memory_order_relaxed);
    const double lived_s = now_ms > started && started != 0 ? double(now_ms - started) / 1000.0 : 0.0;
    std::string line = fmt::format(
        "worker {} (pid {}, generation {}) served {} requests in {:.1f} s: 2xx {}, 3xx {}, 4xx {}, 5xx {}; "
        "{} in, {} out",
        entry.slot.load(std::memory_order_relaxed), entry.pid.load(std::memory_order_relaxed),
        entry.generation.load(std::memory_order_relaxed), entry.requests.load(std::memory_order_relaxed), lived_s,
        classes[1], classes[2], classes[3], classes[4], format_bytes(entry.bytes_in.load(std::memory_order_relaxed)),
        format_bytes(entry.bytes_out.load(std::memory_order_relaxed)));
    if (latency.count > 0)
        line += fmt::format("; latency p50 {}, p95 {}, p99 {}, max {}", format_duration(latency.percentile(0.5)),
                            format_duration(latency.percentile(0.95)), format_duration(latency.percentile(0.99)),
                            format_duration(latency.max_ns));
    return line;
}

std::string exit_line(const WorkerEntry& entry)
{
    return exit_line(entry, wall_now_ms());
}

std::string format_duration(uint64_t ns)
{
    if (ns < 1000)
        return fmt::format("{} ns", ns);
    if (ns < 1000000)
        return fmt::format("{} us", (ns + 500) / 1000);
    if (ns < 1000000000)
        return fmt::format("{:.2f} ms", double(ns) / 1e6);
    return fmt::format("{:.2f} s", double(ns) / 1e9);
}

std::string format_bytes(uint64_t bytes)
{
    if (bytes < 1000)
        return fmt::format("{} B", bytes);
    if (bytes < 1000000)
        return fmt::format("{:.1f} kB", double(bytes) / 1e3);
    if (bytes < 1000000000)
        return fmt::format("{:.1f} MB", double(bytes) / 1e6);
    return fmt::format("{:.1f} GB", double(bytes) / 1e9);
}

}  // namespace forkd::stats
