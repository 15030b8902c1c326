// master/master.cpp: the master loop, the signal table, the tick, shutdown.
//
// Shutdown order: mark stopping, signal the workers (TERM: drain; QUIT:
// exit now), close the master's listening sockets, wait for the workers up
// to the deadline (graceful_timeout, or a short one for a quick shutdown),
// SIGKILL whatever is left, close the master's handles, return.
#include "master/master.hpp"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

#include <sys/stat.h>

#include <spdlog/spdlog.h>

#include "forkd_version.h"
#include "log/log.hpp"
#include "master/notify.hpp"
#include "master/process.hpp"
#include "stats/sampler.hpp"
#include "worker/privileges.hpp"

namespace forkd::master {
namespace {

constexpr uint64_t tick_ms = 100;
constexpr uint64_t quick_shutdown_ms = 2000;

}  // namespace

const std::array<Master::SignalEntry, 10> Master::signal_table = {{
    {SIGTERM, "SIGTERM", &Master::on_term},
    {SIGINT, "SIGINT", &Master::on_int},
    {SIGQUIT, "SIGQUIT", &Master::on_quit},
    {SIGHUP, "SIGHUP", &Master::on_hup},
    {SIGCHLD, "SIGCHLD", &Master::on_chld},
    {SIGUSR1, "SIGUSR1", &Master::on_usr1},
    {SIGUSR2, "SIGUSR2", &Master::on_usr2},
    {SIGTTIN, "SIGTTIN", &Master::on_ttin},
    {SIGTTOU, "SIGTTOU", &Master::on_ttou},
    {SIGWINCH, "SIGWINCH", &Master::on_winch},
}};

Master::Master(config::CommandLine command_line, config::Settings settings)
    : command_line_(std::move(command_line)), settings_(std::move(settings))
{
}

Master::~Master() = default;

int Master::run(std::vector<std::string> argv)
{
    argv_ = std::move(argv);
    // Before anything is written or forked: no write of ours, nor of a
    // worker or a new master after USR2, may end a process by SIGPIPE.
    ignore_sigpipe();
    char exe[4096];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe_path_ = n > 0 ? std::string(exe, std::size_t(n)) : argv_.at(0);
    if (const char* from = std::getenv("FORKD_UPGRADE_FROM")) {
        upgrade_from_ = pid_t(std::atoi(from));
        unsetenv("FORKD_UPGRADE_FROM");
    }
    target_ = std::size_t(settings_.resolved_workers());
    umask(mode_t(settings_.umask));
    try {
        // A user or group that does not exist is a start-up error, not a
        // crash loop of workers that cannot drop privileges.
        worker::resolve_identity(settings_.user, settings_.group);
        pidfile_.create(settings_.pidfile, getpid());
        if (const std::size_t adopted = listeners_.inherit_from_environment())
            spdlog::info("adopted {} listening sockets{}", adopted,
                         upgrade_from_ ? fmt::format(" from master pid {}", upgrade_from_) : std::string());
        listeners_.open(settings_, target_);
        listeners_.steer(target_);
        // Room for two generations of a larger pool: TTIN and reloads grow it.
        scoreboard_ = std::make_unique<stats::Scoreboard>(std::max<std::size_t>(64, 4 * target_));
        stats::set_server(*scoreboard_, {settings_.config_path, uint32_t(generation_), uint32_t(target_)});
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return exit_start_failed;
    }
    slots_.resize(listeners_.slots());
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
        rc = uv_signal_start(
            &signals_[i],
            [](uv_signal_t* h, int signum) noexcept {
                auto* self = static_cast<Master*>(h->data);
                for (const SignalEntry& e : signal_table) {
                    if (e.signum != signum)
                        continue;
                    if (signum != SIGCHLD)
                        spdlog::info("handling {}", e.name);
                    try {
                        (self->*e.handler)();
                    } catch (const std::exception& ex) {
                        spdlog::error("handling {}: {}", e.name, ex.what());
                    }
                }
            },
            signal_table[i].signum);
        if (rc != 0) {
            spdlog::critical("uv_signal_start({}): {}", signal_table[i].name, uv_err_name(rc));
            return exit_start_failed;
        }
    }
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    uv_timer_start(
        &tick_, [](uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->on_tick(); }, tick_ms, tick_ms);

