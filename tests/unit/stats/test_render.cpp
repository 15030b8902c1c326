// Unit tests for stats/render_json.cpp and render_prometheus.cpp: the /stats
// schema (README.md, "Statistics") and the Prometheus text format.
#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "stats/render.hpp"
#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "tests/unit/stats/endpoint_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;
using nlohmann::json;

namespace {

// Two slots; slot 1 had a worker killed (retired) and has a new one.
Snapshot known_snapshot()
{
    Scoreboard sb(4, 2);  // the snapshot is a copy: the board may go
    set_server(sb, ServerInfo{"/etc/forkd \"quoted\".toml", 3, 2});
    auto worker = [&](std::size_t i, int slot, int pid) -> WorkerEntry& {
        WorkerEntry& e = sb.entry(i);
        e.reset(slot, 3, 1700000000000);
        e.pid.store(pid);
        e.state.store(WorkerState::ready);
        return e;
    };
    WorkerEntry& a = worker(0, 0, 101);
    for (int k = 0; k < 90; ++k)
        record_response(a, Endpoint::hello_inline, 200, 5000 + uint64_t(k) * 100);
    for (int k = 0; k < 10; ++k)
        record_response(a, Endpoint::sleep_timer, 200, 100000000);  // 100 ms
    record_response(a, Endpoint::other, 404, 3000);
    a.in_flight.store(2);
    a.connections.store(5);
    WorkerEntry& dead = worker(1, 1, 102);
    for (int k = 0; k < 7; ++k)
        record_response(dead, Endpoint::fib_offload, 200, 2000000);
    retire(sb, dead, 9, 1700000000500);
    WorkerEntry& b = worker(2, 1, 103);
    record_response(b, Endpoint::fib_offload, 503, 4000);
    return take_snapshot(sb, 1700000010000, 0);
}

}  // namespace

