// master/children.cpp: the worker processes as the Master sees them: fork
// (a spawn action), reap (waitpid, then the facts of the death go to the
// Supervisor), and the per-tick reads of their scoreboard entries that turn
// into events: ready, the watchdog, recycling, and the once-a-second sample.
//
// Decides nothing: whom to spawn, restart, promote or retire is the
// Supervisor's (supervisor.hpp). What it must not do is fork with signals
// unblocked (process.hpp) or let the child touch the master's loop.
#include <algorithm>
#include <csignal>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include "log/log.hpp"
#include "master/master.hpp"
#include "master/notify.hpp"
#include "master/process.hpp"
#include "stats/report.hpp"
#include "stats/sampler.hpp"
#include "stats/snapshot.hpp"
#include "worker/worker.hpp"

namespace forkd::master {
namespace {

// What run_child needs, passed explicitly through fork_child.
struct ChildArgs {
    Master* master;
    const Action* spawn;
};

}  // namespace

void Master::spawn(const Action& a)
{
    if (!a.text.empty())
        spdlog::info("recycling worker {} (pid {}): {}", a.slot, a.pid, a.text);
    scoreboard_->entry(a.entry).reset(a.slot, uint32_t(a.generation), stats::wall_now_ms());
    log::flush();  // nothing buffered may be written twice
    ChildArgs args{this, &a};
    const pid_t pid = fork_child(&Master::prepare_child, this, &Master::run_child, &args);
    if (pid < 0) {
        spdlog::error("fork for worker {}: {}", a.slot, uv_strerror(pid));
        carry_out(supervisor_->spawn_failed(a.entry, uv_now(&loop_)));
        return;
    }
    supervisor_->spawned(a.entry, pid);
    scoreboard_->entry(a.entry).pid.store(pid);
    spdlog::info("spawned worker {} (pid {}, generation {}{})", a.slot, pid, a.generation,
                 a.role == Role::successor ? ", successor" : "");
}

// In the child, before anything else: forget the master's libuv signal
// handles. libuv's signal handler writes to the pipe of every loop that
// registered the signal, and the master's loop is still in our memory: a
// signal meant for this worker would otherwise be read by the master.
// Nothing here can usefully fail: uv_signal_stop() on a started handle
// returns 0, and the child never uses the loop's fd again either way.
void Master::prepare_child(void* arg)
{
    auto* self = static_cast<Master*>(arg);
    self->signals_.forget();
    self->control_.forget();  // a worker holding a client's socket would keep it from seeing its answer
    ::close(uv_backend_fd(&self->loop_));
}

int Master::run_child(void* arg)
{
    const auto* args = static_cast<const ChildArgs*>(arg);
    Master& self = *args->master;
    const Action& a = *args->spawn;
    for (int fd : self.listeners_.others(std::size_t(a.slot)))
        ::close(fd);
    worker::Spec spec;
    spec.slot = a.slot;
    spec.generation = a.generation;
    spec.listen_fds = self.listeners_.fds(std::size_t(a.slot));
    spec.admin_fds = self.listeners_.admin_fds();
    spec.settings = &self.settings_;
    spec.scoreboard = &self.scoreboard_->entry(a.entry);
    spec.master_pid = getppid();
    spec.scoreboard->pid.store(getpid());
    return worker::run(spec);
}

// --- reap ----------------------------------------------------------------

void Master::reap()
{
    for (;;) {
        int status = 0;
        const pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno != ECHILD)
            spdlog::warn("waitpid: {}", std::strerror(errno));
        if (pid <= 0)
            break;
        if (reap_upgrade_child(pid, status))
            continue;
        record_exit(pid, status);
        if (exit_code_ != exit_ok)
            break;
    }
    if (supervisor_->stopping())
        finish_shutdown();
}

// The final counters, then they move to the slot (totals never go
// backwards) and the entry is free for the next spawn. What the restart
// policy needs is read first: the tick may not have seen the worker become
// ready before it died.
void Master::record_exit(pid_t pid, int status)
{
    const Proc* found = supervisor_->find_pid(pid);
    if (found == nullptr)
        return;
    const Proc proc = *found;
    const uint64_t now = uv_now(&loop_);
    stats::WorkerEntry& entry = scoreboard_->entry(proc.entry);
    const stats::WorkerState state = entry.state.load(std::memory_order_acquire);
    Death death;
    death.ready = proc.ready || state == stats::WorkerState::ready || state == stats::WorkerState::draining;
    death.boot_failed = WIFEXITED(status) && WEXITSTATUS(status) == worker::exit_boot_failed;
    death.took_requests =
        entry.requests.load(std::memory_order_relaxed) != 0 || entry.in_flight.load(std::memory_order_relaxed) != 0;
    death.lived_ms = now - proc.spawned_ms;
    spdlog::info("{}", stats::exit_line(entry));
    stats::record_exit(*scoreboard_, entry, status);
    carry_out(supervisor_->exited(pid, death, stats::describe_wait_status(status), now));
}

// --- what the scoreboard says, once a tick ---------------------------------

