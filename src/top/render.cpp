// top/render.cpp: the frame of `forkd top` (render.hpp).
//
// Reads the /stats document defensively: a missing key or a null (a figure
// the master has not sampled yet) shows as "-", never as an exception, so a
// newer or older forkd still renders. Rates come from the difference between
// two documents when there are two, else from the server's own figures.
#include "top/render.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>

namespace forkd::top {
namespace {

using nlohmann::json;

constexpr double missing = std::numeric_limits<double>::quiet_NaN();

// j[key] as a number; NaN when absent, null or not a number.
double num(const json& j, std::string_view key)
{
    if (!j.is_object())
        return missing;
    auto it = j.find(key);
    if (it == j.end() || !it->is_number())
        return missing;
    return it->get<double>();
}

const json& sub(const json& j, std::string_view key)
{
    static const json null_value;
    if (!j.is_object())
        return null_value;
    auto it = j.find(key);
    return it == j.end() ? null_value : *it;
}

std::string str(const json& j, std::string_view key, std::string_view fallback = "-")
{
    const json& v = sub(j, key);
    return v.is_string() ? v.get<std::string>() : std::string(fallback);
}

std::string fixed(double v, int decimals)
{
    return std::isnan(v) ? "-" : fmt::format("{:.{}f}", v, decimals);
}

std::string count(double v)
{
    return std::isnan(v) ? "-" : fmt::format("{:.0f}", v);
}

// A rate from two counters, or the server's figure when there is no previous one.
double rate(double now, double prev, double elapsed_s, double fallback)
{
    if (!std::isnan(now) && !std::isnan(prev) && elapsed_s > 0 && now >= prev)
        return (now - prev) / elapsed_s;
    return fallback;
}

// A latency (given in ms) with a unit that suits it: "228ns", "52.0us", "1.20ms".
std::string ms_text(const json& latency, std::string_view key)
{
    return human_duration_ms(num(latency, key));
}

class Lines {
public:
    explicit Lines(Screen s) : screen_(s) { }
    void add(std::string line)
    {
        if (screen_.cols > 0 && int(line.size()) > screen_.cols)
            line.resize(std::size_t(screen_.cols));
        lines_.push_back(std::move(line));
    }
    // How many more lines fit before `reserve` lines kept for what follows.
    int room(int reserve) const
    {
        if (screen_.rows <= 0)
            return 1 << 20;
        return std::max(0, screen_.rows - int(lines_.size()) - reserve);
    }
    std::vector<std::string> take()
    {
        if (screen_.rows > 0 && int(lines_.size()) > screen_.rows)
            lines_.resize(std::size_t(screen_.rows));
        return std::move(lines_);
    }

private:
    Screen screen_;
    std::vector<std::string> lines_;
};

// 4+1+7+1+8+1+8+1+5+1+5+1+5+1+9+1+7+1+6+1+4 = 79 columns.
constexpr const char* worker_format = "{:>4} {:>7} {:<8} {:>8} {:>5} {:>5} {:>5} {:>9} {:>7} {:>6} {:>4}";
// 16+1+8+1+10+1+9+1+9+1+9+1+9 = 76 columns.
constexpr const char* route_format = "{:<16} {:<8} {:>10} {:>9} {:>9} {:>9} {:>9}";

void summary(Lines& out, const json& s, double total_rate)
{
    const json& server = sub(s, "server");
    const json& totals = sub(s, "totals");
    const json& workers = sub(server, "workers");
    const double target = num(server, "workers_target");
    const std::string of_target = std::isnan(target) || target <= 0 ? "" : fmt::format("/{}", count(target));
    out.add(fmt::format("forkd {}  master {}  generation {}  up {}  workers {}{} ready", str(server, "version"),
                        count(num(server, "master_pid")), count(num(server, "generation")),
                        human_uptime(num(server, "uptime_s")), count(num(workers, "ready")), of_target));
    if (str(server, "state", "serving") == "draining") {
        // A drained host still serves: say so before anything else, and for how long.
        const double since_s = (num(server, "now_ms") - num(server, "state_since_ms")) / 1000;
        out.add(
            fmt::format("DRAINING for {}: /healthz answers 503, keep-alive connections close", human_uptime(since_s)));
    }
    out.add(fmt::format("requests {}  {} req/s  in flight {}  connections {}  restarts {}",
                        count(num(totals, "requests")), fixed(total_rate, 1), count(num(totals, "in_flight")),
                        count(num(totals, "connections")), count(num(totals, "restarts"))));
    const json& latency = sub(totals, "latency_ms");
    out.add(fmt::format("latency  p50 {}  p95 {}  p99 {}  max {}", ms_text(latency, "p50"), ms_text(latency, "p95"),
                        ms_text(latency, "p99"), ms_text(latency, "max")));
    const json& responses = sub(totals, "responses");
    out.add(fmt::format("responses  2xx {}  3xx {}  4xx {}  5xx {}  in {}  out {}", count(num(responses, "2xx")),
                        count(num(responses, "3xx")), count(num(responses, "4xx")), count(num(responses, "5xx")),
                        human_bytes(num(totals, "bytes_in")), human_bytes(num(totals, "bytes_out"))));
}

void worker_table(Lines& out, const json& s, const json* prev, double elapsed_s, int reserve)
{
    std::map<double, double> prev_requests;  // pid -> requests
    if (prev != nullptr) {
        for (const json& w : sub(*prev, "workers")) {
            if (!std::isnan(num(w, "pid")))
                prev_requests[num(w, "pid")] = num(w, "requests");
        }
    }
    out.add(fmt::format(worker_format, "SLOT", "PID", "STATE", "REQ/S", "INFL", "CONN", "ACCQ", "P95", "RSS", "CPU%",
                        "RST"));
    const json& workers = sub(s, "workers");
    const std::size_t n = workers.is_array() ? workers.size() : 0;
    double sum_rate = 0, sum_rss = 0, sum_cpu = 0, sum_infl = 0, sum_conn = 0, sum_accq = 0;
    bool any_rate = false, any_rss = false, any_cpu = false;
    std::size_t shown = 0;
    // Rows that fit above the total row; when not all do, one of them says so.
    const int fit = out.room(reserve + 1);
    const std::size_t show = int(n) <= fit ? n : std::size_t(std::max(fit - 1, 0));
    for (std::size_t i = 0; i < n; ++i) {
        const json& w = workers[i];
        const double pid = num(w, "pid");
        auto it = prev_requests.find(pid);
        const double r = rate(num(w, "requests"), it != prev_requests.end() ? it->second : missing, elapsed_s,
                              num(w, "requests_per_s"));
        const double rss = num(w, "rss_bytes");
        const double cpu = num(w, "cpu_percent");
        if (!std::isnan(r)) {
            sum_rate += r;
            any_rate = true;
        }
        if (!std::isnan(rss)) {
            sum_rss += rss;
            any_rss = true;
        }
        if (!std::isnan(cpu)) {
            sum_cpu += cpu;
            any_cpu = true;
        }
        sum_infl += std::isnan(num(w, "in_flight")) ? 0 : num(w, "in_flight");
        sum_conn += std::isnan(num(w, "connections")) ? 0 : num(w, "connections");
        const double accq = num(sub(w, "accept_queue"), "queued");
        sum_accq += std::isnan(accq) ? 0 : accq;
        if (i >= show)
            continue;  // still summed into the total row
        // A busy worker (its loop blocked, new connections steered away) says so in STATE.
        const bool busy = w.is_object() && w.contains("busy") && w["busy"].is_boolean() && w["busy"].get<bool>();
        out.add(fmt::format(worker_format, count(num(w, "slot")), count(pid), busy ? "busy" : str(w, "state"),
                            fixed(r, 1), count(num(w, "in_flight")), count(num(w, "connections")), count(accq),
                            ms_text(sub(w, "latency_ms"), "p95"), human_bytes(rss), fixed(cpu, 1),
                            count(num(w, "restarts"))));
        ++shown;
    }
    if (shown < n)
        out.add(fmt::format("  ... {} more workers (enlarge the terminal)", n - shown));
    out.add(fmt::format(worker_format, "", "", "total", any_rate ? fixed(sum_rate, 1) : "-", count(sum_infl),
                        count(sum_conn), count(sum_accq), ms_text(sub(sub(s, "totals"), "latency_ms"), "p95"),
                        any_rss ? human_bytes(sum_rss) : "-", any_cpu ? fixed(sum_cpu, 1) : "-",
                        count(num(sub(s, "totals"), "restarts"))));
}

void route_table(Lines& out, const json& s, const json* prev, double elapsed_s, int reserve)
{
    std::map<std::pair<std::string, std::string>, double> prev_requests;
    if (prev != nullptr) {
        for (const json& e : sub(*prev, "endpoints"))
            prev_requests[{str(e, "route"), str(e, "mode")}] = num(e, "requests");
    }
    struct Row {
        const json* e;
        double requests;
        double rate;
    };
    std::vector<Row> rows;
    for (const json& e : sub(s, "endpoints")) {
        const double requests = num(e, "requests");
        if (std::isnan(requests) || requests <= 0)
            continue;
        auto it = prev_requests.find({str(e, "route"), str(e, "mode")});
        rows.push_back(
            {&e, requests, rate(requests, it != prev_requests.end() ? it->second : missing, elapsed_s, missing)});
    }
    // Busiest first: by rate when there is one, else by requests.
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        const double ra = std::isnan(a.rate) ? -1 : a.rate;
        const double rb = std::isnan(b.rate) ? -1 : b.rate;
        return ra != rb ? ra > rb : a.requests > b.requests;
    });
    const int fit = out.room(reserve + 1);  // + the header
    if (fit <= 0)
        return;
    out.add(fmt::format(route_format, "ROUTE", "MODE", "REQUESTS", "REQ/S", "P50", "P95", "P99"));
    if (rows.empty())
        out.add("  (no requests yet)");
    for (std::size_t i = 0; i < rows.size() && int(i) < fit; ++i) {
        const json& e = *rows[i].e;
        const json& latency = sub(e, "latency_ms");
        out.add(fmt::format(route_format, str(e, "route"), str(e, "mode"), count(rows[i].requests),
                            fixed(rows[i].rate, 1), ms_text(latency, "p50"), ms_text(latency, "p95"),
                            ms_text(latency, "p99")));
    }
}

