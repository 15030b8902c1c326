// master/control_client.hpp: the client end of the control socket, what
// `forkd reload`, `forkd stop`, ... run (main.cpp hands over to it).
//
// Finds the master (the pidfile of -c FILE or --pid FILE, the socket beside
// it), sends the request, prints the progress lines and the answer, and
// exits with the code the master chose, or with its own when there is no
// master to ask or no answer in time (control_protocol.hpp). Never signals:
// the master acts, the client only asks and waits.
#pragma once

#include <string>

#include "config/cli.hpp"

namespace forkd::master {

// Returns the exit code; prints to stdout (progress, success) and stderr.
int run_control(const config::CommandLine& cmd);

// Send `request` to the control socket at `path` and relay the answer.
// `pid` only words the errors. Returns the exit code.
int ask_master(const std::string& path, const std::string& request, double timeout_s);

}  // namespace forkd::master
