// master/pidfile.hpp: the master's pidfile.
//
// Written atomically (a temporary file renamed into place), refused when a
// live forkd already holds it, removed at exit only if it still names us.
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
    void rename(const std::string& path);

    // Remove the file if it still holds our pid.
    void remove();

private:
    std::string path_;
    pid_t pid_ = 0;
};

// The pid stored in `path`, or 0 if there is none or it is not a number.
pid_t read_pidfile(const std::string& path);

}  // namespace forkd::master
