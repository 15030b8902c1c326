// log/log.cpp: spdlog set-up, synchronous sinks only.
//
// Synchronous on purpose: an async logger starts a thread, and the master
// must stay single-threaded until it forks. Error-log lines are rare, so
// the cost of writing them in line is negligible.
#include "log/log.hpp"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace forkd::log {
namespace {

struct State {
    config::LogSettings settings;
    std::string process_name;
};
State& state()
{
    static State s;
    return s;
}

std::shared_ptr<spdlog::logger> make_logger()
{
    const State& s = state();
    spdlog::sink_ptr sink;
    const std::string& path = s.settings.error_log;
    if (path.empty() || path == "-") {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
        try {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, false);
        } catch (const spdlog::spdlog_ex& e) {
            throw std::runtime_error("cannot open error_log '" + path + "': " + e.what());
        }
    }
    auto logger = std::make_shared<spdlog::logger>(s.process_name, std::move(sink));
    // The journal timestamps each line itself; a second timestamp is noise.
    const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    logger->set_pattern(journal ? "[%n] [%l] %v" : "[%Y-%m-%d %H:%M:%S.%e] [%n] [%l] %v");
    logger->set_level(spdlog::level::from_str(s.settings.level));
    logger->flush_on(spdlog::level::trace);
    return logger;
}

}  // namespace

void setup(const config::LogSettings& settings, const std::string& process_name)
{
    state().settings = settings;
    state().process_name = process_name;
    spdlog::set_default_logger(make_logger());
}

void reopen()
{
    if (state().settings.error_log.empty() || state().settings.error_log == "-")
        return;
    try {
        spdlog::set_default_logger(make_logger());
    } catch (const std::exception& e) {
        spdlog::error("log reopen failed, keeping the old file: {}", e.what());
    }
}

void flush()
{
    spdlog::default_logger_raw()->flush();
}

}  // namespace forkd::log