void Master::promote_ready()
{
    std::vector<pid_t> ready;
    for (const Proc& p : supervisor_->procs()) {
        if (!p.ready && scoreboard_->entry(p.entry).state.load(std::memory_order_acquire) == stats::WorkerState::ready)
            ready.push_back(p.pid);
    }
    for (pid_t pid : ready)
        carry_out(supervisor_->ready(pid, uv_now(&loop_)));
}

void Master::watchdog()
{
    const uint64_t now = uv_now(&loop_);
    const uint64_t timeout_ms = uint64_t(settings_.timeout * 1000);
    std::vector<Proc> stuck;
    for (const Proc& p : supervisor_->procs()) {
        if (!p.ready || p.watchdog_fired)
            continue;
        const stats::WorkerEntry& e = scoreboard_->entry(p.entry);
        const uint64_t beat = e.heartbeat_ms.load(std::memory_order_relaxed);
        if (beat != 0 && now > beat && now - beat > timeout_ms)
            stuck.push_back(p);
    }
    for (const Proc& p : stuck) {
        const stats::WorkerEntry& e = scoreboard_->entry(p.entry);
        const uint64_t beat = e.heartbeat_ms.load(std::memory_order_relaxed);
        // The request text is written by the worker without a lock: a torn
        // read can only garble this log line.
        const std::string request = stats::load_text(e.request, sizeof e.request);
        const uint64_t started = e.request_started_ms.load(std::memory_order_relaxed);
        const std::string what = started != 0 && !request.empty()
                                     ? fmt::format("while serving \"{}\" (started {:.1f} s ago)", request,
                                                   double(now - std::min(now, started)) / 1000)
                                     : std::string("while serving no request");
        spdlog::error("WORKER TIMEOUT: worker {} (pid {}) has not run its event loop for {:.1f} s "
                      "(timeout {} s) {}; sending SIGABRT",
                      p.slot, p.pid, double(now - std::min(now, beat)) / 1000, settings_.timeout, what);
        carry_out(supervisor_->watchdog_fired(p.pid, now));
    }
}

// RSS from the once-a-second /proc sample (sample_stats), if it is this
// process's: the master reads /proc once, for /stats and for recycling.
uint64_t Master::sampled_rss(const Proc& proc) const
{
    const stats::ProcessSample& sample = scoreboard_->sample(proc.entry);
    return sample.pid.load(std::memory_order_relaxed) == proc.pid ? sample.rss_bytes.load(std::memory_order_relaxed)
                                                                  : 0;
}

void Master::check_recycling()
{
    for (const Proc& p : supervisor_->procs()) {
        if (p.role != Role::active || !p.ready || supervisor_->slots().at(std::size_t(p.slot)).recycle != nullptr)
            continue;
        if (scoreboard_->entry(p.entry).recycle_wanted.load(std::memory_order_relaxed) != 0)
            supervisor_->recycle(p.slot, "max_requests reached");
        else if (settings_.max_worker_rss > 0 && sampled_rss(p) > uint64_t(settings_.max_worker_rss) * 1024 * 1024)
            supervisor_->recycle(p.slot, "max_worker_rss exceeded");
    }
}

// The accept queues of the slots past the target: the Supervisor retires
// their workers only once nothing waits there.
std::vector<unsigned> Master::accept_queues() const
{
    const std::size_t slots = supervisor_->slots().size();
    std::vector<unsigned> queued(slots, 0);
    if (listeners_.per_slot()) {
        for (std::size_t i = supervisor_->target(); i < slots; ++i)
            queued[i] = listeners_.accept_queue(i);
    }
    return queued;
}

// Once a second the master's figures (RSS, CPU, accept queues, restarts) go
// into the scoreboard, where /stats and /metrics read them; every
// stats.interval a summary line goes to the log and to systemd's STATUS=.
void Master::sample_stats()
{
    const uint64_t now = uv_now(&loop_);
    if (now - sampled_ms_ >= 1000) {
        sampled_ms_ = now;
        std::vector<stats::SlotView> views;
        views.reserve(supervisor_->slots().size());
        for (const Slot& slot : supervisor_->slots()) {
            stats::SlotView v;
            v.slot = slot.index;
            if (const Proc* p = supervisor_->find(slot.index, Role::active))
                v.pid = p->pid;
            v.restarts = slot.restarts;
            const std::vector<int> fds = listeners_.fds(std::size_t(slot.index));
            v.listen_fd = fds.empty() || !listeners_.per_slot() ? -1 : fds[0];
            views.push_back(v);
        }
        stats::sample_master(*scoreboard_, views);
    }
    if (settings_.stats.interval > 0 && now - reported_ms_ >= uint64_t(settings_.stats.interval * 1000)) {
        if (reported_ms_ != 0) {
            const stats::Reporter::Report r = reporter_.report(*scoreboard_);
            spdlog::info("{}", r.line);
            notify::status(r.status);
        }
        reported_ms_ = now;
    }
}

void Master::set_server()
{
    stats::set_server(*scoreboard_,
                      {settings_.config_path, uint32_t(supervisor_->generation()), uint32_t(supervisor_->target())});
}

}  // namespace forkd::master
