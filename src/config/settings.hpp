// config/settings.hpp: the settings of one forkd run, as plain data.
//
// Owns the names, types and defaults of every configuration key (DESIGN.md,
// "Configuration"). It knows nothing of files or flags: config/load.hpp fills
// it from TOML, config/cli.hpp from the command line, validate() (load.hpp)
// checks it. Mode names are not its own: they come from the endpoint table
// (set_mode_keys()). Every other part reads a `const Settings&` and never writes it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace forkd::config {

// One listening address. `host` is a numeric IPv4 or IPv6 address without
// brackets ("127.0.0.1", "::1", "0.0.0.0", "::").
struct BindAddress {
    std::string host;
    uint16_t port = 0;

    std::string to_string() const;  // "127.0.0.1:8000", "[::1]:8000"
    bool operator==(const BindAddress&) const = default;
};

struct LogSettings {
    std::string level = "info";                  // trace debug info warning error critical off
    std::string error_log = "-";                 // "-" is stderr
    std::string access_log;                      // empty: no access log; "-" is stdout
    std::string access_log_format = "combined";  // combined | json
};

struct StatsSettings {
    double interval = 60;                                         // seconds; 0 disables the summary line
    std::vector<std::string> allow = {"127.0.0.0/8", "::1/128"};  // CIDRs allowed to read /stats, /metrics, /status
    std::string bind;                                             // optional separate "host:port" for them
};

struct EndpointSettings {
    int fib_max_n = 40;
    int sleep_max_ms = 60000;
    // The default mode of each route, by name (DESIGN.md, "Endpoints"). The
    // names each key accepts are the endpoint table's (see mode_keys()).
    std::string hello_mode = "inline";
    std::string sleep_mode = "timer";
    std::string fib_mode = "offload";
    std::string fibo_sleep_mode = "par";
    // ANY /echo answers with the request as parsed (for conformance tools);
    // off: /echo is 404, and the parser keeps no header fields or body.
    bool echo = false;
};

struct Settings {
    std::string config_path;  // the file these came from; empty when none

    std::vector<BindAddress> bind = {{"127.0.0.1", 8000}};
    int workers = 0;           // 0: one per core (see resolved_workers())
    int threads = 4;           // offload threads per worker; 0: offload modes answer 503
    int offload_queue = 1024;  // jobs waiting per worker before 503
    bool reuse_port = true;
    int backlog = 2048;
    int worker_connections = 10000;  // a connection costs about 1.5 KiB and one file descriptor
    int max_requests = 0;            // 0: never recycle
    int max_requests_jitter = 0;
    int max_worker_rss = 0;  // MiB; 0: no limit
    int recycle_concurrency = 1;
    bool busy_steering = true;  // steer new connections away from a worker whose loop is blocked
    int busy_after_ms = 20;     // a loop not turned for this long is busy
    double timeout = 30;        // seconds a worker's loop may be blocked
    double graceful_timeout = 30;
    double shutdown_delay = 0;   // TERM: seconds the host drains (/healthz 503) before it stops
    double keepalive = 75;       // idle keep-alive timeout, seconds
    double header_timeout = 10;  // absolute time to receive one request's headers
    double send_timeout = 60;    // output that makes no progress this long closes the connection
    int limit_request_line = 8190;
    int limit_request_fields = 100;
    int limit_request_field_size = 8190;
    int64_t max_body_size = 1048576;
    std::string pidfile;
    std::string user;
    std::string group;
    int umask = 022;

    LogSettings log;
    StatsSettings stats;
    EndpointSettings endpoints;

    int resolved_workers() const;  // workers, or the number of online cores when 0
};

// An [endpoints] key that names a mode ("fib_mode") and the names it
// accepts, in the order messages list them ("offload", "inline").
struct ModeKey {
    std::string_view key;
    std::span<const std::string_view> names;
};

// Which mode names are valid is the endpoint table's to say, and it lives in
// app/, above config/: the program hands the keys in once at start-up
// (main.cpp, from app::mode_keys()), before any configuration is read, and
// the loader checks the *_mode keys against them. Until then a mode key
// accepts no name. The spans must outlive every load (static data).
void set_mode_keys(std::span<const ModeKey> keys);
// The names `key` ("fib_mode") accepts; empty when it is no mode key.
std::span<const std::string_view> mode_names(std::string_view key);

}  // namespace forkd::config
