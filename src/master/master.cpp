// master/master.cpp: the master loop, signals, reap / maintain, shutdown.
//
// Shutdown order: mark stopping, signal the workers (TERM: drain; QUIT:
// exit now), close the master's listening sockets, wait for the workers up
// to the deadline (graceful_timeout, or a short one for a quick shutdown),
// SIGKILL whatever is left, close the master's handles, return.
#include "master/master.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include "forkd_version.h"
#include "log/log.hpp"
#include "master/notify.hpp"
#include "master/process.hpp"
#include "worker/worker.hpp"

namespace forkd::master {
namespace {

constexpr uint64_t tick_ms = 100;
constexpr uint64_t quick_shutdown_ms = 2000;

uint64_t wall_ms()
{
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1000 + uint64_t(ts.tv_nsec) / 1000000;
}

}  // namespace

const std::array<Master::SignalEntry, 10> Master::signal_table = {{
    {SIGTERM, "SIGTERM", &Master::on_term},
    {SIGINT, "SIGINT", &Master::on_int},
    {SIGQUIT, "SIGQUIT", &Master::on_quit},
    {SIGHUP, "SIGHUP", &Master::on_hup},
    {SIGCHLD, "SIGCHLD", &Master::on_chld},
    {SIGUSR1, "SIGUSR1", &Master::on_usr1},
    {SIGUSR2, "SIGUSR2", &Master::on_unsupported},
    {SIGTTIN, "SIGTTIN", &Master::on_unsupported},
    {SIGTTOU, "SIGTTOU", &Master::on_unsupported},
    {SIGWINCH, "SIGWINCH", &Master::on_unsupported},
}};

Master::Master(config::CommandLine command_line, config::Settings settings)
    : command_line_(std::move(command_line)), settings_(std::move(settings))
{
}

Master::~Master() = default;

int Master::run()
{
    const int workers = settings_.resolved_workers();
    try {
        pidfile_.create(settings_.pidfile, getpid());
        listeners_.open(settings_, std::size_t(workers));
        scoreboard_ = std::make_unique<stats::Scoreboard>(std::size_t(workers));
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return exit_start_failed;
    }
    slots_.resize(std::size_t(workers));
    for (std::size_t i = 0; i < slots_.size(); ++i)
        slots_[i].index = int(i);

    int rc = uv_loop_init(&loop_);
    if (rc != 0) {
        spdlog::critical("uv_loop_init: {}", uv_err_name(rc));
        return exit_start_failed;
    }
    for (std::size_t i = 0; i < signal_table.size(); ++i) {
        uv_signal_init(&loop_, &signals_[i]);
        signals_[i].data = this;
        rc = uv_signal_start(&signals_[i], [](uv_signal_t* h, int signum) noexcept {
            auto* self = static_cast<Master*>(h->data);
            for (const SignalEntry& e : signal_table) {
                if (e.signum == signum) {
                    if (signum != SIGCHLD)
                        spdlog::info("handling {}", e.name);
                    (self->*e.handler)();
                }
            }
        }, signal_table[i].signum);
        if (rc != 0) {
            spdlog::critical("uv_signal_start({}): {}", signal_table[i].name, uv_err_name(rc));
            return exit_start_failed;
        }
    }
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    uv_timer_start(&tick_, [](uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->on_tick(); },
                   tick_ms, tick_ms);

    spdlog::info("forkd {} starting: master pid {}, {} workers, {} offload threads each, listening on {}",
                 FORKD_VERSION, getpid(), workers, settings_.threads, listeners_.describe());
    maintain();
    uv_run(&loop_, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop_);
    if (rc != 0)
        spdlog::warn("uv_loop_close: {}", uv_err_name(rc));
    pidfile_.remove();
    spdlog::info("master exiting ({})", exit_code_ == exit_ok ? "ok" : "error");
    log::flush();
    return exit_code_;
}

// --- signals -------------------------------------------------------------

void Master::on_term()
{
    begin_shutdown(true);
}

void Master::on_int()
{
    begin_shutdown(false);
}

void Master::on_quit()
{
    begin_shutdown(false);
}

void Master::on_hup()
{
    spdlog::warn("SIGHUP: configuration reload is not implemented yet; still serving the current configuration");
}

void Master::on_chld()
{
    reap();
    maintain();
}

void Master::on_usr1()
{
    log::reopen();
    signal_workers(SIGUSR1);
}

void Master::on_unsupported()
{
    spdlog::warn("this signal is not implemented yet; ignoring it");
}

// --- reap / maintain -----------------------------------------------------

void Master::reap()
{
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break;
        Slot* slot = nullptr;
        for (Slot& s : slots_) {
            if (s.pid == pid)
                slot = &s;
        }
        if (slot == nullptr)
            continue;
        const uint64_t lived_ms = uv_now(&loop_) - slot->spawned_ms;
        slot->last_exit = describe_exit(status);
        slot->pid = 0;
        scoreboard_->entry(std::size_t(slot->index)).state.store(stats::WorkerState::exited);
        const bool booted = slot->ready;
        slot->ready = false;
        if (stopping_) {
            spdlog::info("worker {} (pid {}) exited: {}", slot->index, pid, slot->last_exit);
            continue;
        }
        const bool boot_failed = WIFEXITED(status) && WEXITSTATUS(status) == worker::exit_boot_failed;
        if (boot_failed || !booted || lived_ms < early_exit_ms)
            ++slot->rapid_failures;
        else
            slot->rapid_failures = 0;
        slot->respawn_at_ms = uv_now(&loop_) + backoff_ms(slot->rapid_failures);
        spdlog::error("worker {} (pid {}) died after {:.1f} s: {}{}; restarting{}", slot->index, pid,
                      double(lived_ms) / 1000, slot->last_exit, boot_failed ? " (failed to boot)" : "",
                      slot->rapid_failures > 1
                          ? fmt::format(" in {} ms", backoff_ms(slot->rapid_failures)) : "");
        if (slot->rapid_failures >= crash_loop_limit) {
            halt(fmt::format("worker {} exited early {} times in a row (last: {}); giving up",
                             slot->index, slot->rapid_failures, slot->last_exit));
            return;
        }
    }
    if (stopping_)
        finish_shutdown();
}

