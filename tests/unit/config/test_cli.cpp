// Tests of config/cli.cpp: the flags, the actions, usage errors, and load():
// flags win over the file and pass the same checks.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/cli.hpp"
#include "config/load.hpp"

using namespace forkd::config;

namespace {

CommandLine parse(std::vector<const char*> args)
{
    args.insert(args.begin(), "forkd");
    return parse_command_line(static_cast<int>(args.size()), args.data());
}

// The message of the ConfigError that parsing and loading `args` raises.
std::string error_of(std::vector<const char*> args)
{
    try {
        load(parse(std::move(args)));
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

// A config file in /tmp for the duration of one test.
struct TempConfig {
    std::string path;
    explicit TempConfig(const std::string& text)
    {
        char name[] = "/tmp/forkd-test-cli-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
        close(fd);
        path = name;
    }
    ~TempConfig() { std::remove(path.c_str()); }
};

// Each flag that overrides a key, once, with a valid value.
const std::vector<const char*> every_flag = {"-b",
                                             "127.0.0.1:9000",
                                             "--bind",
                                             "[::1]:9001",
                                             "-w",
                                             "3",
                                             "--threads",
                                             "0",
                                             "-t",
                                             "2.5",
                                             "--graceful-timeout",
                                             "1",
                                             "--keepalive",
                                             "0",
                                             "--max-requests",
                                             "100",
                                             "-p",
                                             "/run/f.pid",
                                             "--log-level",
                                             "debug",
                                             "--error-log",
                                             "/tmp/e.log",
                                             "--access-log",
                                             "-",
                                             "-u",
                                             "nobody",
                                             "-g",
                                             "nogroup"};

}  // namespace

TEST_CASE("no arguments: serve with the built-in defaults")
{
    const CommandLine cmd = parse({});
    CHECK(cmd.action == CommandLine::Action::serve);
    CHECK(cmd.config_path.empty());
    CHECK(cmd.bind.empty());
    CHECK_FALSE(cmd.workers);
    CHECK(cmd.top_url == "http://127.0.0.1:8000/stats");
    const Settings settings = load(cmd);
    REQUIRE(settings.bind.size() == 1);
    CHECK(settings.bind[0].to_string() == "127.0.0.1:8000");
}

TEST_CASE("every flag lands in its field")
{
    std::vector<const char*> args = every_flag;
    args.insert(args.end(), {"-c", "x.toml"});
    const CommandLine cmd = parse(args);
    CHECK(cmd.action == CommandLine::Action::serve);
    CHECK(cmd.config_path == "x.toml");
    CHECK(cmd.bind == std::vector<std::string>{"127.0.0.1:9000", "[::1]:9001"});
    CHECK(cmd.workers == 3);
    CHECK(cmd.threads == 0);
    CHECK(cmd.timeout == 2.5);
    CHECK(cmd.graceful_timeout == 1.0);
    CHECK(cmd.keepalive == 0.0);
    CHECK(cmd.max_requests == 100);
    CHECK(cmd.pidfile == "/run/f.pid");
    CHECK(cmd.log_level == "debug");
    CHECK(cmd.error_log == "/tmp/e.log");
    CHECK(cmd.access_log == "-");
    CHECK(cmd.user == "nobody");
    CHECK(cmd.group == "nogroup");
    CHECK(parse({"--workers=5"}).workers == 5);
}

TEST_CASE("every flag overrides its key")
{
    const Settings s = load(parse(every_flag));
    CHECK(s.bind == std::vector<BindAddress>{{"127.0.0.1", 9000}, {"::1", 9001}});
    CHECK(s.workers == 3);
    CHECK(s.threads == 0);
    CHECK(s.timeout == 2.5);
    CHECK(s.graceful_timeout == 1.0);
    CHECK(s.keepalive == 0.0);
    CHECK(s.max_requests == 100);
    CHECK(s.pidfile == "/run/f.pid");
    CHECK(s.log.level == "debug");
    CHECK(s.log.error_log == "/tmp/e.log");
    CHECK(s.log.access_log == "-");
    CHECK(s.user == "nobody");
    CHECK(s.group == "nogroup");
}

TEST_CASE("actions: help, version, check-config, top")
{
    const CommandLine help = parse({"--help"});
    CHECK(help.action == CommandLine::Action::help);
    CHECK(help.help_text.find("--workers") != std::string::npos);
    CHECK(help.help_text.find("--check-config") != std::string::npos);
    CHECK(parse({"-h"}).action == CommandLine::Action::help);
    const CommandLine top_help = parse({"top", "--help"});
    CHECK(top_help.action == CommandLine::Action::help);
    CHECK(top_help.help_text.find("url") != std::string::npos);

    CHECK(parse({"-v"}).action == CommandLine::Action::version);
    CHECK(parse({"--version"}).action == CommandLine::Action::version);
    const CommandLine check = parse({"-c", "a.toml", "--check-config"});
    CHECK(check.action == CommandLine::Action::check_config);
    CHECK(check.config_path == "a.toml");

    const CommandLine top = parse({"top"});
    CHECK(top.action == CommandLine::Action::top);
    CHECK(top.top_url == "http://127.0.0.1:8000/stats");
    CHECK(parse({"top", "http://10.0.0.1:9100/stats"}).top_url == "http://10.0.0.1:9100/stats");
}

TEST_CASE("usage errors are ConfigErrors with CLI11's message")
{
    CHECK_THROWS_WITH_AS(parse({"--frobnicate"}), doctest::Contains("command line: "), ConfigError);
    CHECK_THROWS_WITH_AS(parse({"-w"}), doctest::Contains("--workers"), ConfigError);
    // One address per -b: a second word is an unexpected argument, not a bind.
    CHECK_THROWS_AS(parse({"-b", "127.0.0.1:1", "127.0.0.1:2"}), ConfigError);
    CHECK_THROWS_AS(parse({"stray"}), ConfigError);
}

TEST_CASE("a flag that is no number says what the key expects")
{
    CHECK_THROWS_WITH_AS(parse({"-w", "four"}),
                         "command line: --workers: expected an integer >= 0 and <= 1024, got \"four\"", ConfigError);
    CHECK_THROWS_WITH_AS(parse({"-w", "99999999999"}), doctest::Contains("--workers: expected"), ConfigError);
    CHECK_THROWS_WITH_AS(parse({"-t", "30s"}),
                         "command line: --timeout: expected a number of seconds > 0 and <= "
                         "31536000, got \"30s\"",
                         ConfigError);
    CHECK_THROWS_AS(parse({"--max-requests", "1.5"}), ConfigError);
}

TEST_CASE("a flag out of range fails like the same key in the file")
{
    CHECK(error_of({"-w", "2000"}) == "command line: --workers: expected an integer >= 0 and <= 1024, got 2000");
    CHECK(error_of({"-w", "-1"}) == "command line: --workers: expected an integer >= 0 and <= 1024, got -1");
    CHECK(error_of({"--threads", "1025"}).starts_with("command line: --threads: expected"));
    CHECK(error_of({"-t", "0"}).starts_with("command line: --timeout: expected"));
    CHECK(error_of({"--keepalive", "-1"}).starts_with("command line: --keepalive: expected"));
    CHECK(error_of({"--max-requests", "-5"}).starts_with("command line: --max-requests:"));
    CHECK(error_of({"--log-level", "loud"})
              .starts_with("command line: --log-level: expected "
                           "one of \"trace\""));
    CHECK(error_of({"-b", "nope"}) == "command line: --bind: expected \"host:port\" or \"[ipv6]:port\" with a port "
                                      "1..65535, or an array of them, got \"nope\"");
    CHECK(error_of({"-b", "127.0.0.1:80", "-b", "localhost:80"}) ==
          "configuration: key 'bind': \"127.0.0.1:80\" is listed twice");
    CHECK(error_of({"-c", "/nonexistent.toml"}).starts_with("/nonexistent.toml: cannot open"));
}

TEST_CASE("flags override the file; what no flag names comes from the file")
{
    TempConfig file("bind = [\"127.0.0.1:8001\", \"127.0.0.1:8002\"]\n"
                    "workers = 3\nthreads = 7\ntimeout = 5\n"
                    "[log]\nlevel = \"error\"\n");
    const Settings from_file = load(parse({"-c", file.path.c_str()}));
    CHECK(from_file.config_path == file.path);
    CHECK(from_file.bind.size() == 2);
    CHECK(from_file.workers == 3);
    CHECK(from_file.log.level == "error");

    const Settings settings = load(parse({"-c", file.path.c_str(), "-w", "5", "-b", "[::1]:9000", "--log-level",
                                          "debug", "-t", "0.5", "-p", "/tmp/forkd.pid"}));
    CHECK(settings.workers == 5);
    CHECK(settings.bind == std::vector<BindAddress>{{"::1", 9000}});  // replaced, not appended
    CHECK(settings.log.level == "debug");
    CHECK(settings.timeout == 0.5);
    CHECK(settings.pidfile == "/tmp/forkd.pid");
    CHECK(settings.threads == 7);  // from the file
}

TEST_CASE("a bad file is reported even when flags would fix it")
{
    TempConfig file("workers = \"four\"\n");
    CHECK(error_of({"-c", file.path.c_str(), "-w", "2"}) ==
          file.path + ":1: key 'workers': expected an integer >= 0 and <= 1024, got \"four\"");
}

namespace {

// Control subcommands as the master's table would describe them.
const Subcommand test_subcommands[] = {
    {"reload", "reload"},
    {"stop", "stop", "", "quick", "quick shutdown"},
    {"workers", "one more or fewer", "+1|-1"},
};

CommandLine parse_control(std::vector<const char*> args)
{
    args.insert(args.begin(), "forkd");
    return parse_command_line(static_cast<int>(args.size()), args.data(), test_subcommands);
}

}  // namespace

TEST_CASE("control subcommands: their words, -c and --pid on either side, --timeout")
{
    CommandLine cmd = parse_control({"reload", "-c", "conf/forkd.toml"});
    CHECK(cmd.action == CommandLine::Action::control);
    CHECK(cmd.control == std::vector<std::string>{"reload"});
    CHECK(cmd.config_path == "conf/forkd.toml");
    CHECK(cmd.control_timeout_s == 90);

    cmd = parse_control({"--pid", "/run/f.pid", "stop", "--quick", "--timeout", "5"});
    CHECK(cmd.control == std::vector<std::string>{"stop", "--quick"});
    CHECK(cmd.pidfile == "/run/f.pid");
    CHECK(cmd.control_timeout_s == 5);

    CHECK(parse_control({"workers", "-1", "-p", "x.pid"}).control == std::vector<std::string>{"workers", "-1"});
    CHECK(parse_control({"workers", "+1"}).control == std::vector<std::string>{"workers", "+1"});
}

TEST_CASE("control subcommands: a missing argument, a flag of another, two at once are usage errors")
{
    CHECK_THROWS_AS(parse_control({"workers"}), ConfigError);
    CHECK_THROWS_AS(parse_control({"reload", "--quick"}), ConfigError);
    CHECK_THROWS_AS(parse_control({"reload", "stop"}), ConfigError);
    CHECK_THROWS_AS(parse_control({"stop", "--timeout", "0"}), ConfigError);
    CHECK_THROWS_AS(parse(std::vector<const char*>{"reload"}), ConfigError);  // no table: no subcommand
}

TEST_CASE("--list-keys is an action, and hidden from --help")
{
    CHECK(parse_control({"--list-keys"}).action == CommandLine::Action::list_keys);
    CHECK(parse_control({"--help"}).help_text.find("list-keys") == std::string::npos);
}

TEST_CASE("a text flag must be UTF-8 without control characters, as a file's strings are")
{
    CHECK(parse({"-p", "/run/forkd-\xc3\xa4.pid"}).pidfile == "/run/forkd-\xc3\xa4.pid");
    for (const char* bad :
         {"/run/\xff.pid", "/run/a\x7f.pid", "/run/a\tb", "/run/\xc0\xaf", "/run/\xed\xa0\x80", "/run/\xc3"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(parse({"-p", bad}), doctest::Contains("-p"), ConfigError);
    }
}
