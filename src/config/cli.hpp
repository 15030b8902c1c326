// config/cli.hpp: the command line (CLI11).
//
// Owns the flags and what they override. The master keeps the parsed
// CommandLine so that a reload (HUP) re-reads the file and applies the same
// overrides again: flags always win over the file, as in gunicorn.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/settings.hpp"

namespace forkd::config {

// A control subcommand (`forkd reload`, `forkd workers +1`): the master owns
// the table of them (master/control.hpp) and tells the command line what to
// accept, as the endpoint table tells it the mode names.
struct Subcommand {
    std::string_view name;
    std::string_view help;
    std::string_view argument = {};  // a required argument ("+1|-1"), or none
    std::string_view flag = {};      // an optional flag without a value ("quick"), or none
    std::string_view flag_help = {};
};

struct CommandLine {
    enum class Action { serve, check_config, version, help, top, control, list_keys };
    Action action = Action::serve;
    std::string help_text;  // filled for Action::help (and usage errors)

    std::string config_path;        // -c/--config; empty: built-in defaults only
    std::vector<std::string> bind;  // -b/--bind, repeatable; replaces the file's list
    std::optional<int> workers;     // -w/--workers
    std::optional<int> threads;     // --threads
    std::optional<double> timeout;  // -t/--timeout
    std::optional<double> graceful_timeout;
    std::optional<double> keepalive;
    std::optional<int> max_requests;
    std::optional<std::string> pidfile;  // -p/--pid
    std::optional<std::string> log_level;
    std::optional<std::string> error_log;
    std::optional<std::string> access_log;
    std::optional<std::string> user;   // -u
    std::optional<std::string> group;  // -g
    std::string top_url;               // `forkd top [URL]`
    bool top_once = false;             // `forkd top --once`: one frame, then exit
    // Action::control: the request for the master, as words ("workers",
    // "+1"; a subcommand's flag as "--quick"), and how long to wait for it.
    std::vector<std::string> control;
    double control_timeout_s = 90;
};

// Parse argv; `subcommands` are the control subcommands to accept. Throws
// ConfigError (from config/load.hpp) on a usage error, with CLI11's message.
CommandLine parse_command_line(int argc, const char* const* argv, std::span<const Subcommand> subcommands = {});

// Build the settings for a run: defaults, then the file named on the command
// line (if any), then the flags; then validate(). Throws ConfigError.
Settings load(const CommandLine& cmd);

}  // namespace forkd::config
