// master/master.hpp: the prefork master: the edge where policy meets processes.
//
// Owns the master process's loop, its signal table and tick, the listening
// sockets, the scoreboard, the pidfile and the settings. It decides nothing
// about workers: events go to the Supervisor (supervisor.hpp), and the
// actions that come back are carried out here with real processes, sockets,
// logs and sd_notify. It must not keep worker state of its own; the slot and
// process tables are the Supervisor's. The worker's life is in worker/.
//   master.cpp     run(), the signal table, carrying out actions, shutdown
//   children.cpp   forking workers, reaping them, the per-tick reads of
//                  their scoreboard entries (ready, watchdog, recycling, stats)
//   reload.cpp     HUP, TTIN, TTOU, WINCH: the config and sockets they need
//   upgrade.cpp    USR2, the binary upgrade
//   steering.cpp   busy steering: the fine check, the program, the siblings
//   control.cpp    the control subcommands (forkd reload, ...): the command
//                  table and the clients waiting for an outcome
// The host drain's policy is HostDrain's (host_drain.hpp); the Master
// carries it out: drain_host(), undrain_host(), and TERM's shutdown_delay.
//
// Errors: start-up errors are exceptions, caught in run() (exit code
// exit_start_failed); once the loop runs, every libuv and system call
// result is checked and logged once, where it fails, with uv_err_name or
// strerror, and the master keeps serving.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <uv.h>

#include "config/cli.hpp"
#include "config/settings.hpp"
#include "master/busy.hpp"
#include "master/control_socket.hpp"
#include "master/host_drain.hpp"
#include "master/listeners.hpp"
#include "master/pidfile.hpp"
#include "master/supervisor.hpp"
#include "stats/report.hpp"
#include "stats/scoreboard.hpp"
#include "worker/signal_table.hpp"

namespace forkd::master {

// Exit codes of the master.
enum ExitCode : int {
    exit_ok = 0,
    exit_crash_loop = 1,    // a slot's workers kept failing before they were ready
    exit_start_failed = 2,  // could not bind, or another start-up error
};

class Master {
public:
    Master(config::CommandLine command_line, config::Settings settings);
    ~Master();
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    // Bind, fork the workers, supervise until a shutdown; returns the exit code.
    // `argv` is how this binary was started: a binary upgrade runs it again.
    int run(std::vector<std::string> argv);

    // The control subcommands this master answers, for the command line.
    static std::vector<config::Subcommand> control_usage();
    // Take the host out of a balancer's rotation without stopping it, and
    // put it back (forkd drain / undrain). The outcome says what happened.
    HostDrain::Outcome drain_host();
    HostDrain::Outcome undrain_host();

private:
    // One control subcommand: how it is typed, and the method that carries
    // it out with the words after its name (control.cpp).
    using ControlClient = ControlSocket::Client;
    struct ControlCommand {
        config::Subcommand usage;
        void (Master::*run)(ControlClient client, const std::vector<std::string>& args);
    };
    static const ControlCommand control_table[];  // sized by its definition (control.cpp)
    // What a client waits for: its answer comes with that event.
    enum class Awaits { reload, reload_next, stop, workers, upgrade };
    struct Waiter {
        ControlClient client;
        Awaits awaits;
    };

    using Signals = worker::SignalTable<Master, 10>;
    static const Signals::Entries signal_table;

    // master.cpp: signals (recorded by libuv, handled here on the loop)
    int start_loop();
    void on_term();
    void on_int();
    void on_quit();
    void on_chld();
    void on_usr1();
    void on_tick();
    void announce_ready();
    void begin_shutdown(bool graceful);
    void on_shutdown_delay_over();
    void poll_drain_file();
    void finish_shutdown();
    void carry_out(const Actions& actions);
    void carry_out(const Action& action);
    void send(pid_t pid, int signum);
    void halt(const std::string& why);
    Supervisor::Limits limits() const;

    // children.cpp
    void spawn(const Action& action);
    void reap();
    void record_exit(pid_t pid, int status);
    void promote_ready();
    void watchdog();
    void check_recycling();
    uint64_t sampled_rss(const Proc& proc) const;
    void sample_stats();
    std::vector<unsigned> accept_queues() const;
    void set_server();
    static void prepare_child(void* arg);
    static int run_child(void* arg);

    // reload.cpp
    void on_hup();
    void on_ttin();
    void on_ttou();
    void on_winch();
    std::string begin_reload();
    void reload_complete(const Action& action);
    void reload_aborted(const Action& action);

    // steering.cpp
    int init_steering();
    void start_steering();
    void on_busy_check();
    void record_busy_changes(const std::vector<bool>& before, uint64_t now);
    void end_busy_episodes();

    // upgrade.cpp
    void on_usr2();
    void upgrade_done();
    bool reap_upgrade_child(pid_t pid, int status);
    void rename_pidfile(const std::string& path);

    // control.cpp
    void open_control();
    static void on_control(void* owner, ControlClient client, const std::vector<std::string>& words);
    bool refuse_extra(ControlClient client, const std::vector<std::string>& args, std::size_t allowed);
    bool refuse_if_stopping(ControlClient client);
    void answer(Awaits awaits, int code, const std::string& text);
    void check_waiters();
    void reload_refused(const std::string& why);
    void reload_answered(const Action& action, bool completed);
    void control_reload(ControlClient client, const std::vector<std::string>& args);
    void control_stop(ControlClient client, const std::vector<std::string>& args);
    void control_status(ControlClient client, const std::vector<std::string>& args);
    void control_workers(ControlClient client, const std::vector<std::string>& args);
    void control_reopen(ControlClient client, const std::vector<std::string>& args);
    void control_upgrade(ControlClient client, const std::vector<std::string>& args);
    void control_drain(ControlClient client, const std::vector<std::string>& args);
    void control_undrain(ControlClient client, const std::vector<std::string>& args);

    config::CommandLine command_line_;
    config::Settings settings_;
    config::Settings previous_settings_;  // to fall back to if a reload fails
    uv_loop_t loop_{};
    Signals signals_{signal_table};
    uv_timer_t tick_{};
    uv_timer_t busy_timer_{};                // busy steering: the fine check
    std::unique_ptr<BusyWatch> busy_watch_;  // null: busy steering is off
    bool steering_failed_ = false;           // the kernel refused the program once
    std::string steering_mode_;              // what the log said about it last
    Listeners listeners_;
    Pidfile pidfile_;
    std::unique_ptr<stats::Scoreboard> scoreboard_;
    std::unique_ptr<Supervisor> supervisor_;
    std::unique_ptr<HostDrain> host_drain_;
    uv_timer_t shutdown_delay_timer_{};  // TERM: the graceful stop begins when it fires
    bool announced_ready_ = false;
    uint64_t watchdog_ms_ = 0;  // systemd's WatchdogSec (0: off)
    uint64_t watchdog_fed_ms_ = 0;
    uint64_t sampled_ms_ = 0;   // stats: the last once-a-second sample
    uint64_t reported_ms_ = 0;  // stats: the last summary line
    stats::Reporter reporter_;
    int exit_code_ = exit_ok;
    std::vector<std::string> argv_;
    std::string exe_path_;     // this binary, as the kernel named it at start
    pid_t upgrade_child_ = 0;  // USR2: the new master, until it takes over
    pid_t upgrade_from_ = 0;   // we are the new master of an upgrade from this pid
    ControlSocket control_;
    std::vector<Waiter> waiters_;
    uint64_t reload_started_ns_ = 0;  // uv_hrtime() when the generation being started began
};

}  // namespace forkd::master
