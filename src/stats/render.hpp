// stats/render.hpp: /stats (JSON) and /metrics (Prometheus text) from a snapshot.
//
// Pure functions of a Snapshot: no shared memory, no clocks, no I/O. The JSON
// schema is documented in README.md, "Statistics"; the metric names there
// too. Rendering happens on a worker's loop when /stats or /metrics is
// asked for: percentiles are computed here, never when recording.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stats/snapshot.hpp"

namespace forkd::stats {

// The worker that answers (the "served_by" object).
struct ServedBy {
    long pid = 0;
    int slot = 0;
    int generation = 0;
};

// `labels` names the endpoint counters, in index order (the app's table):
// one "endpoints" object per label.
nlohmann::ordered_json stats_json(const Snapshot& snap, const ServedBy& served_by, EndpointLabels labels);
std::string render_json(const Snapshot& snap, const ServedBy& served_by, EndpointLabels labels);

// The latency object of /stats: {"p50", "p95", "p99", "max", "mean"} in
// milliseconds (to the nanosecond), or nulls when nothing was recorded.
nlohmann::ordered_json latency_json(const Histogram& h);

// Prometheus text exposition format 0.0.4 (Content-Type
// "text/plain; version=0.0.4"); passes `promtool check metrics`.
std::string render_prometheus(const Snapshot& snap, EndpointLabels labels);

}  // namespace forkd::stats
