// master/pidfile.cpp: create, check and remove the pidfile (pidfile.hpp).
//
// Reads /proc only to tell a live forkd from a stale pid; never signals it.
#include "master/pidfile.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

namespace forkd::master {
namespace {

// A stale pidfile may name a pid that was reused by an unrelated process:
// only a live process whose command line mentions forkd counts as a holder.
bool is_live_forkd(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
        return false;
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return cmdline.find("forkd") != std::string::npos;
}

}  // namespace

pid_t read_pidfile(const std::string& path)
{
    std::ifstream in(path);
    long pid = 0;
    if (!(in >> pid) || pid <= 0)
        return 0;
    return pid_t(pid);
}

void Pidfile::create(const std::string& path, pid_t pid)
{
    if (path.empty())
        return;
    const pid_t holder = read_pidfile(path);
    if (holder != 0 && holder != pid && is_live_forkd(holder))
        throw std::runtime_error("pidfile " + path + " is held by a running forkd (pid " + std::to_string(holder) +
                                 ")");
    const std::string tmp = path + ".tmp." + std::to_string(pid);
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << pid << '\n';
        if (!out.flush())
            throw std::runtime_error("cannot write pidfile " + tmp + ": " + std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const int err = errno;
        std::remove(tmp.c_str());
        throw std::runtime_error("cannot write pidfile " + path + ": " + std::strerror(err));
    }
    path_ = path;
    pid_ = pid;
}

int Pidfile::rename(const std::string& path)
{
    if (path_.empty() || path == path_)
        return 0;
    if (std::rename(path_.c_str(), path.c_str()) != 0)
        return -errno;
    path_ = path;
    return 0;
}

int Pidfile::remove()
{
    int rc = 0;
    if (!path_.empty() && read_pidfile(path_) == pid_ && std::remove(path_.c_str()) != 0)
        rc = -errno;
    path_.clear();
    return rc;
}

// The master removes the file itself and logs a failure; this is for the
// paths that leave run() by an exception, where nothing is left to tell.
Pidfile::~Pidfile()
{
    (void)remove();
}

}  // namespace forkd::master
