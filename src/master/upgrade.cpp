// master/upgrade.cpp: USR2, the binary upgrade (as nginx and gunicorn do it).
//
// The old master renames its pidfile to <pidfile>.oldbin and forks a child
// that execs the binary at the path this one was started from, passing the
// listening sockets (FORKD_INHERIT_FDS) and its own pid
// (FORKD_UPGRADE_FROM). The new master adopts the sockets instead of binding,
// starts its workers, and once they all serve it tells systemd its pid and
// sends the old master SIGTERM: the old workers drain while the new ones
// accept from the very same sockets, so no connection is refused or reset.
// If the new master dies first, the old one takes its pidfile back.
// Nothing here touches a worker: the old master's workers are drained by
// its own shutdown, and the new master's are its own.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "log/log.hpp"
#include "master/control_protocol.hpp"
#include "master/master.hpp"
#include "master/notify.hpp"
#include "master/process.hpp"
#include "stats/sampler.hpp"

namespace forkd::master {
namespace {

// What the child needs to become the new master, passed through fork_child.
struct NewMaster {
    const std::vector<std::string>* argv;
    const std::string* exe_path;
    std::string inherit_fds;  // FORKD_INHERIT_FDS
    std::string from_pid;     // FORKD_UPGRADE_FROM
    bool draining = false;    // FORKD_HOST_DRAINING: a drained host stays drained
};

// In the child: the environment is set here, not in the master, so the
// master's own environment never holds a stale upgrade.
int exec_new_master(void* arg)
{
    const auto* m = static_cast<const NewMaster*>(arg);
    if (setenv("FORKD_INHERIT_FDS", m->inherit_fds.c_str(), 1) != 0 ||
        setenv("FORKD_UPGRADE_FROM", m->from_pid.c_str(), 1) != 0 ||
        (m->draining && setenv("FORKD_HOST_DRAINING", "1", 1) != 0)) {
        spdlog::error("binary upgrade: setenv: {}", std::strerror(errno));
        log::flush();
        return 127;
    }
    std::vector<char*> cargv;
    for (const std::string& a : *m->argv)
        cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    execv(m->exe_path->c_str(), cargv.data());
    spdlog::error("binary upgrade: exec {}: {}", *m->exe_path, std::strerror(errno));
    log::flush();
    return 127;
}

}  // namespace

void Master::on_usr2()
{
    if (supervisor_->stopping() || upgrade_child_ != 0 || upgrade_from_ != 0) {
        spdlog::warn("SIGUSR2: a binary upgrade is already in progress; ignoring it");
        return;
    }
    if (!settings_.pidfile.empty())
        rename_pidfile(settings_.pidfile + ".oldbin");
    NewMaster args{&argv_, &exe_path_, listeners_.describe_fds(), std::to_string(getpid()),
                   host_drain_->state() == HostDrain::State::draining};
    log::flush();
    // The same preparation as a worker's: the child must not touch our
    // loop's signal handles. exec replaces everything else.
    const pid_t pid = fork_child(&Master::prepare_child, this, &exec_new_master, &args);
    if (pid < 0) {
        spdlog::error("binary upgrade: fork: {}", uv_strerror(pid));
        if (!settings_.pidfile.empty())
            rename_pidfile(settings_.pidfile);
        return;
    }
    upgrade_child_ = pid;
    spdlog::info("binary upgrade: started {} as pid {}; this master retires once it serves", exe_path_, pid);
}

// The control socket moves with the pidfile: the new master binds its own
// under the pidfile's name, and the old one still answers under ".oldbin".
void Master::rename_pidfile(const std::string& path)
{
    if (const int err = pidfile_.rename(path); err != 0)
        spdlog::error("binary upgrade: renaming the pidfile to {}: {}", path, uv_strerror(err));
    if (const int err = control_.rename(control_path(path)); err != 0)
        spdlog::error("binary upgrade: renaming the control socket to {}: {}", control_path(path), uv_strerror(err));
}

// In the old master: the new one exited before it took over. Returns
// whether `pid` was the new master.
bool Master::reap_upgrade_child(pid_t pid, int status)
{
    if (pid != upgrade_child_ || pid == 0)
        return false;
    spdlog::error("binary upgrade failed: the new master (pid {}) exited: {}; still serving", pid,
                  stats::describe_wait_status(status));
    upgrade_child_ = 0;
    if (!settings_.pidfile.empty())
        rename_pidfile(settings_.pidfile);
    answer(Awaits::upgrade, 1,
           fmt::format("upgrade failed: the new master (pid {}) exited: {}; still serving", pid,
                       stats::describe_wait_status(status)));
    return true;
}

// In the new master, once every worker serves.
void Master::upgrade_done()
{
    spdlog::info("binary upgrade complete: taking over from master pid {}", upgrade_from_);
    notify::main_pid(getpid());
    if (kill(upgrade_from_, SIGTERM) != 0)
        spdlog::warn("binary upgrade: kill({}, SIGTERM): {}", upgrade_from_, std::strerror(errno));
    upgrade_from_ = 0;
}

}  // namespace forkd::master
