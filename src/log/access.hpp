// log/access.hpp: the access log, one line per response, per worker.
//
// Off unless `log.access_log` names a file ("-" is stdout). Formats:
// `combined` (Apache/nginx's, plus the request time in seconds) and `json`
// (one object per line). Lines go through an spdlog async logger: the loop
// formats a line and queues it; a thread of the worker writes it, so the
// loop never waits on the disk. Each line is written with one write() to a
// file opened O_APPEND, so the workers' lines never interleave.
// Created in the worker after fork (its thread must not exist in the master).
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace forkd::log {

struct AccessRecord {
    std::string_view peer;  // "127.0.0.1"
    std::string_view method;
    std::string_view target;
    int version_major = 1;
    int version_minor = 1;
    int status = 0;
    std::size_t bytes = 0;  // response bytes, head included
    std::string_view referer;
    std::string_view user_agent;
    double seconds = 0;  // time spent handling
    int worker = 0;      // slot
};

class AccessLog {
public:
    // nullptr when the access log is off. Throws std::runtime_error if the
    // file cannot be opened.
    static std::unique_ptr<AccessLog> open(const config::LogSettings& settings);
    // Writes out every queued line, then stops the writer thread.
    ~AccessLog();

    void write(const AccessRecord& record);
    void reopen();  // SIGUSR1, after logrotate moved the file
    void flush();

    // The formatted line (without the newline), for tests.
    static std::string format(const AccessRecord& record, bool json, std::time_t now);

private:
    explicit AccessLog(config::LogSettings settings);
    std::shared_ptr<spdlog::logger> make_logger() const;

    config::LogSettings settings_;
    std::shared_ptr<spdlog::details::thread_pool> pool_;
    std::shared_ptr<spdlog::logger> logger_;
    bool json_;
};

}  // namespace forkd::log
