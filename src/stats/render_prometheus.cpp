// stats/render_prometheus.cpp: /metrics in the Prometheus text format (render.hpp).
//
// Every family is written whole (HELP, TYPE, then all its samples) because
// the format forbids interleaving. Names follow Prometheus' conventions:
// forkd_ prefix, base units in the name (_seconds, _bytes), _total on
// counters. The label "worker" is the slot: stable across restarts, so a
// slot's counters (retired workers plus the live ones) only go up. Figures
// of one process (memory, CPU, start time) also carry its pid.
#include "stats/render.hpp"

#include <array>
#include <map>

#include <fmt/format.h>

namespace forkd::stats {
namespace {

// Bucket bounds of forkd_request_duration_seconds: text for the label, and
// nanoseconds. A bucket of the fine histogram that straddles a bound is
// counted at the next bound (Histogram::count_below), within its 6 % width.
struct Bound {
    const char* le;
    uint64_t ns;
};
constexpr std::array<Bound, 19> duration_bounds = {{
    {"5e-05", 50000},    {"0.0001", 100000},  {"0.00025", 250000}, {"0.0005", 500000},  {"0.001", 1000000},
    {"0.0025", 2500000}, {"0.005", 5000000},  {"0.01", 10000000},  {"0.025", 25000000}, {"0.05", 50000000},
    {"0.1", 100000000},  {"0.25", 250000000}, {"0.5", 500000000},  {"1", 1000000000},   {"2.5", 2500000000},
    {"5", 5000000000},   {"10", 10000000000}, {"30", 30000000000}, {"60", 60000000000},
}};

// Label values: backslash, double quote and newline are escaped.
std::string escape(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string seconds(uint64_t ns)
{
    return fmt::format("{}", double(ns) / 1e9);
}

class Writer {
public:
    void family(std::string_view name, std::string_view type, std::string_view help)
    {
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    template <class V> void sample(std::string_view name, std::string_view labels, const V& value)
    {
        if (labels.empty())
            out_ += fmt::format("{} {}\n", name, value);
        else
            out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// Sums over the live processes of each slot.
struct SlotGauges {
    uint64_t in_flight = 0, connections = 0;
    uint64_t offload_threads = 0, offload_busy = 0, offload_queued = 0;
    uint64_t accept_queue = 0, accept_backlog = 0;
};

std::string worker_label(int slot)
{
    return fmt::format("worker=\"{}\"", slot);
}

std::string process_labels(const WorkerSnapshot& w)
{
    return fmt::format("worker=\"{}\",pid=\"{}\"", w.slot, w.pid);
}

void server_families(Writer& out, const Snapshot& snap)
{
    const ServerSnapshot& s = snap.server;
    out.family("forkd_build_info", "gauge", "The forkd version, as a label; always 1.");
    out.sample("forkd_build_info", fmt::format("version=\"{}\"", escape(s.version)), 1);
    out.family("forkd_start_time_seconds", "gauge", "When the master started, in seconds since the epoch.");
    out.sample("forkd_start_time_seconds", "", double(s.started_ms) / 1000.0);
    out.family("forkd_generation", "gauge", "The worker generation; a reload starts the next one.");
    out.sample("forkd_generation", "", s.generation);
    out.family("forkd_workers_target", "gauge", "How many worker processes the master keeps running.");
    out.sample("forkd_workers_target", "", s.workers_target);
    out.family("forkd_draining", "gauge", "1 while the host drains (forkd drain, or TERM's shutdown_delay), else 0.");
    out.sample("forkd_draining", "", s.host_state == HostState::draining ? 1 : 0);
    out.family("forkd_workers", "gauge", "Worker processes by state.");
    for (WorkerState st : {WorkerState::booting, WorkerState::ready, WorkerState::draining, WorkerState::exited})
        out.sample("forkd_workers", fmt::format("state=\"{}\"", to_string(st)), snap.workers_in(st));
}

void request_families(Writer& out, const Snapshot& snap, EndpointLabels endpoints)
{
    out.family("forkd_requests_total", "counter", "Responses sent, by worker slot, route, mode and status code.");
    for (const SlotSnapshot& s : snap.slots) {
        for (std::size_t e = 0; e < endpoints.size() && e < endpoint_count; ++e) {
            const EndpointTotals& t = s.counters.endpoints[e];
            for (std::size_t c = 0; c < code_count; ++c) {
                if (t.responses[c] == 0)
                    continue;
                out.sample("forkd_requests_total",
                           fmt::format("worker=\"{}\",route=\"{}\",mode=\"{}\",code=\"{}\"", s.slot,
                                       escape(endpoints[e].route), endpoints[e].mode, code_label(c)),
                           t.responses[c]);
            }
        }
    }

    out.family("forkd_request_duration_seconds", "histogram",
               "Time from a request's complete head to its response being queued, by route and mode.");
    for (std::size_t e = 0; e < endpoints.size() && e < endpoint_count; ++e) {
        const Histogram& h = snap.endpoint_latency[e];
        if (h.count == 0)
            continue;
        const std::string labels =
            fmt::format("route=\"{}\",mode=\"{}\"", escape(endpoints[e].route), endpoints[e].mode);
        for (const Bound& b : duration_bounds)
            out.sample("forkd_request_duration_seconds_bucket", fmt::format("{},le=\"{}\"", labels, b.le),
                       h.count_below(b.ns));
        out.sample("forkd_request_duration_seconds_bucket", labels + ",le=\"+Inf\"", h.count);
        out.sample("forkd_request_duration_seconds_sum", labels, seconds(h.sum_ns));
        out.sample("forkd_request_duration_seconds_count", labels, h.count);
    }

    out.family("forkd_received_bytes_total", "counter", "Bytes read from clients, by worker slot.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_received_bytes_total", worker_label(s.slot), s.counters.bytes_in);
    out.family("forkd_sent_bytes_total", "counter", "Bytes of responses sent to clients, by worker slot.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_sent_bytes_total", worker_label(s.slot), s.counters.bytes_out);

    // One counter per slot and reason, from the reason names and the slot's counts.
    auto by_reason = [&](const char* name, const char* help, const auto& reasons, auto counts) {
        out.family(name, "counter", help);
        for (const SlotSnapshot& s : snap.slots) {
            for (std::size_t i = 0; i < std::size(reasons); ++i)
                out.sample(name, fmt::format("worker=\"{}\",reason=\"{}\"", s.slot, reasons[i]), counts(s)[i]);
        }
    };
    by_reason("forkd_connections_closed_total",
              "Connections the server closed by its own limits, by worker slot and reason.", closed_reasons,
              [](const SlotSnapshot& s) { return s.counters.connections.closed; });
    by_reason("forkd_connections_refused_total",
              "Connections refused because accept() failed (out of file descriptors), by worker slot and reason.",
              refused_reasons, [](const SlotSnapshot& s) { return s.counters.connections.refused; });
}

// Busy steering (master/steering.cpp, worker/takeover.cpp), per slot.
void busy_families(Writer& out, const Snapshot& snap)
{
    out.family("forkd_worker_busy", "gauge",
               "1 while the slot's worker loop is blocked and new connections are steered to the others.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_worker_busy", worker_label(s.slot), s.busy ? 1 : 0);
    out.family("forkd_worker_busy_seconds_total", "counter", "Time the slot's worker was busy (steered around).");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_worker_busy_seconds_total", worker_label(s.slot), double(s.busy_ms) / 1000.0);
    out.family("forkd_worker_busy_episodes_total", "counter", "How many times the slot's worker became busy.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_worker_busy_episodes_total", worker_label(s.slot), s.busy_episodes);
    out.family("forkd_taken_over_connections_total", "counter",
               "Connections the slot's workers accepted from a busy sibling's queue.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_taken_over_connections_total", worker_label(s.slot), s.counters.taken_over);
}

void slot_families(Writer& out, const Snapshot& snap)
{
    std::map<int, SlotGauges> gauges;
    for (const SlotSnapshot& s : snap.slots)
        gauges[s.slot];
    for (const WorkerSnapshot& w : snap.workers) {
        SlotGauges& g = gauges[w.slot];
        g.in_flight += w.in_flight;
        g.connections += w.connections;
        g.offload_threads += w.offload_threads;
        g.offload_busy += w.offload_busy;
        g.offload_queued += w.offload_queued;
        g.accept_queue += w.accept_queue;
        g.accept_backlog += w.accept_backlog;
    }
    // The master reads each slot's socket itself, even while it has no worker.
    if (snap.server.master_sampled) {
        for (const SlotSnapshot& s : snap.slots) {
            gauges[s.slot].accept_queue = s.accept_queue;
            gauges[s.slot].accept_backlog = s.accept_backlog;
        }
    }
    auto each = [&](std::string_view name, std::string_view help, uint64_t SlotGauges::*field) {
        out.family(name, "gauge", help);
        for (const auto& [slot, g] : gauges)
            out.sample(name, worker_label(slot), g.*field);
    };
    each("forkd_in_flight_requests", "Requests taken and not yet answered.", &SlotGauges::in_flight);
    each("forkd_open_connections", "Client connections open.", &SlotGauges::connections);
    each("forkd_offload_threads", "Offload threads.", &SlotGauges::offload_threads);
    each("forkd_offload_busy_threads", "Offload threads running a job.", &SlotGauges::offload_busy);
    each("forkd_offload_queued_jobs", "Jobs waiting for an offload thread.", &SlotGauges::offload_queued);
    each("forkd_accept_queue_length", "Connections waiting in the slot's listening socket's accept queue.",
         &SlotGauges::accept_queue);
    each("forkd_accept_queue_limit", "The listen() backlog of the slot's listening socket.",
         &SlotGauges::accept_backlog);

    out.family("forkd_worker_restarts_total", "counter", "Workers spawned in the slot after its first.");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_worker_restarts_total", worker_label(s.slot), s.restarts);
    out.family("forkd_worker_exits_total", "counter", "Workers of the slot that exited (and were reaped).");
    for (const SlotSnapshot& s : snap.slots)
        out.sample("forkd_worker_exits_total", worker_label(s.slot), s.exits);
    busy_families(out, snap);
    out.family("forkd_worker_last_exit_time_seconds", "gauge",
               "When the slot's last worker exited, with how (exit code or signal) as a label.");
    for (const SlotSnapshot& s : snap.slots) {
        if (!s.last_exit.reason.empty())
            out.sample("forkd_worker_last_exit_time_seconds",
                       fmt::format("worker=\"{}\",reason=\"{}\"", s.slot, escape(s.last_exit.reason)),
                       double(s.last_exit.at_ms) / 1000.0);
    }
}

void process_families(Writer& out, const Snapshot& snap)
{
    out.family("forkd_worker_info", "gauge", "One per worker process: its generation and state; always 1.");
    for (const WorkerSnapshot& w : snap.workers)
        out.sample(
            "forkd_worker_info",
            fmt::format("{},generation=\"{}\",state=\"{}\"", process_labels(w), w.generation, to_string(w.state)), 1);
    out.family("forkd_worker_start_time_seconds", "gauge", "When the worker process started, seconds since the epoch.");
    for (const WorkerSnapshot& w : snap.workers)
        out.sample("forkd_worker_start_time_seconds", process_labels(w), double(w.started_ms) / 1000.0);
    out.family("forkd_worker_heartbeat_age_seconds", "gauge", "Time since the worker's event loop last ticked.");
    for (const WorkerSnapshot& w : snap.workers)
        out.sample("forkd_worker_heartbeat_age_seconds", process_labels(w), double(w.heartbeat_age_ms) / 1000.0);
    out.family("forkd_worker_resident_memory_bytes", "gauge", "Resident memory of the worker process.");
    for (const WorkerSnapshot& w : snap.workers) {
        if (w.sampled)
            out.sample("forkd_worker_resident_memory_bytes", process_labels(w), w.rss_bytes);
    }
    out.family("forkd_worker_cpu_seconds_total", "counter", "User and system CPU time of the worker process.");
    for (const WorkerSnapshot& w : snap.workers) {
        if (w.sampled)
            out.sample("forkd_worker_cpu_seconds_total", process_labels(w), double(w.cpu_ms) / 1000.0);
    }
}

}  // namespace

std::string render_prometheus(const Snapshot& snap, EndpointLabels labels)
{
    Writer out;
    server_families(out, snap);
    request_families(out, snap, labels);
    slot_families(out, snap);
    process_families(out, snap);
    return out.take();
}

}  // namespace forkd::stats
