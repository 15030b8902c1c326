// top/top.hpp: `forkd top [URL]`, a live terminal view of a running forkd.
//
// Owns the terminal: raw mode (termios, restored on every way out), the
// alternate screen, redrawing once a second, resizes (SIGWINCH, TIOCGWINSZ),
// and quitting on 'q' or Ctrl-C. Fetching is http_get.hpp's, layout is
// render.hpp's. A client of /stats only: it never touches the scoreboard.
#pragma once

#include <string>

namespace forkd::top {

struct Options {
    std::string url = "http://127.0.0.1:8000/stats";
    bool once = false;        // print one frame to stdout and exit (for scripts and tests)
    double interval_s = 1.0;  // between redraws
};

// Returns the process exit code: 0, or 1 when --once could not read /stats
// (2 for a bad URL). Without a terminal on stdout it behaves as --once.
int run(const Options& options);

}  // namespace forkd::top
