// config/keys.cpp: the table of configuration keys and what it can tell.
//
// Owns the rules of each key (type, range, names) in one place, grouped like
// gunicorn's settings documentation, and the wording that describes them in
// error messages. Reading TOML (config/load.cpp) and flags (config/cli.cpp)
// happens elsewhere; both ask this table.
#include "config/keys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace forkd::config::detail {

namespace {

// A captureless lambda converts to the accessor of the field's own type,
// which picks the Field alternative and so how the key is read.
#define FORKD_FIELD(member)                                                                                            \
    [](Settings & s) -> auto&                                                                                          \
    {                                                                                                                  \
        return s.member;                                                                                               \
    }

constexpr double one_year_s = 365.0 * 24 * 3600;  // no sane duration is longer

constexpr Range between(double min, double max)
{
    return {min, max, false};
}
constexpr Range at_least(double min)
{
    return {min, Range{}.max, false};
}
constexpr Range seconds_from_zero = {0, one_year_s, false};
constexpr Range seconds_above_zero = {0, one_year_s, true};

constexpr std::array<std::string_view, 7> log_levels = {"trace", "debug",    "info", "warning",
                                                        "error", "critical", "off"};
constexpr std::array<std::string_view, 2> access_log_formats = {"combined", "json"};
constexpr std::array<std::string_view, 3> table_names = {"log", "stats", "endpoints"};

const Key key_table[] = {
    // Server socket
    {.table = "",
     .name = "bind",
     .field = FORKD_FIELD(bind),
     .what = "\"host:port\" or \"[ipv6]:port\" with a port 1..65535, or an array of them"},
    {.table = "", .name = "backlog", .field = FORKD_FIELD(backlog), .range = between(1, 65535)},
    {.table = "", .name = "reuse_port", .field = FORKD_FIELD(reuse_port)},
    // Worker processes
    {.table = "", .name = "workers", .field = FORKD_FIELD(workers), .range = between(0, 1024)},
    {.table = "", .name = "threads", .field = FORKD_FIELD(threads), .range = between(0, 1024)},
    {.table = "", .name = "offload_queue", .field = FORKD_FIELD(offload_queue), .range = between(1, 1e6)},
    {.table = "", .name = "worker_connections", .field = FORKD_FIELD(worker_connections), .range = between(1, 1e6)},
    {.table = "", .name = "max_requests", .field = FORKD_FIELD(max_requests), .range = at_least(0)},
    {.table = "", .name = "max_requests_jitter", .field = FORKD_FIELD(max_requests_jitter), .range = at_least(0)},
    {.table = "", .name = "max_worker_rss", .field = FORKD_FIELD(max_worker_rss), .range = at_least(0)},
    {.table = "", .name = "recycle_concurrency", .field = FORKD_FIELD(recycle_concurrency), .range = at_least(1)},
    {.table = "", .name = "busy_steering", .field = FORKD_FIELD(busy_steering)},
    {.table = "", .name = "busy_after_ms", .field = FORKD_FIELD(busy_after_ms), .range = between(1, 60000)},
    // Timeouts
    {.table = "", .name = "timeout", .field = FORKD_FIELD(timeout), .range = seconds_above_zero},
    {.table = "", .name = "graceful_timeout", .field = FORKD_FIELD(graceful_timeout), .range = seconds_from_zero},
    {.table = "", .name = "shutdown_delay", .field = FORKD_FIELD(shutdown_delay), .range = seconds_from_zero},
    {.table = "", .name = "keepalive", .field = FORKD_FIELD(keepalive), .range = seconds_from_zero},
    {.table = "", .name = "header_timeout", .field = FORKD_FIELD(header_timeout), .range = seconds_above_zero},
    {.table = "", .name = "send_timeout", .field = FORKD_FIELD(send_timeout), .range = seconds_above_zero},
    // Security: request limits
    {.table = "", .name = "limit_request_line", .field = FORKD_FIELD(limit_request_line), .range = between(64, 65536)},
    {.table = "",
     .name = "limit_request_fields",
     .field = FORKD_FIELD(limit_request_fields),
     .range = between(1, 32768)},
    {.table = "",
     .name = "limit_request_field_size",
     .field = FORKD_FIELD(limit_request_field_size),
     .range = between(64, 65536)},
    {.table = "", .name = "max_body_size", .field = FORKD_FIELD(max_body_size), .range = at_least(0)},
    // Server mechanics
    {.table = "", .name = "pidfile", .field = FORKD_FIELD(pidfile)},
    {.table = "", .name = "user", .field = FORKD_FIELD(user)},
    {.table = "", .name = "group", .field = FORKD_FIELD(group)},
    {.table = "",
     .name = "umask",
     .field = FORKD_FIELD(umask),
     .range = between(0, 0777),
     .octal = true,
     .what = "an integer 0o000..0o777 or a string of octal digits like \"022\""},
    // [log]
    {.table = "log", .name = "level", .field = FORKD_FIELD(log.level), .choices = log_levels},
    {.table = "log", .name = "error_log", .field = FORKD_FIELD(log.error_log)},
    {.table = "log", .name = "access_log", .field = FORKD_FIELD(log.access_log)},
    {.table = "log",
     .name = "access_log_format",
     .field = FORKD_FIELD(log.access_log_format),
     .choices = access_log_formats},
    // [stats]
    {.table = "stats", .name = "interval", .field = FORKD_FIELD(stats.interval), .range = seconds_from_zero},
    {.table = "stats",
     .name = "allow",
     .field = FORKD_FIELD(stats.allow),
     .valid = is_cidr,
     .what = "an array of CIDRs like \"127.0.0.0/8\" or \"::1/128\""},
    {.table = "stats",
     .name = "bind",
     .field = FORKD_FIELD(stats.bind),
     .valid = is_bind_or_empty,
     .what = "\"\" or \"host:port\" or \"[ipv6]:port\" with a port 1..65535"},
    // [endpoints]
    {.table = "endpoints",
     .name = "fib_max_n",
     .field = FORKD_FIELD(endpoints.fib_max_n),
     .range = between(0, 92)},  // F(92) is the largest Fibonacci number in a uint64
    {.table = "endpoints",
     .name = "sleep_max_ms",
     .field = FORKD_FIELD(endpoints.sleep_max_ms),
     .range = between(0, 3600000)},
    {.table = "endpoints", .name = "hello_mode", .field = FORKD_FIELD(endpoints.hello_mode), .mode = true},
    {.table = "endpoints", .name = "sleep_mode", .field = FORKD_FIELD(endpoints.sleep_mode), .mode = true},
    {.table = "endpoints", .name = "fib_mode", .field = FORKD_FIELD(endpoints.fib_mode), .mode = true},
    {.table = "endpoints", .name = "fibo_sleep_mode", .field = FORKD_FIELD(endpoints.fibo_sleep_mode), .mode = true},
    {.table = "endpoints", .name = "echo", .field = FORKD_FIELD(endpoints.echo)},
};

#undef FORKD_FIELD

std::string one_of(std::span<const std::string_view> names)
{
    std::string text = "one of ";
    for (std::size_t i = 0; i < names.size(); ++i) {
        text += fmt::format("{}\"{}\"", i == 0 ? "" : ", ", names[i]);
    }
    return text;
}

std::string bounds(const Range& range)
{
    std::string text;
    if (std::isfinite(range.min)) {
        text += fmt::format(" {} {}", range.above ? ">" : ">=", range.min);
    }
    if (std::isfinite(range.max)) {
        text += fmt::format("{} <= {}", text.empty() ? "" : " and", range.max);
    }
    return text;
}

// What the field's type alone says; expected() adds the key's own rules.
struct TypeWords {
    const Range& range;
    std::string operator()(Access<int>) const { return "an integer" + bounds(range); }
    std::string operator()(Access<int64_t>) const { return "an integer" + bounds(range); }
    std::string operator()(Access<double>) const { return "a number of seconds" + bounds(range); }
    std::string operator()(Access<bool>) const { return "true or false"; }
    std::string operator()(Access<std::string>) const { return "a string"; }
    std::string operator()(Access<std::vector<std::string>>) const { return "an array of strings"; }
    std::string operator()(Access<std::vector<BindAddress>>) const { return "an array of \"host:port\""; }
};

// Edits between two short names: insertions, deletions, substitutions and
// swaps of neighbours ("lgo" is one edit from "log"), i.e. the optimal string
// alignment distance.
std::size_t edit_distance(std::string_view a, std::string_view b)
{
    const std::size_t width = b.size() + 1;
    std::vector<std::size_t> d((a.size() + 1) * width);
    auto at = [&](std::size_t i, std::size_t j) -> std::size_t& { return d[i * width + j]; };
    for (std::size_t i = 0; i <= a.size(); ++i) {
        at(i, 0) = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j) {
        at(0, j) = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
            }
        }
    }
    return at(a.size(), b.size());
}

}  // namespace

