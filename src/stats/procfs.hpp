// stats/procfs.hpp: what the kernel says about a process and a listening socket.
//
// Owns reading /proc/<pid>/stat (CPU time) and /proc/<pid>/statm (resident
// pages), and getsockopt(TCP_INFO) on a listening socket (its accept queue).
// The parsers are pure functions of the file's text so that tests can feed
// them captured lines. Called once a second at most, never per request.
#pragma once

#include <cstdint>
#include <string_view>
#include <sys/types.h>

namespace forkd::stats {

struct ProcUsage {
    uint64_t cpu_ms = 0;     // user + system time
    uint64_t rss_bytes = 0;  // resident set
};

// From the text of /proc/<pid>/stat: utime + stime (fields 14 and 15) in ms,
// given the clock ticks per second. The command name (field 2) may hold
// spaces and parentheses, so fields are counted after its last ')'.
bool parse_proc_stat(std::string_view text, long ticks_per_s, uint64_t& cpu_ms);

// From the text of /proc/<pid>/statm: resident pages (field 2) in bytes.
bool parse_proc_statm(std::string_view text, long page_bytes, uint64_t& rss_bytes);

// Read both for `pid`. false if the process is gone or a file is malformed.
bool read_proc_usage(pid_t pid, ProcUsage& out);

struct AcceptQueue {
    uint32_t queued = 0;   // connections completed by the kernel, not yet accepted
    uint32_t backlog = 0;  // the listen() backlog they may fill
};

// On a listening TCP socket, TCP_INFO's tcpi_unacked is the current length of
// the accept queue and tcpi_sacked its limit. false if fd is not one.
bool read_accept_queue(int fd, AcceptQueue& out);

}  // namespace forkd::stats
