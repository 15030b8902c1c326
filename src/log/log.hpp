// log/log.hpp: the process's error log (spdlog), set up once per process.
//
// The master sets it up at start; each worker sets up its own after fork
// (a logger crosses no fork: its file and thread belong to the process that
// made it). Lines carry the process name ("master", "worker 3") so one
// stream from many processes stays readable. Under systemd (JOURNAL_STREAM
// set) the journal adds the time, so we leave ours out. Does not know about
// config files or workers.
#pragma once

#include <string>

#include "config/settings.hpp"

namespace forkd::log {

// Replace the default logger: level and destination from `settings`
// ("-" or empty error_log is stderr). Throws std::runtime_error when the
// file cannot be opened (start-up only).
void setup(const config::LogSettings& settings, const std::string& process_name);

// Reopen the log file after logrotate moved it (SIGUSR1). No-op on stderr.
void reopen();

// Flush what is buffered (before _exit).
void flush();

}  // namespace forkd::log
