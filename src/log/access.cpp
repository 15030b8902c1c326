// log/access.cpp: access-log lines and their async writer.
#include "log/access.hpp"

#include <csignal>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace forkd::log {
namespace {

// Combined-format fields are quoted: a quote or a control byte inside one
// would let a client forge log lines, so they are escaped as nginx does.
std::string log_field(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    if (s.empty())
        out += '-';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
            out += fmt::format("\\x{:02X}", c);
        else
            out += char(c);
    }
    out += '"';
    return out;
}

}  // namespace

std::string AccessLog::format(const AccessRecord& r, bool json, std::time_t now)
{
    if (json) {
        nlohmann::json j = {
            {"time", now},
            {"remote_addr", r.peer},
            {"method", r.method},
            {"target", r.target},
            {"protocol", fmt::format("HTTP/{}.{}", r.version_major, r.version_minor)},
            {"status", r.status},
            {"bytes", r.bytes},
            {"referer", r.referer},
            {"user_agent", r.user_agent},
            {"request_time", r.seconds},
            {"worker", r.worker},
        };
        return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    std::tm tm{};
    localtime_r(&now, &tm);
    char when[40];
    std::strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    const std::string request = fmt::format("{} {} HTTP/{}.{}", r.method, r.target, r.version_major, r.version_minor);
    return fmt::format("{} - - [{}] {} {} {} {} {} {:.6f}", r.peer.empty() ? "-" : r.peer, when, log_field(request),
                       r.status, r.bytes, log_field(r.referer), log_field(r.user_agent), r.seconds);
}

std::shared_ptr<spdlog::logger> AccessLog::make_logger() const
{
    spdlog::sink_ptr sink;
    try {
        if (settings_.access_log == "-")
            sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        else
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(settings_.access_log, false);
    } catch (const spdlog::spdlog_ex& e) {
        throw std::runtime_error("cannot open access_log '" + settings_.access_log + "': " + e.what());
    }
    // When the disk falls behind by a whole queue, the oldest queued lines
    // are dropped rather than the loop blocked (overrun_oldest).
    auto logger = std::make_shared<spdlog::async_logger>("access", std::move(sink), pool_,
                                                         spdlog::async_overflow_policy::overrun_oldest);
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::info);
    logger->flush_on(spdlog::level::info);  // a write() per line: whole lines, never interleaved
    return logger;
}

std::unique_ptr<AccessLog> AccessLog::open(const config::LogSettings& settings)
{
    if (settings.access_log.empty())
        return nullptr;
    return std::unique_ptr<AccessLog>(new AccessLog(settings));
}

AccessLog::AccessLog(config::LogSettings settings)
    : settings_(std::move(settings)), json_(settings_.access_log_format == "json")
{
    // The writer thread must never take a signal meant for the loop: it is
    // created with every signal blocked (a new thread inherits the mask).
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    try {
        pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
    } catch (...) {
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        throw;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    logger_ = make_logger();
}

AccessLog::~AccessLog()
{
    // The pool's destructor drains its queue and joins its thread: every
    // line already handed over is written before the worker exits.
    logger_.reset();
    pool_.reset();
}

void AccessLog::write(const AccessRecord& record)
{
    logger_->info(format(record, json_, std::time(nullptr)));
}

void AccessLog::reopen()
{
    if (settings_.access_log == "-")
        return;
    try {
        logger_ = make_logger();
    } catch (const std::exception& e) {
        spdlog::error("access log reopen failed, keeping the old file: {}", e.what());
    }
}

void AccessLog::flush()
{
    logger_->flush();
}

}  // namespace forkd::log
