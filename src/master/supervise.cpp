// master/supervise.cpp: spawn, reap, maintain, promote, retire, and the
// checks that replace a worker: the watchdog and recycling.
//
// Reap is not respawn: reap() only collects exits and records why;
// maintain() makes the live workers match the target. Replacing a worker
// (reload, recycle) always spawns the successor first and retires the old
// worker only once the successor serves, so the slot never stops accepting.
#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include "log/log.hpp"
#include "master/master.hpp"
#include "master/notify.hpp"
#include "master/process.hpp"
#include "stats/report.hpp"
#include "stats/sampler.hpp"
#include "worker/worker.hpp"

namespace forkd::master {
namespace {

// After SIGABRT from the watchdog, SIGKILL if the worker is still there.
constexpr uint64_t abort_grace_ms = 1000;

uint64_t wall_ms()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

}  // namespace

Proc* Master::find(int slot, Role role)
{
    for (Proc& p : procs_) {
        if (p.slot == slot && p.role == role)
            return &p;
    }
    return nullptr;
}

std::size_t Master::free_entry() const
{
    for (std::size_t i = 0; i < scoreboard_->size(); ++i) {
        bool used = false;
        for (const Proc& p : procs_)
            used = used || p.entry == i;
        if (!used)
            return i;
    }
    return scoreboard_->size();
}

Proc* Master::spawn(Slot& slot, Role role)
{
    const std::size_t entry = free_entry();
    if (entry == scoreboard_->size()) {
        spdlog::error("no free scoreboard entry for worker {}; not spawning", slot.index);
        return nullptr;
    }
    Proc proc;
    proc.slot = slot.index;
    proc.generation = generation_;
    proc.entry = entry;
    proc.role = role;
    scoreboard_->entry(entry).reset(slot.index, uint32_t(generation_), wall_ms());
    log::flush();  // nothing buffered may be written twice
    spawning_ = &proc;
    const pid_t pid = fork_child(&Master::prepare_child, this, &Master::run_child, this);
    spawning_ = nullptr;
    if (pid < 0) {
        spdlog::error("fork for worker {}: {}", slot.index, std::strerror(-pid));
        // Not the worker's fault, and no reason to give up: retry with backoff.
        ++slot.fork_failures;
        slot.respawn_at_ms = uv_now(&loop_) + backoff_ms(slot.fork_failures + 1);
        return nullptr;
    }
    slot.fork_failures = 0;
    proc.pid = pid;
    proc.spawned_ms = uv_now(&loop_);
    scoreboard_->entry(entry).pid.store(pid);
    procs_.push_back(proc);
    spdlog::info("spawned worker {} (pid {}, generation {}{})", slot.index, pid, generation_,
                 role == Role::successor ? ", successor" : "");
    return &procs_.back();
}

// In the child, before anything else: forget the master's libuv signal
// handles. libuv's signal handler writes to the pipe of every loop that
// registered the signal, and the master's loop is still in our memory: a
// signal meant for this worker would otherwise be read by the master.
void Master::prepare_child(void* arg)
{
    auto* self = static_cast<Master*>(arg);
    for (uv_signal_t& s : self->signals_)
        uv_signal_stop(&s);
    ::close(uv_backend_fd(&self->loop_));
}

int Master::run_child(void* arg)
{
    auto* self = static_cast<Master*>(arg);
    const Proc& proc = *self->spawning_;
    for (int fd : self->listeners_.others(std::size_t(proc.slot)))
        ::close(fd);
    worker::Spec spec;
    spec.slot = proc.slot;
    spec.generation = proc.generation;
    spec.listen_fds = self->listeners_.fds(std::size_t(proc.slot));
    spec.admin_fds = self->listeners_.admin_fds();
    spec.settings = &self->settings_;
    spec.scoreboard = &self->scoreboard_->entry(proc.entry);
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
        if (pid <= 0)
            break;
        if (pid == upgrade_child_) {
            spdlog::error("binary upgrade failed: the new master (pid {}) exited: {}; still serving", pid,
                          stats::describe_wait_status(status));
            upgrade_child_ = 0;
            if (!settings_.pidfile.empty())
                pidfile_.rename(settings_.pidfile);
            continue;
        }
        auto it = std::find_if(procs_.begin(), procs_.end(), [pid](const Proc& p) { return p.pid == pid; });
        if (it == procs_.end())
            continue;
        Proc proc = *it;
        procs_.erase(it);
        // The final counters, then they move to the slot (totals never go
        // backwards) and the entry is free for the next spawn. What the
        // restart policy needs is read first: the tick may not have seen the
        // worker become ready before it died.
        stats::WorkerEntry& entry = scoreboard_->entry(proc.entry);
        const stats::WorkerState state = entry.state.load(std::memory_order_acquire);
        Death death;
        death.ready = proc.ready || state == stats::WorkerState::ready || state == stats::WorkerState::draining;
        death.boot_failed = WIFEXITED(status) && WEXITSTATUS(status) == worker::exit_boot_failed;
        death.took_requests =
            entry.requests.load(std::memory_order_relaxed) != 0 || entry.in_flight.load(std::memory_order_relaxed) != 0;
        death.lived_ms = uv_now(&loop_) - proc.spawned_ms;
        spdlog::info("{}", stats::exit_line(entry));
        stats::retire(*scoreboard_, entry, status);
        on_exit(proc, death, status);
        if (exit_code_ != exit_ok)
            break;
    }
    if (stopping_)
        finish_shutdown();
}