std::string footer(std::string_view url, bool interactive)
{
    return interactive ? fmt::format("q quit   {}", url) : std::string(url);
}

}  // namespace

std::string human_bytes(double bytes)
{
    if (std::isnan(bytes) || bytes < 0)
        return "-";
    constexpr const char* units[] = {"B", "K", "M", "G", "T"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        ++u;
    }
    if (u == 0)
        return fmt::format("{:.0f}B", bytes);
    return bytes < 10 ? fmt::format("{:.1f}{}", bytes, units[u]) : fmt::format("{:.0f}{}", bytes, units[u]);
}

std::string human_duration_ms(double ms)
{
    if (std::isnan(ms) || ms < 0)
        return "-";
    const double ns = ms * 1e6;
    // Three significant digits in the largest unit that keeps one before the point.
    auto three = [](double v, const char* unit) {
        if (v >= 100)
            return fmt::format("{:.0f}{}", v, unit);
        if (v >= 10)
            return fmt::format("{:.1f}{}", v, unit);
        return fmt::format("{:.2f}{}", v, unit);
    };
    if (ns < 999.5)
        return fmt::format("{:.0f}ns", ns);
    if (ns < 999.5e3)
        return three(ns / 1e3, "us");
    if (ns < 999.5e6)
        return three(ns / 1e6, "ms");
    return three(ns / 1e9, "s");
}

