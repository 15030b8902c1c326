// master/control_protocol.hpp: the words on the control socket, both ends.
//
// The control subcommands (`forkd reload`, ...) talk to the master over a
// Unix socket next to its pidfile (control_path()). The client writes one
// request line, the words of the subcommand ("reload", "workers +1",
// "stop --quick"); the master answers with zero or more progress lines
// ("- reloading: generation 3, ...") and one final line that starts with
// the exit code the subcommand exits with ("0 reloaded: ...", "1 reload
// refused: ..."), then closes. Pure text handling: no sockets here.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forkd::master {

// Exit codes of the control subcommands (documented in forkd(8)).
enum ControlExit : int {
    control_ok = 0,           // done: the outcome the subcommand waited for
    control_failed = 1,       // the master refused, or the operation failed
    control_usage_error = 2,  // a usage error (also: the master does not know the request)
    control_no_master = 3,    // no master to ask: no pidfile, no process, no socket, not allowed
    control_timeout = 4,      // no outcome within --timeout (the master may still finish it)
};

// The longest request line the master reads (a client that sends more is
// answered control_usage_error and closed).
constexpr std::size_t max_request_bytes = 256;

// The control socket of the master whose pidfile is `pidfile`.
std::string control_path(const std::string& pidfile);

// A request as words; the line without its newline. Empty words (runs of
// spaces) are dropped.
std::vector<std::string> split_request(std::string_view line);
std::string join_request(const std::vector<std::string>& words);

// One reply line, with its newline. Newlines inside `text` become spaces:
// one line is one message.
std::string progress_line(std::string_view text);
std::string final_line(int code, std::string_view text);

// A reply line as the client reads it (without its newline).
struct ReplyLine {
    bool final = false;
    int code = 0;  // final lines only
    std::string text;
};
// nullopt: not a line the master writes.
std::optional<ReplyLine> parse_reply(std::string_view line);

}  // namespace forkd::master