void Master::on_exit(const Proc& proc, const Death& death, int status)
{
    const std::string why = stats::describe_wait_status(status);
    if (stopping_ || proc.role == Role::retiring) {
        spdlog::info("worker {} (pid {}, generation {}) exited: {}", proc.slot, proc.pid, proc.generation, why);
        return;
    }
    Slot& slot = slots_.at(std::size_t(proc.slot));
    ++slot.restarts;
    const Restart restart = slot.after_death(death);
    slot.respawn_at_ms = uv_now(&loop_) + restart.delay_ms;
    spdlog::error("worker {} (pid {}, {}) died after {:.1f} s: {}{}; {}", proc.slot, proc.pid, to_string(proc.role),
                  double(death.lived_ms) / 1000, why, restart.boot_failure ? " (before it was ready)" : "",
                  restart.delay_ms ? fmt::format("restarting in {} ms", restart.delay_ms) : std::string("restarting"));
    if (proc.role == Role::active) {
        // A successor already on its way takes the slot over.
        if (Proc* next = find(proc.slot, Role::successor))
            next->role = Role::active;
    }
    if (restart.give_up) {
        const std::string msg = fmt::format("worker {} exited {} times in a row before it was ready (last: {})",
                                            proc.slot, slot.boot_failures, why);
        if (reloading_ && proc.generation == generation_)
            abort_reload(msg);
        else
            halt(msg + "; giving up");
    }
}

// --- maintain ------------------------------------------------------------

void Master::maintain()
{
    if (stopping_ || paused_)
        return;
    const uint64_t now = uv_now(&loop_);
    std::size_t recycling = 0;
    for (const Slot& s : slots_) {
        if (s.recycle != nullptr && find(s.index, Role::successor) != nullptr)
            ++recycling;
    }
    for (std::size_t i = 0; i < target_ && i < slots_.size(); ++i) {
        Slot& slot = slots_[i];
        if (now < slot.respawn_at_ms)
            continue;
        Proc* active = find(slot.index, Role::active);
        if (find(slot.index, Role::successor) != nullptr)
            continue;
        if (active == nullptr) {
            spawn(slot, Role::active);
        } else if (active->generation < generation_) {
            spawn(slot, Role::successor);  // reload: all slots at once
        } else if (slot.recycle != nullptr && recycling < std::size_t(settings_.recycle_concurrency)) {
            spdlog::info("recycling worker {} (pid {}): {}", slot.index, active->pid, slot.recycle);
            if (spawn(slot, Role::successor) != nullptr)
                ++recycling;
        }
    }
}

