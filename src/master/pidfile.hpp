// master/pidfile.hpp: the master's pidfile.
//
// Written atomically (a temporary file renamed into place), refused when a
// live forkd already holds it, removed at exit only if it still names us.
// Owns the file only: it never signals the process a stale file names.
// Errors: create() runs at start-up and throws; rename() and remove() run
// on the loop or at exit and return 0 or a negative errno-style code, as
// libuv does, for the caller to log with its context.
#pragma once

#include <string>
#include <sys/types.h>

namespace forkd::master {

class Pidfile {
public:
    Pidfile() = default;
    ~Pidfile();
    Pidfile(const Pidfile&) = delete;
    Pidfile& operator=(const Pidfile&) = delete;

    // Write `pid` to `path`. Throws std::runtime_error if another live forkd
    // holds the file or it cannot be written. An empty path does nothing.
    void create(const std::string& path, pid_t pid);

    // Move our pidfile to `path` (a binary upgrade's ".oldbin", and back).
    // Returns 0 or -errno; on error the file stays where it was.
    int rename(const std::string& path);

    // Remove the file if it still holds our pid. Returns 0 or -errno.
    int remove();

private:
    std::string path_;
    pid_t pid_ = 0;
};

// The pid stored in `path`, or 0 if there is none or it is not a number.
pid_t read_pidfile(const std::string& path);

}  // namespace forkd::master
