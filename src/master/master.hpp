// master/master.hpp: the prefork master, as readable policy.
//
// Owns the master process's loop: its signal table, the slot and process
// tables, reaping (collect exits, record why) kept apart from maintaining
// (make the live workers match the target), reload, scaling, recycling,
// the watchdog and the shutdown order. Binding is in listeners.cpp, forking
// in process.cpp, the worker's life in worker/.
//   master.cpp     the loop, the signal table, the tick, shutdown
//   supervise.cpp  spawn, reap, maintain, promote, retire, watchdog, recycle
//   reload.cpp     HUP, TTIN, TTOU, WINCH: changing what the target is
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "config/cli.hpp"
#include "config/settings.hpp"
#include "master/listeners.hpp"
#include "master/pidfile.hpp"
#include "master/slots.hpp"
#include "stats/report.hpp"
#include "stats/scoreboard.hpp"

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

private:
    struct SignalEntry {
        int signum;
        const char* name;
        void (Master::*handler)();
    };
    static const std::array<SignalEntry, 10> signal_table;

    // master.cpp: signals (recorded by libuv, handled here on the loop)
    void on_term();
    void on_int();
    void on_quit();
    void on_chld();
    void on_usr1();
    void on_usr2();
    void upgrade_done();
    void on_tick();
    void begin_shutdown(bool graceful);
    void finish_shutdown();
    void halt(const std::string& why);

    // reload.cpp
    void on_hup();
    void on_ttin();
    void on_ttou();
    void on_winch();
    void retire_surplus_slots();
    void check_reload_done();
    void abort_reload(const std::string& why);

    // supervise.cpp
    void reap();
    void on_exit(const Proc& proc, const Death& death, int status);
    void maintain();
    Proc* spawn(Slot& slot, Role role);
    void promote_ready();
    void retire(Proc& proc, const char* why);
    void watchdog();
    void check_recycling();
    uint64_t sampled_rss(const Proc& proc) const;
    void kill_overdue();
    void sample_stats();
    Proc* find(int slot, Role role);
    std::size_t free_entry() const;
    static void prepare_child(void* arg);
    static int run_child(void* arg);

    config::CommandLine command_line_;
    config::Settings settings_;
    config::Settings previous_settings_;  // to fall back to if a reload fails
    uv_loop_t loop_{};
    std::array<uv_signal_t, 10> signals_{};
    uv_timer_t tick_{};
    Listeners listeners_;
    Pidfile pidfile_;
    std::unique_ptr<stats::Scoreboard> scoreboard_;
    std::vector<Slot> slots_;  // slots_.size() > target_: the last ones are retiring
    std::vector<Proc> procs_;
    std::size_t target_ = 0;  // workers wanted
    int generation_ = 1;
    bool reloading_ = false;
    bool reload_again_ = false;
    bool paused_ = false;  // WINCH: no workers until HUP
    bool announced_ready_ = false;
    uint64_t watchdog_ms_ = 0;  // systemd's WatchdogSec (0: off)
    uint64_t watchdog_fed_ms_ = 0;
    uint64_t sampled_ms_ = 0;   // stats: the last once-a-second sample
    uint64_t reported_ms_ = 0;  // stats: the last summary line
    stats::Reporter reporter_;
    bool stopping_ = false;
    bool graceful_ = true;
    uint64_t stop_deadline_ms_ = 0;
    bool killed_stragglers_ = false;
    int exit_code_ = exit_ok;
    const Proc* spawning_ = nullptr;  // the process being forked (for run_child)
    std::vector<std::string> argv_;
    std::string exe_path_;     // this binary, as the kernel named it at start
    pid_t upgrade_child_ = 0;  // USR2: the new master, until it takes over
    pid_t upgrade_from_ = 0;   // we are the new master of an upgrade from this pid
};

}  // namespace forkd::master
