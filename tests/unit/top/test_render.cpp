// Unit tests for top/render.cpp: frames from a captured /stats document
// (stats_capture.json, from a live two-worker forkd, with the master's
// sampled figures filled in for worker 0).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "top/render.hpp"

using namespace forkd::top;
using nlohmann::json;

namespace {

json captured()
{
    std::ifstream in(std::string(FORKD_SOURCE_ROOT) + "/tests/unit/top/stats_capture.json");
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

std::string joined(const std::vector<std::string>& lines)
{
    std::string out;
    for (const std::string& l : lines)
        out += l + "\n";
    return out;
}

const std::string* line_starting(const std::vector<std::string>& lines, const std::string& prefix)
{
    for (const std::string& l : lines) {
        if (l.rfind(prefix, 0) == 0)
            return &l;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("top renders a captured /stats: summary, one row per worker, routes")
{
    const json stats = captured();
    FrameInput in;
    in.now = &stats;
    in.url = "http://127.0.0.1:8000/stats";
    const auto lines = render(in, Screen{80, 0});
    const std::string text = joined(lines);
    CAPTURE(text);
    for (const std::string& l : lines)
        CHECK(l.size() <= 80);
    CHECK(lines[0].rfind("forkd 0.1.0  master 18799  generation 1  up 5m16s  workers 2/2 ready", 0) == 0);
    CHECK(text.find("requests 67  30.0 req/s  in flight 1  connections 1  restarts 0") != std::string::npos);
    CHECK(text.find("latency  p50 5.00us  p95 737us  p99 29.9ms  max 30.1ms") != std::string::npos);
    CHECK(text.find("responses  2xx 58  3xx 0  4xx 9  5xx 0") != std::string::npos);

    const std::string* header = line_starting(lines, "SLOT");
    REQUIRE(header != nullptr);
    CHECK(*header == "SLOT     PID STATE       REQ/S  INFL  CONN  ACCQ       P95     RSS   CPU%  RST");
    const std::string* w0 = line_starting(lines, "   0   18801 ready");
    REQUIRE(w0 != nullptr);
    // Sampled: the server's req/s, RSS and CPU.
    CHECK(*w0 == "   0   18801 ready        30.0     1     1     0    20.4ms     12M   12.5    0");
    const std::string* w1 = line_starting(lines, "   1   18802 ready");
    REQUIRE(w1 != nullptr);
    CHECK(w1->find("       -      -    0") != std::string::npos);  // not sampled yet: dashes
    CHECK(line_starting(lines, "             total") != nullptr);

    // The busiest routes, most requests first without a previous frame.
    const std::string* routes = line_starting(lines, "ROUTE");
    REQUIRE(routes != nullptr);
    const std::string* hello = line_starting(lines, "/hello           inline");
    REQUIRE(hello != nullptr);
    CHECK(hello > routes);
    CHECK(line_starting(lines, "/healthz") == nullptr);  // no requests: not listed
    CHECK(lines.back() == "http://127.0.0.1:8000/stats");
}

TEST_CASE("top computes rates from the previous frame")
{
    const json prev = captured();
    json now = prev;
    now["workers"][1]["requests"] = now["workers"][1]["requests"].get<int>() + 50;
    now["totals"]["requests"] = now["totals"]["requests"].get<int>() + 50;
    for (json& e : now["endpoints"]) {
        if (e["route"] == "/fib/{n}" && e["mode"] == "offload")
            e["requests"] = e["requests"].get<int>() + 50;
    }
    FrameInput in;
    in.now = &now;
    in.prev = &prev;
    in.elapsed_s = 2.0;
    in.interactive = true;
    in.url = "u";
    const auto lines = render(in, Screen{80, 0});
    const std::string text = joined(lines);
    CAPTURE(text);
    CHECK(text.find("requests 117  25.0 req/s") != std::string::npos);
    const std::string* w1 = line_starting(lines, "   1   18802 ready");
    REQUIRE(w1 != nullptr);
    CHECK(w1->find("ready        25.0") != std::string::npos);
    const std::string* w0 = line_starting(lines, "   0   18801 ready");
    CHECK(w0->find("ready         0.0") != std::string::npos);
    // Busiest route first: the one that moved.
    const std::string* routes = line_starting(lines, "ROUTE");
    REQUIRE(routes != nullptr);
    CHECK((routes + 1)->rfind("/fib/{n}         offload          51      25.0", 0) == 0);
    CHECK(lines.back() == "q quit   u");
}

TEST_CASE("top fits small terminals: narrow lines, few rows")
{
    const json stats = captured();
    FrameInput in;
    in.now = &stats;
    in.url = "http://127.0.0.1:8000/stats";
    auto lines = render(in, Screen{40, 0});
    for (const std::string& l : lines)
        CHECK(l.size() <= 40);

    lines = render(in, Screen{80, 12});
    CHECK(lines.size() <= 12);
    CHECK(line_starting(lines, "SLOT") != nullptr);
    CHECK(line_starting(lines, "             total") != nullptr);  // kept: it sums every worker

    lines = render(in, Screen{80, 9});
    CHECK(lines.size() <= 9);
    const std::string text = joined(lines);
    CAPTURE(text);
    CHECK(text.find("more workers") != std::string::npos);
}

TEST_CASE("top renders what it can of odd documents")
{
    const json odd = json::parse(R"({"server": {"version": 2}, "workers": [{"pid": null}], "endpoints": 5})");
    FrameInput in;
    in.now = &odd;
    const auto lines = render(in, Screen{80, 0});
    CHECK(lines.size() > 5);
    const json not_object = json::array();
    in.now = &not_object;
    CHECK_NOTHROW(render(in, Screen{80, 0}));
    in.now = nullptr;
    CHECK_NOTHROW(render(in, Screen{80, 0}));
    const auto err = render_error("http://x/stats", "Connection refused", Screen{80, 0}, true);
    CHECK(err[0] == "forkd top: cannot read http://x/stats");
    CHECK(err[1] == "  Connection refused");
}

TEST_CASE("top's number formats")
{
    CHECK(human_bytes(512) == "512B");
    CHECK(human_bytes(12713984) == "12M");
    CHECK(human_bytes(1536) == "1.5K");
    CHECK(human_bytes(-1) == "-");
    CHECK(human_uptime(59.9) == "59s");
    CHECK(human_uptime(316.7) == "5m16s");
    CHECK(human_uptime(3725) == "1h02m");
    CHECK(human_uptime(90000) == "1d01h");
    CHECK(human_duration_ms(0.000102) == "102ns");
    CHECK(human_duration_ms(0.005) == "5.00us");
    CHECK(human_duration_ms(0.0524) == "52.4us");
    CHECK(human_duration_ms(0.737) == "737us");
    CHECK(human_duration_ms(20.447) == "20.4ms");
    CHECK(human_duration_ms(1500) == "1.50s");
    CHECK(human_duration_ms(-1) == "-");
}

TEST_CASE("top says a drained host is draining, and for how long")
{
    json stats = captured();
    FrameInput in;
    in.now = &stats;
    in.url = "u";
    CHECK(joined(render(in, Screen{80, 0})).find("DRAINING") == std::string::npos);
    stats["server"]["state"] = "draining";
    stats["server"]["state_since_ms"] = stats["server"]["now_ms"].get<double>() - 75000;
    const auto lines = render(in, Screen{80, 0});
    CAPTURE(joined(lines));
    REQUIRE(lines.size() > 1);
    CHECK(lines[1] == "DRAINING for 1m15s: /healthz answers 503, keep-alive connections close");
}
