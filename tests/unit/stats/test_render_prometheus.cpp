// Unit tests for stats/render_prometheus.cpp: /metrics in the Prometheus
// text format, with the endpoint labels the app hands in.
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
#include "tests/unit/stats/render_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;
using nlohmann::json;
using render_fixture::known_snapshot;

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
    CHECK(types["forkd_connections_closed_total"] == "counter");
    CHECK(types["forkd_connections_refused_total"] == "counter");
    CHECK(samples["forkd_connections_closed_total{worker=\"0\",reason=\"keepalive\"}"] == 3);
    CHECK(samples["forkd_connections_closed_total{worker=\"1\",reason=\"send_timeout\"}"] == 4);  // retired
    CHECK(samples["forkd_connections_closed_total{worker=\"1\",reason=\"evicted\"}"] == 1);
    CHECK(samples["forkd_connections_refused_total{worker=\"0\",reason=\"emfile\"}"] == 2);
    CHECK(samples.count("forkd_connections_refused_total{worker=\"1\",reason=\"enfile\"}") == 1);
    CHECK(types["forkd_worker_busy"] == "gauge");
    CHECK(samples["forkd_worker_busy{worker=\"0\"}"] == 1);
    CHECK(samples["forkd_worker_busy{worker=\"1\"}"] == 0);
    CHECK(samples["forkd_worker_busy_seconds_total{worker=\"0\"}"] == doctest::Approx(1.5));
    CHECK(samples["forkd_worker_busy_episodes_total{worker=\"0\"}"] == 2);
    CHECK(samples["forkd_taken_over_connections_total{worker=\"1\"}"] == 5);
    CHECK(types["forkd_draining"] == "gauge");
    CHECK(samples.count("forkd_draining{}") == 1);
    CHECK(samples["forkd_draining{}"] == 0);

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

TEST_CASE("/metrics: forkd_draining is 1 while the host drains")
{
    Snapshot snap = known_snapshot();
    snap.server.host_state = HostState::draining;
    const std::string text = render_prometheus(snap, labels);
    CHECK(text.find("\nforkd_draining 1\n") != std::string::npos);
}
