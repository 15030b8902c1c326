// main.cpp: parse the command line, load the config, hand over to the master
// (or to `forkd top`). Nothing else lives here.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "app/table.hpp"
#include "config/cli.hpp"
#include "config/describe.hpp"
#include "config/load.hpp"
#include "forkd_version.h"
#include "log/log.hpp"
#include "master/control_client.hpp"
#include "master/master.hpp"
#include "top/top.hpp"

namespace {

// Exit codes of the command line itself (the master has its own).
constexpr int exit_usage = 2;
constexpr int exit_config = 78;  // EX_CONFIG, as sysexits.h

}  // namespace

int main(int argc, char** argv)
{
    using forkd::config::CommandLine;
    CommandLine cmd;
    try {
        const std::vector<forkd::config::Subcommand> subcommands = forkd::master::Master::control_usage();
        cmd = forkd::config::parse_command_line(argc, argv, subcommands);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "forkd: %s\nRun 'forkd --help' for the options.\n", e.what());
        return exit_usage;
    }
    switch (cmd.action) {
    case CommandLine::Action::help: std::fputs(cmd.help_text.c_str(), stdout); return 0;
    case CommandLine::Action::version: std::printf("forkd %s\n", FORKD_VERSION); return 0;
    case CommandLine::Action::top: return forkd::top::run(forkd::top::Options{cmd.top_url, cmd.top_once, 1.0});
    case CommandLine::Action::control: return forkd::master::run_control(cmd);
    case CommandLine::Action::list_keys: std::fputs(forkd::config::list_keys().c_str(), stdout); return 0;
    case CommandLine::Action::check_config:
    case CommandLine::Action::serve: break;
    }

    // The mode names the config accepts are the endpoint table's (config
    // sits below app, so it is told): before any configuration is read, and
    // for every reload after.
    forkd::config::set_mode_keys(forkd::app::mode_keys());
    forkd::config::Settings settings;
    try {
        settings = forkd::config::load(cmd);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "forkd: configuration error: %s\n", e.what());
        return exit_config;
    }
    if (cmd.action == CommandLine::Action::check_config) {
        std::fputs(forkd::config::render_toml(settings).c_str(), stdout);
        std::fprintf(stderr, "forkd: configuration %s is valid\n",
                     settings.config_path.empty() ? "(built-in defaults)" : settings.config_path.c_str());
        return 0;
    }

    try {
        forkd::log::setup(settings.log, "master");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "forkd: %s\n", e.what());
        return exit_config;
    }
    forkd::master::Master master(std::move(cmd), std::move(settings));
    return master.run(std::vector<std::string>(argv, argv + argc));
}