TEST_CASE("/stats JSON follows the documented schema")
{
    const Snapshot snap = known_snapshot();
    const json j = json::parse(render_json(snap, ServedBy{103, 1, 3}, labels));

    CHECK(j["served_by"] == json{{"pid", 103}, {"slot", 1}, {"generation", 3}});
    CHECK(j["worker"]["pid"] == 103);
    CHECK(j["worker"]["requests"] == 1);

    const json& server = j["server"];
    CHECK(server["version"].is_string());
    CHECK(server["config_path"] == "/etc/forkd \"quoted\".toml");
    CHECK(server["generation"] == 3);
    CHECK(server["workers_target"] == 2);
    CHECK(server["workers"] == json{{"booting", 0}, {"ready", 2}, {"draining", 0}, {"exited", 0}});
    CHECK(server["now_ms"] == 1700000010000);
    CHECK(server["uptime_s"].is_number());
    CHECK(server["sampled"] == false);

    const json& totals = j["totals"];
    CHECK(totals["requests"] == 109);
    CHECK(totals["requests_per_s"].is_null());  // the master has not sampled
    CHECK(totals["in_flight"] == 2);
    CHECK(totals["connections"] == 5);
    CHECK(totals["responses"] == json{{"1xx", 0}, {"2xx", 107}, {"3xx", 0}, {"4xx", 1}, {"5xx", 1}});
    CHECK(totals["restarts"] == 0);
    for (const char* key : {"p50", "p95", "p99", "max", "mean"})
        CHECK(totals["latency_ms"][key].is_number());
    CHECK(totals["latency_ms"]["max"] == 100.0);
    CHECK(totals["offload"] == json{{"busy", 0}, {"queued", 0}});

    REQUIRE(j["workers"].size() == 2);
    const json& w = j["workers"][0];
    for (const char* key : {"pid",
                            "slot",
                            "generation",
                            "state",
                            "started_ms",
                            "uptime_s",
                            "heartbeat_age_ms",
                            "requests",
                            "requests_per_s",
                            "in_flight",
                            "connections",
                            "bytes_in",
                            "bytes_out",
                            "responses",
                            "latency_ms",
                            "offload",
                            "accept_queue",
                            "rss_bytes",
                            "cpu_ms",
                            "cpu_percent",
                            "restarts"})
        CHECK_MESSAGE(w.contains(key), key);
    CHECK(w["pid"] == 101);
    CHECK(w["state"] == "ready");
    CHECK(w["requests"] == 101);
    CHECK(w["uptime_s"] == 10.0);
    CHECK(w["rss_bytes"].is_null());
    CHECK(w["accept_queue"] == json{{"queued", 0}, {"backlog", 0}});
    // p50 of 90 fast and 10 slow requests is a fast one (5 .. 14 us).
    CHECK(w["latency_ms"]["p50"].get<double>() < 0.015);
    CHECK(w["latency_ms"]["p99"].get<double>() == doctest::Approx(100.0).epsilon(0.04));

    REQUIRE(j["slots"].size() == 2);
    const json& s1 = j["slots"][1];
    CHECK(s1["slot"] == 1);
    CHECK(s1["requests"] == 8);  // 7 retired + 1 live
    CHECK(s1["exits"] == 1);
    CHECK(s1["last_exit"]["reason"] == "signal 9 (Killed)");
    CHECK(s1["last_exit"]["signal"] == 9);
    CHECK(s1["last_exit"]["code"].is_null());
    CHECK(s1["last_exit"]["at_ms"] == 1700000000500);
    CHECK(j["slots"][0]["last_exit"].is_null());

    REQUIRE(j["endpoints"].size() == labels.size());  // one per label handed in
    std::map<std::string, json> by_key;
    for (const json& e : j["endpoints"])
        by_key[e["route"].get<std::string>() + " " + e["mode"].get<std::string>()] = e;
    CHECK(by_key["/hello inline"]["requests"] == 90);
    CHECK(by_key["/hello inline"]["responses"] == json{{"200", 90}});
    CHECK(by_key["/fib/{n} offload"]["requests"] == 8);
    CHECK(by_key["/fib/{n} offload"]["responses"] == json{{"200", 7}, {"503", 1}});
    CHECK(by_key["/fib/{n} offload"]["latency_ms"]["max"] == 2.0);
    CHECK(by_key["other none"]["responses"] == json{{"404", 1}});
    CHECK(by_key["/healthz none"]["requests"] == 0);
    CHECK(by_key["/healthz none"]["latency_ms"]["p50"].is_null());
    const double p50 = by_key["/sleep/{ms} timer"]["latency_ms"]["p50"].get<double>();
    CHECK(p50 == doctest::Approx(100.0).epsilon(0.04));
}

TEST_CASE("/stats JSON of an empty board")
{
    Scoreboard sb(2);
    const json j = json::parse(render_json(take_snapshot(sb), ServedBy{1, 0, 1}, labels));
    CHECK(j["workers"].empty());
    CHECK(j["worker"].is_null());
    CHECK(j["totals"]["requests"] == 0);
    CHECK(j["totals"]["latency_ms"]["p95"].is_null());
    CHECK(j["server"]["config_path"].is_null());
}