    watchdog_ms_ = notify::watchdog_interval_ms();
    spdlog::info("forkd {} starting: master pid {}, {} workers, {} offload threads each, listening on {}",
                 FORKD_VERSION, getpid(), target_, settings_.threads, listeners_.describe());
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

void Master::on_chld()
{
    reap();
    maintain();
}

void Master::on_usr1()
{
    log::reopen();
    for (const Proc& p : procs_)
        kill(p.pid, SIGUSR1);
}

void Master::on_tick()
{
    if (stopping_) {
        if (!killed_stragglers_ && uv_now(&loop_) >= stop_deadline_ms_) {
            killed_stragglers_ = true;
            spdlog::warn("shutdown deadline passed; killing {} workers still running", procs_.size());
            for (const Proc& p : procs_)
                kill(p.pid, SIGKILL);
        }
        return;
    }
    sample_stats();
    promote_ready();
    watchdog();
    kill_overdue();
    check_recycling();
    retire_surplus_slots();
    maintain();
    check_reload_done();

    const std::size_t ready = std::size_t(
        std::count_if(procs_.begin(), procs_.end(), [](const Proc& p) { return p.role == Role::active && p.ready; }));
    // systemd's watchdog is fed only while every wanted worker serves and
    // none is stuck: a master that cannot keep its workers up is not healthy.
    const bool stuck = std::any_of(procs_.begin(), procs_.end(), [](const Proc& p) { return p.watchdog_fired; });
    if (watchdog_ms_ != 0 && ready == target_ && !stuck && uv_now(&loop_) - watchdog_fed_ms_ >= watchdog_ms_ / 2) {
        watchdog_fed_ms_ = uv_now(&loop_);
        notify::watchdog();
    }
    if (!announced_ready_ && ready == target_) {
        announced_ready_ = true;
        spdlog::info("ready: {}/{} workers, listening on {}", ready, target_, listeners_.describe());
        notify::status(fmt::format("{} workers serving {}", ready, listeners_.describe()));
        listeners_.close_retired();  // inherited sockets the configuration no longer names
        if (upgrade_from_ != 0)
            upgrade_done();  // READY=1 together with MAINPID=
        else
            notify::ready();
    }
}

// --- shutdown ------------------------------------------------------------

void Master::begin_shutdown(bool graceful)
{
    if (stopping_ && (graceful || !graceful_))
        return;  // already stopping at least this fast
    const bool first = !stopping_;
    stopping_ = true;
    graceful_ = graceful;
    // After a binary upgrade the new master is the service: STOPPING=1 from
    // us would make systemd stop it.
    if (upgrade_child_ == 0)
        notify::stopping();
    const uint64_t grace = graceful ? uint64_t(settings_.graceful_timeout * 1000) + 1000 : quick_shutdown_ms;
    stop_deadline_ms_ = uv_now(&loop_) + grace;
    spdlog::info("{} shutdown of {} workers", graceful ? "graceful" : "quick", procs_.size());
    for (const Proc& p : procs_)
        kill(p.pid, graceful ? SIGTERM : SIGQUIT);
    if (first)
        listeners_.close_all();
    finish_shutdown();
}

void Master::finish_shutdown()
{
    if (!procs_.empty() || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_)))
        return;
    // Closing the last handle of a signal restores its default action: a
    // second TERM now would kill a master that is exiting cleanly. Keep
    // them pending instead; the process ends before they matter.
    sigset_t mask;
    sigemptyset(&mask);
    for (const SignalEntry& e : signal_table)
        sigaddset(&mask, e.signum);
    pthread_sigmask(SIG_BLOCK, &mask, nullptr);
    for (uv_signal_t& s : signals_)
        uv_close(reinterpret_cast<uv_handle_t*>(&s), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
}

void Master::halt(const std::string& why)
{
    spdlog::critical("{}", why);
    exit_code_ = exit_crash_loop;
    begin_shutdown(false);
}

}  // namespace forkd::master