std::string human_uptime(double seconds)
{
    if (std::isnan(seconds) || seconds < 0)
        return "-";
    const long s = long(seconds);
    if (s < 60)
        return fmt::format("{}s", s);
    if (s < 3600)
        return fmt::format("{}m{:02}s", s / 60, s % 60);
    if (s < 86400)
        return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::vector<std::string> render(const FrameInput& in, Screen screen)
{
    Lines out(screen);
    static const json empty = json::object();
    const json& s = in.now != nullptr ? *in.now : empty;
    const double total_rate =
        rate(num(sub(s, "totals"), "requests"), in.prev ? num(sub(*in.prev, "totals"), "requests") : missing,
             in.elapsed_s, num(sub(s, "totals"), "requests_per_s"));
    summary(out, s, total_rate);
    out.add("");
    // Workers come first; the routes get what is left above the footer.
    worker_table(out, s, in.prev, in.elapsed_s, 2);
    out.add("");
    route_table(out, s, in.prev, in.elapsed_s, 2);
    out.add("");
    out.add(footer(in.url, in.interactive));
    return out.take();
}

std::vector<std::string> render_error(std::string_view url, std::string_view error, Screen screen, bool interactive)
{
    Lines out(screen);
    out.add(fmt::format("forkd top: cannot read {}", url));
    out.add(fmt::format("  {}", error));
    out.add(interactive ? "  retrying every second; q quits" : "");
    return out.take();
}

}  // namespace forkd::top
