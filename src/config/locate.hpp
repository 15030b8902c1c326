// config/locate.hpp: where a running master is, for the control subcommands.
//
// `forkd reload -c FILE` must find the master even when FILE is the broken
// edit the operator wants refused: so only the `pidfile` key is read here,
// leniently, and nothing is validated (that is the master's answer).
#pragma once

#include <string>

#include "config/cli.hpp"

namespace forkd::config {

// The pidfile of the master `cmd` names: --pid, else the `pidfile` key of
// the -c file (read from the text if the document does not parse), else "".
// Throws ConfigError if the file cannot be read.
std::string locate_pidfile(const CommandLine& cmd);

// The pidfile key of a TOML document's text, or "" when it has none.
std::string pidfile_in(const std::string& text);

}  // namespace forkd::config
