// master/master.cpp: run(), the signal table, the tick, carrying out the
// Supervisor's actions, and the shutdown order.
//
// Shutdown order: on TERM, drain the host for shutdown_delay first (the
// workers keep accepting and serving, /healthz answers 503); then mark
// stopping, signal the workers (TERM: drain; QUIT: exit now), close the
// master's listening sockets, wait for the workers up to the deadline
// (graceful_timeout, or a short one for a quick shutdown), SIGKILL whatever
// is left, close the master's handles, return.
#include "master/master.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
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

const Master::Signals::Entries Master::signal_table = {{
    {SIGTERM, "SIGTERM", &Master::on_term},
    {SIGINT, "SIGINT", &Master::on_int},
    {SIGQUIT, "SIGQUIT", &Master::on_quit},
    {SIGHUP, "SIGHUP", &Master::on_hup},
    {SIGCHLD, "SIGCHLD", &Master::on_chld, spdlog::level::trace},  // every worker exit: no line
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

Supervisor::Limits Master::limits() const
{
    Supervisor::Limits l;
    l.recycle_concurrency = settings_.recycle_concurrency;
    l.retire_grace_ms = uint64_t(settings_.graceful_timeout * 1000) + 1000;
    return l;
}

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
    const bool inherited_drain = std::getenv("FORKD_HOST_DRAINING") != nullptr;  // USR2 of a drained host
    unsetenv("FORKD_HOST_DRAINING");
    const std::size_t target = std::size_t(settings_.resolved_workers());
    umask(mode_t(settings_.umask));
    try {
        // A user or group that does not exist is a start-up error, not a
        // crash loop of workers that cannot drop privileges.
        const worker::Identity identity = worker::resolve_identity(settings_.user, settings_.group);
        if (!identity.error.empty())
            throw std::runtime_error(identity.error);
        pidfile_.create(settings_.pidfile, getpid());
        if (const std::size_t adopted = listeners_.inherit_from_environment())
            spdlog::info("adopted {} listening sockets{}", adopted,
                         upgrade_from_ ? fmt::format(" from master pid {}", upgrade_from_) : std::string());
        listeners_.open(settings_, target);
        listeners_.steer(target);
        // Room for two generations of a larger pool: TTIN and reloads grow it.
        scoreboard_ = std::make_unique<stats::Scoreboard>(std::max<std::size_t>(64, 4 * target));
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return exit_start_failed;
    }
    supervisor_ = std::make_unique<Supervisor>(target, listeners_.slots(), scoreboard_->size(), limits());
    host_drain_ = std::make_unique<HostDrain>(scoreboard_->master());
    if (inherited_drain)
        spdlog::info("host {}", host_drain_->drain(stats::wall_now_ms()).text);
    set_server();
    if (start_loop() != 0)
        return exit_start_failed;
    open_control();

    watchdog_ms_ = notify::watchdog_interval_ms();
    spdlog::info("forkd {} starting: master pid {}, {} workers, {} offload threads each, listening on {}",
                 FORKD_VERSION, getpid(), target, settings_.threads, listeners_.describe());
    start_steering();
    carry_out(supervisor_->maintain(uv_now(&loop_)));
    int rc = uv_run(&loop_, UV_RUN_DEFAULT);
    if (rc != 0)
        spdlog::warn("uv_run: {} handles still active", rc);
    rc = uv_loop_close(&loop_);
    if (rc != 0)
        spdlog::warn("uv_loop_close: {}", uv_err_name(rc));
    if (const int err = pidfile_.remove(); err != 0)
        spdlog::warn("removing the pidfile: {}", uv_strerror(err));
    spdlog::info("master exiting ({})", exit_code_ == exit_ok ? "ok" : "error");
    log::flush();
    return exit_code_;
}

// The loop, one uv_signal_t per entry of the signal table, and the tick.
// Returns 0, or the libuv error it logged.
int Master::start_loop()
{
    int rc = uv_loop_init(&loop_);
    if (rc != 0) {
        spdlog::critical("uv_loop_init: {}", uv_err_name(rc));
        return rc;
    }
    rc = signals_.start(&loop_, this);
    if (rc != 0)
        return rc;
    for (uv_timer_t* timer : {&tick_, &shutdown_delay_timer_}) {
        rc = uv_timer_init(&loop_, timer);
        if (rc != 0) {
            spdlog::critical("uv_timer_init: {}", uv_err_name(rc));
            return rc;
        }
        timer->data = this;
    }
    rc = uv_timer_start(
        &tick_, [](uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->on_tick(); }, tick_ms, tick_ms);
    if (rc != 0)
        spdlog::critical("uv_timer_start: {}", uv_err_name(rc));
    return rc != 0 ? rc : init_steering();
}

// --- signals -------------------------------------------------------------

// TERM drains the host first for shutdown_delay (Kubernetes' preStop):
// /healthz answers 503 while everything is still accepted and served, so a
// balancer takes the host out before it stops accepting. A second TERM, or
// one from the new master of a binary upgrade (the host goes on serving
// through it; its workers must not see a 503 from ours), stops at once.
void Master::on_term()
{
    const bool upgrading = upgrade_child_ != 0;
    // While a binary upgrade runs, TERM is the new master taking over.
    if (upgrading)
        answer(Awaits::upgrade, 0,
               fmt::format("upgraded: new master pid {} serves; old master pid {} retires", upgrade_child_, getpid()));
    const uint64_t delay_ms = upgrading ? 0 : host_drain_->stop(settings_.shutdown_delay, stats::wall_now_ms());
    if (delay_ms == 0 || supervisor_->stopping()) {
        begin_shutdown(true);
        return;
    }
    spdlog::info("draining for {:.1f} s (shutdown_delay) before the graceful stop: /healthz answers 503",
                 double(delay_ms) / 1000);
    notify::status(fmt::format("draining for {:.1f} s before stopping", double(delay_ms) / 1000));
    const int rc = uv_timer_start(
        &shutdown_delay_timer_, [](uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->on_shutdown_delay_over(); },
        delay_ms, 0);
    if (rc != 0) {
        spdlog::error("uv_timer_start(shutdown_delay): {}; stopping now", uv_err_name(rc));
        begin_shutdown(true);
    }
}

void Master::on_shutdown_delay_over()
{
    spdlog::info("shutdown_delay is over: stopping gracefully");
    begin_shutdown(true);
}

// <pidfile>.drain: `touch` it to drain the host, `rm` it to undrain (one
// access() a tick). Without a pidfile there is no drain file.
void Master::poll_drain_file()
{
    if (settings_.pidfile.empty())
        return;
    const std::string path = settings_.pidfile + ".drain";
    switch (host_drain_->file_seen(access(path.c_str(), F_OK) == 0)) {
    case HostDrain::FileRequest::none: break;
    case HostDrain::FileRequest::drain:
        spdlog::info("drain file {} appeared", path);
        drain_host();
        break;
    case HostDrain::FileRequest::undrain:
        spdlog::info("drain file {} removed", path);
        undrain_host();
        break;
    }
}

HostDrain::Outcome Master::drain_host()
{
    HostDrain::Outcome o = host_drain_->drain(stats::wall_now_ms());
    if (o.changed) {
        spdlog::info("host {}", o.text);
        notify::status(fmt::format("draining: {} workers serving {}", supervisor_->serving(), listeners_.describe()));
    }
    return o;
}

HostDrain::Outcome Master::undrain_host()
{
    HostDrain::Outcome o = host_drain_->undrain(stats::wall_now_ms());
    if (o.changed) {
        spdlog::info("host {}", o.text);
        notify::status(fmt::format("{} workers serving {}", supervisor_->serving(), listeners_.describe()));
    } else if (o.refused) {
        spdlog::warn("{}", o.text);
    }
    return o;
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
    carry_out(supervisor_->maintain(uv_now(&loop_)));
}

void Master::on_usr1()
{
    log::reopen();
    for (const Proc& p : supervisor_->procs())
        send(p.pid, SIGUSR1);
}

void Master::on_tick()
{
    const uint64_t now = uv_now(&loop_);
    if (supervisor_->stopping()) {
        carry_out(supervisor_->tick(now, {}));
        return;
    }
    sample_stats();
    poll_drain_file();
    promote_ready();
    watchdog();
    check_recycling();
    carry_out(supervisor_->tick(now, accept_queues()));
    if (!supervisor_->stopping())
        announce_ready();
    check_waiters();
}

// systemd's watchdog is fed only while every wanted worker serves and none
// is stuck: a master that cannot keep its workers up is not healthy. The
// first time they all serve, the master says it is ready.
void Master::announce_ready()
{
    const uint64_t now = uv_now(&loop_);
    const std::size_t ready = supervisor_->serving();
    const std::size_t target = supervisor_->target();
    if (watchdog_ms_ != 0 && ready == target && !supervisor_->stuck() && now - watchdog_fed_ms_ >= watchdog_ms_ / 2) {
        watchdog_fed_ms_ = now;
        notify::watchdog();
    }
    if (announced_ready_ || ready != target)
        return;
    announced_ready_ = true;
    spdlog::info("ready: {}/{} workers, listening on {}", ready, target, listeners_.describe());
    notify::status(fmt::format("{} workers serving {}", ready, listeners_.describe()));
    listeners_.close_dropped();  // inherited sockets the configuration no longer names
    if (upgrade_from_ != 0)
        upgrade_done();  // READY=1 together with MAINPID=
    else
        notify::ready();
}

// --- actions ---------------------------------------------------------------

void Master::carry_out(const Actions& actions)
{
    for (const Action& a : actions)
        carry_out(a);
}

void Master::carry_out(const Action& a)
{
    switch (a.kind) {
    case Action::Kind::log:
        switch (a.level) {
        case Action::Level::info: spdlog::info("{}", a.text); break;
        case Action::Level::warn: spdlog::warn("{}", a.text); break;
        case Action::Level::error: spdlog::error("{}", a.text); break;
        }
        break;
    case Action::Kind::spawn: spawn(a); break;
    case Action::Kind::retire:
        spdlog::info("retiring worker {} (pid {}, generation {}): {}", a.slot, a.pid, a.generation, a.text);
        send(a.pid, SIGTERM);
        break;
    case Action::Kind::signal: send(a.pid, a.signum); break;
    case Action::Kind::steer: try { listeners_.steer(a.count);
        } catch (const std::exception& e) {
            spdlog::error("steering to {} slots: {}", a.count, e.what());
        }
        break;
    case Action::Kind::close_last_slot: listeners_.close_last_slot(); break;
    case Action::Kind::close_listeners: listeners_.close_all(); break;
    case Action::Kind::target_changed: set_server(); break;
    case Action::Kind::reload_complete: reload_complete(a); break;
    case Action::Kind::reload_aborted: reload_aborted(a); break;
    case Action::Kind::give_up: halt(a.text); break;
    }
}

void Master::send(pid_t pid, int signum)
{
    if (pid <= 0)
        return;  // never a process group
    if (kill(pid, signum) != 0)
        spdlog::warn("kill({}, {}): {}", pid, strsignal(signum), std::strerror(errno));
}

// --- shutdown ------------------------------------------------------------

void Master::begin_shutdown(bool graceful)
{
    uv_timer_stop(&shutdown_delay_timer_);  // INT or a second TERM during shutdown_delay: now
    const uint64_t grace = graceful ? uint64_t(settings_.graceful_timeout * 1000) + 1000 : quick_shutdown_ms;
    const Actions actions = supervisor_->shutdown(graceful, grace, uv_now(&loop_));
    if (actions.empty())
        return;  // already stopping at least this fast
    // After a binary upgrade the new master is the service: STOPPING=1 from
    // us would make systemd stop it.
    if (upgrade_child_ == 0)
        notify::stopping();
    carry_out(actions);
    finish_shutdown();
}

void Master::finish_shutdown()
{
    if (!supervisor_->procs().empty() || uv_is_closing(reinterpret_cast<uv_handle_t*>(&tick_)))
        return;
    signals_.close();  // blocked first: a second TERM must not kill a clean exit
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&busy_timer_), nullptr);
    answer(Awaits::stop, exit_code_ == exit_ok ? 0 : 1,
           fmt::format("stopped: master pid {} exits{}", getpid(), exit_code_ == exit_ok ? "" : " with an error"));
    control_.close(1, "the master stopped before the outcome");
    uv_close(reinterpret_cast<uv_handle_t*>(&shutdown_delay_timer_), nullptr);
}

void Master::halt(const std::string& why)
{
    spdlog::critical("{}", why);
    exit_code_ = exit_crash_loop;
    begin_shutdown(false);
}

}  // namespace forkd::master