std::string Key::dotted() const
{
    return table.empty() ? std::string(name) : fmt::format("{}.{}", table, name);
}

std::span<const Key> keys()
{
    return key_table;
}

std::span<const std::string_view> tables()
{
    return table_names;
}

const Key* find_key(std::string_view table, std::string_view name)
{
    for (const Key& key : key_table) {
        if (key.table == table && key.name == name) {
            return &key;
        }
    }
    return nullptr;
}

const Key* find_key(std::string_view dotted)
{
    const auto dot = dotted.find('.');
    if (dot == std::string_view::npos) {
        return find_key("", dotted);
    }
    return find_key(dotted.substr(0, dot), dotted.substr(dot + 1));
}

std::span<const std::string_view> choices_of(const Key& key)
{
    return key.mode ? mode_names(key.name) : key.choices;
}

std::string expected(const Key& key)
{
    if (!key.what.empty()) {
        return std::string(key.what);
    }
    if (key.mode || !key.choices.empty()) {
        return one_of(choices_of(key));
    }
    return std::visit(TypeWords{key.range}, key.field);
}

std::optional<std::string> nearest_name(std::string_view dotted)
{
    // A typo is at most one edit away in a short name, two in a longer one.
    const std::size_t limit = dotted.size() >= 6 ? 2 : 1;
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    auto consider = [&](std::string candidate) {
        const std::size_t distance = edit_distance(dotted, candidate);
        if (distance < best_distance) {
            best_distance = distance;
            best = std::move(candidate);
        }
    };
    for (const Key& key : key_table) {
        consider(key.dotted());
    }
    for (std::string_view table : table_names) {
        consider(std::string(table));
    }
    if (best) {
        return best;
    }
    // The right name in the wrong table: `level = "debug"` at the top level.
    const auto dot = dotted.rfind('.');
    const std::string_view name = dot == std::string_view::npos ? dotted : dotted.substr(dot + 1);
    for (const Key& key : key_table) {
        if (key.name == name) {
            return key.dotted();
        }
    }
    return std::nullopt;
}

}  // namespace forkd::config::detail