void Master::maintain()
{
    if (stopping_)
        return;
    const uint64_t now = uv_now(&loop_);
    for (Slot& s : slots_) {
        if (s.pid == 0 && now >= s.respawn_at_ms)
            spawn(s);
    }
}

void Master::spawn(Slot& slot)
{
    if (slot.generation != 0)
        ++slot.restarts;
    slot.generation = generation_;
    slot.ready = false;
    scoreboard_->entry(std::size_t(slot.index)).reset(slot.index, uint32_t(generation_), wall_ms());
    log::flush();  // nothing buffered may be written twice
    spawning_ = &slot;
    pid_t pid = fork_child(&Master::prepare_child, &Master::run_child, this);
    spawning_ = nullptr;
    if (pid < 0) {
        spdlog::error("fork for worker {}: {}", slot.index, std::strerror(-pid));
        ++slot.rapid_failures;
        slot.respawn_at_ms = uv_now(&loop_) + backoff_ms(slot.rapid_failures + 1);
        return;
    }
    slot.pid = pid;
    slot.spawned_ms = uv_now(&loop_);
    scoreboard_->entry(std::size_t(slot.index)).pid.store(pid);
    spdlog::info("spawned worker {} (pid {})", slot.index, pid);
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
    const Slot& slot = *self->spawning_;
    for (int fd : self->listeners_.others(std::size_t(slot.index)))
        ::close(fd);
    worker::Spec spec;
    spec.slot = slot.index;
    spec.generation = slot.generation;
    spec.listen_fds = self->listeners_.fds(std::size_t(slot.index));
    spec.settings = &self->settings_;
    spec.scoreboard = &self->scoreboard_->entry(std::size_t(slot.index));
    spec.master_pid = getppid();
    spec.scoreboard->pid.store(getpid());
    return worker::run(spec);
}

void Master::check_ready()
{
    int ready = 0;
    for (Slot& s : slots_) {
        if (s.pid != 0 && !s.ready &&
            scoreboard_->entry(std::size_t(s.index)).state.load(std::memory_order_acquire) ==
                stats::WorkerState::ready)
            s.ready = true;
        ready += s.ready ? 1 : 0;
    }
    if (!announced_ready_ && ready == int(slots_.size())) {
        announced_ready_ = true;
        spdlog::info("ready: {}/{} workers, listening on {}", ready, slots_.size(), listeners_.describe());
        notify::ready();
        notify::status(fmt::format("{} workers serving {}", ready, listeners_.describe()));
    }
}

void Master::on_tick()
{
    if (stopping_) {
        if (!killed_stragglers_ && uv_now(&loop_) >= stop_deadline_ms_) {
            killed_stragglers_ = true;
            spdlog::warn("shutdown deadline passed; killing the workers still running");
            signal_workers(SIGKILL);
        }
        return;
    }
    maintain();
    check_ready();
}

// --- shutdown ------------------------------------------------------------

void Master::begin_shutdown(bool graceful)
{
    if (stopping_ && (graceful || !graceful_))
        return;  // already stopping at least this fast
    const bool first = !stopping_;
    stopping_ = true;
    graceful_ = graceful;
    notify::stopping();
    const uint64_t grace = graceful ? uint64_t(settings_.graceful_timeout * 1000) + 1000 : quick_shutdown_ms;
    stop_deadline_ms_ = uv_now(&loop_) + grace;
    spdlog::info("{} shutdown of {} workers", graceful ? "graceful" : "quick", slots_.size());
    signal_workers(graceful ? SIGTERM : SIGQUIT);
    if (first)
        listeners_.close_all();
    finish_shutdown();
}

void Master::finish_shutdown()
{
    for (const Slot& s : slots_) {
        if (s.pid != 0)
            return;
    }
    for (uv_signal_t& s : signals_)
        uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
}

void Master::signal_workers(int signum)
{
    for (const Slot& s : slots_) {
        if (s.pid != 0 && kill(s.pid, signum) != 0)
            spdlog::warn("kill({}, {}): {}", s.pid, signum, std::strerror(errno));
    }
}

void Master::halt(const std::string& why)
{
    spdlog::critical("{}", why);
    exit_code_ = exit_crash_loop;
    begin_shutdown(false);
}

}  // namespace forkd::master
