// master/master.hpp: the prefork master, as readable policy.
//
// Owns the loop of the master process: its signal table, the slot table,
// reaping (collect exits, record why) kept apart from maintaining (make the
// live workers match the target), and the shutdown order. Binding is in
// listeners.cpp, forking in process.cpp, the worker's life in worker/.
#pragma once

#include <array>
#include <memory>
#include <vector>

#include <uv.h>

#include "config/cli.hpp"
#include "config/settings.hpp"
#include "master/listeners.hpp"
#include "master/pidfile.hpp"
#include "master/slots.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::master {

// Exit codes of the master.
enum ExitCode : int {
    exit_ok = 0,
    exit_crash_loop = 1,   // a slot's worker kept dying early
    exit_start_failed = 2, // could not bind, or another start-up error
};

class Master {
public:
    Master(config::CommandLine command_line, config::Settings settings);
    ~Master();
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    // Bind, fork the workers, supervise until a shutdown; returns the exit code.
    int run();

private:
    struct SignalEntry {
        int signum;
        const char* name;
        void (Master::*handler)();
    };
    static const std::array<SignalEntry, 10> signal_table;

    // signals (recorded by libuv, handled here on the loop)
    void on_term();
    void on_int();
    void on_quit();
    void on_hup();
    void on_chld();
    void on_usr1();
    void on_unsupported();

    void reap();
    void maintain();
    void spawn(Slot& slot);
    void check_ready();
    void on_tick();
    void begin_shutdown(bool graceful);
    void finish_shutdown();
    void signal_workers(int signum);
    void halt(const std::string& why);

    static void prepare_child(void* arg);
    static int run_child(void* arg);

    config::CommandLine command_line_;
    config::Settings settings_;
    uv_loop_t loop_{};
    std::array<uv_signal_t, 10> signals_{};
    uv_timer_t tick_{};
    Listeners listeners_;
    Pidfile pidfile_;
    std::unique_ptr<stats::Scoreboard> scoreboard_;
    std::vector<Slot> slots_;
    int generation_ = 1;
    bool announced_ready_ = false;
    bool stopping_ = false;
    bool graceful_ = true;
    uint64_t stop_deadline_ms_ = 0;
    bool killed_stragglers_ = false;
    int exit_code_ = exit_ok;
    Slot* spawning_ = nullptr;  // the slot being forked (for run_child)
};

}  // namespace forkd::master
