// stats/render_json.cpp: the /stats document (render.hpp; schema in README.md).
//
// Field names carry their units (_ms, _s, _bytes, _per_s, latency_ms). Every
// key is always present; a figure not known yet (the master has not sampled
// a new process) is null rather than absent, so clients need no key checks.
#include "stats/render.hpp"

#include <cmath>

namespace forkd::stats {
namespace {

using json = nlohmann::ordered_json;

// ns as milliseconds, to the nanosecond (a /hello takes well under a microsecond).
double ms(uint64_t ns)
{
    return double(ns) / 1e6;
}

// Round to `per_unit` steps per unit (1000: three decimals). Dividing last
// gives the double nearest to the decimal, which prints short.
double round_to(double value, double per_unit)
{
    return std::round(value * per_unit) / per_unit;
}

double seconds_between(uint64_t from_ms, uint64_t to_ms)
{
    return to_ms > from_ms ? double(to_ms - from_ms) / 1000.0 : 0.0;
}

json classes_json(const Totals& t)
{
    const auto c = t.by_class();
    return {{"1xx", c[0]}, {"2xx", c[1]}, {"3xx", c[2]}, {"4xx", c[3]}, {"5xx", c[4]}};
}

// {"keepalive": n, ...} and {"emfile": n, ...}: every reason, always.
json closed_json(const ConnectionCounts& c)
{
    json j = json::object();
    for (std::size_t i = 0; i < closed_reason_count; ++i)
        j[std::string(closed_reasons[i])] = c.closed[i];
    return j;
}

json refused_json(const ConnectionCounts& c)
{
    json j = json::object();
    for (std::size_t i = 0; i < refused_reason_count; ++i)
        j[std::string(refused_reasons[i])] = c.refused[i];
    return j;
}

json worker_json(const WorkerSnapshot& w, const Snapshot& snap)
{
    json j = {
        {"pid", w.pid},
        {"slot", w.slot},
        {"generation", w.generation},
        {"state", to_string(w.state)},
        {"started_ms", w.started_ms},
        {"uptime_s", round_to(seconds_between(w.started_ms, snap.server.now_ms), 1000)},
        {"heartbeat_age_ms", w.heartbeat_age_ms},
        {"requests", w.counters.requests},
        {"requests_per_s", w.sampled ? json(round_to(w.requests_per_s, 1000)) : json(nullptr)},
        {"in_flight", w.in_flight},
        {"connections", w.connections},
        {"connections_closed", closed_json(w.counters.connections)},
        {"connections_refused", refused_json(w.counters.connections)},
        {"bytes_in", w.counters.bytes_in},
        {"bytes_out", w.counters.bytes_out},
        {"responses", classes_json(w.counters)},
        {"latency_ms", latency_json(w.latency)},
        {"offload", {{"threads", w.offload_threads}, {"busy", w.offload_busy}, {"queued", w.offload_queued}}},
        {"accept_queue", {{"queued", w.accept_queue}, {"backlog", w.accept_backlog}}},
        {"rss_bytes", w.sampled ? json(w.rss_bytes) : json(nullptr)},
        {"cpu_ms", w.sampled ? json(w.cpu_ms) : json(nullptr)},
        {"cpu_percent", w.sampled ? json(round_to(w.cpu_percent, 10)) : json(nullptr)},
        {"busy", w.busy},
        {"taken_over", w.counters.taken_over},
    };
    const bool has_slot = w.slot >= 0 && std::size_t(w.slot) < snap.slots.size();
    j["restarts"] = has_slot ? snap.slots[std::size_t(w.slot)].restarts : 0;
    return j;
}

json last_exit_json(const LastExit& e)
{
    if (e.reason.empty())
        return nullptr;
    return {
        {"reason", e.reason},
        {"code", e.code >= 0 ? json(e.code) : json(nullptr)},
        {"signal", e.signal > 0 ? json(e.signal) : json(nullptr)},
        {"at_ms", e.at_ms},
    };
}

json slot_json(const SlotSnapshot& s, bool sampled)
{
    return {
        {"slot", s.slot},
        {"pid", s.pid != 0 ? json(s.pid) : json(nullptr)},
        {"restarts", s.restarts},
        {"exits", s.exits},
        {"last_exit", last_exit_json(s.last_exit)},
        {"accept_queue", sampled ? json{{"queued", s.accept_queue}, {"backlog", s.accept_backlog}} : json(nullptr)},
        {"requests", s.counters.requests},
        {"requests_per_s", sampled ? json(round_to(s.requests_per_s, 1000)) : json(nullptr)},
        {"busy", s.busy},
        {"busy_ms", s.busy_ms},
        {"busy_episodes", s.busy_episodes},
        {"taken_over", s.counters.taken_over},
    };
}

json endpoint_json(const EndpointLabel& label, const EndpointTotals& t, const Histogram& latency)
{
    json codes = json::object();
    for (std::size_t i = 0; i < code_count; ++i) {
        if (t.responses[i] != 0)
            codes[std::string(code_label(i))] = t.responses[i];
    }
    return {
        {"route", label.route},
        {"mode", label.mode},
        {"requests", t.requests()},
        {"responses", std::move(codes)},
        {"latency_ms", latency_json(latency)},
    };
}

}  // namespace

json latency_json(const Histogram& h)
{
    if (h.count == 0)
        return {{"p50", nullptr}, {"p95", nullptr}, {"p99", nullptr}, {"max", nullptr}, {"mean", nullptr}};
    return {
        {"p50", ms(h.percentile(0.50))}, {"p95", ms(h.percentile(0.95))}, {"p99", ms(h.percentile(0.99))},
        {"max", ms(h.max_ns)},           {"mean", ms(h.mean_ns())},
    };
}

json stats_json(const Snapshot& snap, const ServedBy& served_by, EndpointLabels labels)
{
    const ServerSnapshot& s = snap.server;
    const bool sampled = s.master_sampled;

    uint64_t in_flight = 0, connections = 0, busy = 0, queued = 0, accept_queue = 0;
    for (const WorkerSnapshot& w : snap.workers) {
        in_flight += w.in_flight;
        connections += w.connections;
        busy += w.offload_busy;
        queued += w.offload_queued;
        accept_queue += w.accept_queue;
    }
    double requests_per_s = 0;
    uint64_t busy_slots = 0, busy_ms = 0, busy_episodes = 0;
    for (const SlotSnapshot& slot : snap.slots) {
        requests_per_s += slot.requests_per_s;
        busy_slots += slot.busy ? 1 : 0;
        busy_ms += slot.busy_ms;
        busy_episodes += slot.busy_episodes;
    }

    json workers = json::array();
    json self = nullptr;  // the answering worker's own object, also in "workers"
    for (const WorkerSnapshot& w : snap.workers) {
        workers.push_back(worker_json(w, snap));
        if (w.pid == served_by.pid)
            self = workers.back();
    }
    json slots = json::array();
    for (const SlotSnapshot& slot : snap.slots)
        slots.push_back(slot_json(slot, sampled));
    json endpoints = json::array();
    for (std::size_t i = 0; i < labels.size() && i < endpoint_count; ++i)
        endpoints.push_back(endpoint_json(labels[i], snap.totals.endpoints[i], snap.endpoint_latency[i]));

    return {
        {"served_by", {{"pid", served_by.pid}, {"slot", served_by.slot}, {"generation", served_by.generation}}},
        {"worker", std::move(self)},
        {"server",
         {
             {"version", s.version},
             {"master_pid", s.master_pid},
             {"config_path", s.config_path.empty() ? json(nullptr) : json(s.config_path)},
             {"generation", s.generation},
             {"workers_target", s.workers_target},
             {"state", to_string(s.host_state)},
             {"state_since_ms", s.host_state_since_ms ? json(s.host_state_since_ms) : json(nullptr)},
             {"workers",
              {{"booting", snap.workers_in(WorkerState::booting)},
               {"ready", snap.workers_in(WorkerState::ready)},
               {"draining", snap.workers_in(WorkerState::draining)},
               {"exited", snap.workers_in(WorkerState::exited)}}},
             {"started_ms", s.started_ms},
             {"now_ms", s.now_ms},
             {"uptime_s", round_to(seconds_between(s.started_ms, s.now_ms), 1000)},
             {"sampled", sampled},
         }},
        {"totals",
         {
             {"requests", snap.totals.requests},
             {"requests_per_s", sampled ? json(round_to(requests_per_s, 1000)) : json(nullptr)},
             {"in_flight", in_flight},
             {"connections", connections},
             {"connections_closed", closed_json(snap.totals.connections)},
             {"connections_refused", refused_json(snap.totals.connections)},
             {"bytes_in", snap.totals.bytes_in},
             {"bytes_out", snap.totals.bytes_out},
             {"responses", classes_json(snap.totals)},
             {"latency_ms", latency_json(snap.latency())},
             {"restarts", snap.restarts},
             {"offload", {{"busy", busy}, {"queued", queued}}},
             {"accept_queue", accept_queue},
             {"busy", {{"workers", busy_slots}, {"ms", busy_ms}, {"episodes", busy_episodes}}},
             {"taken_over", snap.totals.taken_over},
         }},
        {"workers", std::move(workers)},
        {"slots", std::move(slots)},
        {"endpoints", std::move(endpoints)},
    };
}

std::string render_json(const Snapshot& snap, const ServedBy& served_by, EndpointLabels labels)
{
    // A config path need not be UTF-8: replace what is not, never throw.
    return stats_json(snap, served_by, labels).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace forkd::stats