// --- promote / retire ----------------------------------------------------

void Master::promote_ready()
{
    for (Proc& p : procs_) {
        if (p.ready)
            continue;
        const stats::WorkerEntry& e = scoreboard_->entry(p.entry);
        if (e.state.load(std::memory_order_acquire) != stats::WorkerState::ready)
            continue;
        p.ready = true;
        if (p.role != Role::successor)
            continue;
        // The successor serves: only now may its predecessor stop accepting.
        Proc* old = find(p.slot, Role::active);
        p.role = Role::active;
        Slot& slot = slots_.at(std::size_t(p.slot));
        if (old != nullptr)
            retire(*old, slot.recycle != nullptr ? slot.recycle : "replaced by a new generation");
        slot.recycle = nullptr;
    }
}

void Master::retire(Proc& proc, const char* why)
{
    spdlog::info("retiring worker {} (pid {}, generation {}): {}", proc.slot, proc.pid, proc.generation, why);
    proc.role = Role::retiring;
    proc.kill_at_ms = uv_now(&loop_) + uint64_t(settings_.graceful_timeout * 1000) + 1000;
    if (kill(proc.pid, SIGTERM) != 0)
        spdlog::warn("kill({}, SIGTERM): {}", proc.pid, std::strerror(errno));
}

void Master::kill_overdue()
{
    const uint64_t now = uv_now(&loop_);
    for (Proc& p : procs_) {
        if (p.kill_at_ms != 0 && now >= p.kill_at_ms) {
            spdlog::warn("worker {} (pid {}) still running after its deadline; SIGKILL", p.slot, p.pid);
            kill(p.pid, SIGKILL);
            p.kill_at_ms = 0;
        }
    }
}

// --- statistics ----------------------------------------------------------

// Once a second the master's figures (RSS, CPU, accept queues, restarts) go
// into the scoreboard, where /stats and /metrics read them; every
// stats.interval a summary line goes to the log and to systemd's STATUS=.
void Master::sample_stats()
{
    const uint64_t now = uv_now(&loop_);
    if (now - sampled_ms_ >= 1000) {
        sampled_ms_ = now;
        std::vector<stats::SlotView> views;
        views.reserve(slots_.size());
        for (const Slot& slot : slots_) {
            stats::SlotView v;
            v.slot = slot.index;
            if (const Proc* p = find(slot.index, Role::active))
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

// --- watchdog and recycling ----------------------------------------------

void Master::watchdog()
{
    const uint64_t now = uv_now(&loop_);
    const uint64_t timeout_ms = uint64_t(settings_.timeout * 1000);
    for (Proc& p : procs_) {
        if (!p.ready || p.watchdog_fired)
            continue;
        const stats::WorkerEntry& e = scoreboard_->entry(p.entry);
        const uint64_t beat = e.heartbeat_ms.load(std::memory_order_relaxed);
        if (beat == 0 || now <= beat || now - beat <= timeout_ms)
            continue;
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
                      p.slot, p.pid, double(now - beat) / 1000, settings_.timeout, what);
        p.watchdog_fired = true;
        p.kill_at_ms = now + abort_grace_ms;
        kill(p.pid, SIGABRT);
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
    for (const Proc& p : procs_) {
        if (p.role != Role::active || !p.ready)
            continue;
        Slot& slot = slots_.at(std::size_t(p.slot));
        if (slot.recycle != nullptr)
            continue;
        if (scoreboard_->entry(p.entry).recycle_wanted.load(std::memory_order_relaxed) != 0)
            slot.recycle = "max_requests reached";
        else if (settings_.max_worker_rss > 0 && sampled_rss(p) > uint64_t(settings_.max_worker_rss) * 1024 * 1024)
            slot.recycle = "max_worker_rss exceeded";
    }
}

}  // namespace forkd::master
