// Unit tests for stats/render_json.cpp: the /stats schema (README.md,
// "Statistics"), with the endpoint labels the app hands in.
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
    CHECK(server["state"] == "serving");
    CHECK(server["state_since_ms"].is_null());  // never drained

    const json& totals = j["totals"];
    CHECK(totals["requests"] == 109);
    CHECK(totals["requests_per_s"].is_null());  // the master has not sampled
    CHECK(totals["in_flight"] == 2);
    CHECK(totals["connections"] == 5);
    CHECK(totals["responses"] == json{{"1xx", 0}, {"2xx", 107}, {"3xx", 0}, {"4xx", 1}, {"5xx", 1}});
    CHECK(totals["restarts"] == 0);
    CHECK(totals["connections_closed"] ==
          json{{"keepalive", 3}, {"header_timeout", 0}, {"send_timeout", 4}, {"evicted", 1}});
    CHECK(totals["connections_refused"] == json{{"emfile", 2}, {"enfile", 0}, {"other", 0}});
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
    CHECK(w["connections_closed"]["keepalive"] == 3);
    CHECK(w["connections_refused"]["emfile"] == 2);
    CHECK(j["workers"][1]["connections_closed"]["evicted"] == 1);
    CHECK(j["workers"][1]["connections_closed"]["send_timeout"] == 0);  // the exited worker's
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
    // Busy steering: slot 0's worker is busy now; slot 1's took 3 + 2 connections over.
    CHECK(w["busy"] == true);
    CHECK(w["taken_over"] == 0);
    CHECK(j["slots"][0]["busy"] == true);
    CHECK(j["slots"][0]["busy_ms"] == 1500);
    CHECK(j["slots"][0]["busy_episodes"] == 2);
    CHECK(s1["busy"] == false);
    CHECK(s1["taken_over"] == 5);
    CHECK(j["totals"]["taken_over"] == 5);
    CHECK(j["totals"]["busy"] == json{{"workers", 1}, {"ms", 1500}, {"episodes", 2}});

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

TEST_CASE("/stats says when the host drains, and since when")
{
    Snapshot snap = known_snapshot();
    snap.server.host_state = HostState::draining;
    snap.server.host_state_since_ms = 1700000005000;
    const json j = json::parse(render_json(snap, ServedBy{103, 1, 3}, labels));
    CHECK(j["server"]["state"] == "draining");
    CHECK(j["server"]["state_since_ms"] == 1700000005000);
    // The workers themselves are not draining: they still serve.
    CHECK(j["server"]["workers"]["ready"] == 2);
    CHECK(j["server"]["workers"]["draining"] == 0);
}