TEST_CASE("/metrics is well-formed Prometheus text")
{
    const std::string text = render_prometheus(known_snapshot(), labels);
    const std::regex sample_re(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$)");
    const std::regex type_re(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$)");
    std::map<std::string, std::string> types;  // family -> type
    std::set<std::string> closed;              // families already left behind
    std::string current;
    std::map<std::string, double> samples;  // "name{labels}" -> value

    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        CAPTURE(line);
        std::smatch m;
        if (line.rfind("# HELP ", 0) == 0)
            continue;
        if (std::regex_match(line, m, type_re)) {
            const std::string family = m[1];
            CHECK(types.count(family) == 0);  // declared once
            CHECK(family.rfind("forkd_", 0) == 0);
            if (m[2] == "counter")
                CHECK(family.size() > 6);
            if (m[2] == "counter")
                CHECK(family.substr(family.size() - 6) == "_total");
            types[family] = m[2];
            if (!current.empty())
                closed.insert(current);
            current = family;
            continue;
        }
        REQUIRE(std::regex_match(line, m, sample_re));
        std::string name = m[1];
        // A histogram's samples belong to the family without the suffix.
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            const std::string s = suffix;
            if (name.size() > s.size() && name.substr(name.size() - s.size()) == s &&
                types.count(name.substr(0, name.size() - s.size())) &&
                types[name.substr(0, name.size() - s.size())] == "histogram")
                name = name.substr(0, name.size() - s.size());
        }
        CHECK(name == current);  // samples follow their TYPE, not interleaved
        CHECK(closed.count(name) == 0);
        CHECK_NOTHROW(std::stod(m[4].str()));
        samples[std::string(m[1]) + "{" + std::string(m[3]) + "}"] = std::stod(m[4].str());
    }

    CHECK(types["forkd_requests_total"] == "counter");
    CHECK(types["forkd_request_duration_seconds"] == "histogram");
    CHECK(samples["forkd_requests_total{worker=\"0\",route=\"/hello\",mode=\"inline\",code=\"200\"}"] == 90);
    CHECK(samples["forkd_requests_total{worker=\"1\",route=\"/fib/{n}\",mode=\"offload\",code=\"200\"}"] == 7);
    CHECK(samples["forkd_requests_total{worker=\"1\",route=\"/fib/{n}\",mode=\"offload\",code=\"503\"}"] == 1);
    CHECK(samples["forkd_requests_total{worker=\"0\",route=\"other\",mode=\"none\",code=\"404\"}"] == 1);
    CHECK(samples["forkd_worker_restarts_total{worker=\"1\"}"] == 0);
    CHECK(samples["forkd_worker_exits_total{worker=\"1\"}"] == 1);
    CHECK(samples["forkd_worker_last_exit_time_seconds{worker=\"1\",reason=\"signal 9 (Killed)\"}"] ==
          doctest::Approx(1700000000.5));
    CHECK(samples["forkd_in_flight_requests{worker=\"0\"}"] == 2);
    CHECK(samples["forkd_workers{state=\"ready\"}"] == 2);

    // The histogram: cumulative, monotone, +Inf equals _count.
    const std::string sleep_labels = "route=\"/sleep/{ms}\",mode=\"timer\"";
    CHECK(samples["forkd_request_duration_seconds_count{" + sleep_labels + "}"] == 10);
    CHECK(samples["forkd_request_duration_seconds_bucket{" + sleep_labels + ",le=\"+Inf\"}"] == 10);
    CHECK(samples["forkd_request_duration_seconds_bucket{" + sleep_labels + ",le=\"0.05\"}"] == 0);
    CHECK(samples["forkd_request_duration_seconds_bucket{" + sleep_labels + ",le=\"0.25\"}"] == 10);
    CHECK(samples["forkd_request_duration_seconds_sum{" + sleep_labels + "}"] == doctest::Approx(1.0));
    const std::string hello = "route=\"/hello\",mode=\"inline\"";
    double prev = 0;
    for (const char* le : {"5e-05", "0.0001", "0.001", "0.01", "0.1", "1", "10", "60", "+Inf"}) {
        const double v = samples["forkd_request_duration_seconds_bucket{" + hello + ",le=\"" + le + "\"}"];
        CHECK(v >= prev);
        prev = v;
    }
    CHECK(prev == 90);
}

TEST_CASE("label values are escaped")
{
    Snapshot snap;
    SlotSnapshot s;
    s.last_exit.reason = "a \"quoted\\\" reason\nline";
    s.last_exit.at_ms = 1000;
    snap.slots.push_back(s);
    const std::string text = render_prometheus(snap, labels);
    CHECK(text.find("reason=\"a \\\"quoted\\\\\\\" reason\\nline\"} 1\n") != std::string::npos);
}
