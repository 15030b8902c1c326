// config/cli.cpp: the command line, with CLI11.
//
// Owns the flags, the `top` subcommand, and load(): defaults, then the file,
// then the flags, then validate(). A flag's value is checked by the same key
// table as the file's (config/keys.cpp), so `-w 2000` and `workers = 2000`
// fail with the same words. Nothing here prints or exits: main.cpp decides
// what to do with the action, the help text and the errors.
#include "config/cli.hpp"

#include <charconv>
#include <cstdint>
#include <variant>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "config/keys.hpp"
#include "config/load.hpp"

namespace forkd::config {

namespace {

// A flag that overrides one key of the file. One row serves the flag's
// definition, its conversion and the override in load().
using Member = std::variant<std::optional<int> CommandLine::*, std::optional<double> CommandLine::*,
                            std::optional<std::string> CommandLine::*>;

struct KeyFlag {
    const char* names;       // CLI11's "-w,--workers"; the last one is used in messages
    const char* key;         // the key it overrides, as in the file
    const char* value_name;  // shown in --help
    const char* help;
    Member member;

    std::string_view flag() const
    {
        const std::string_view all = names;
        return all.substr(all.rfind(',') + 1);
    }
};

const KeyFlag key_flags[] = {
    {"-w,--workers", "workers", "N", "worker processes (0: one per core)", &CommandLine::workers},
    {"--threads", "threads", "N", "offload threads per worker (0: none)", &CommandLine::threads},
    {"-t,--timeout", "timeout", "S", "kill a worker whose loop is blocked this long", &CommandLine::timeout},
    {"--graceful-timeout", "graceful_timeout", "S", "time to finish in-flight requests on stop or reload",
     &CommandLine::graceful_timeout},
    {"--keepalive", "keepalive", "S", "idle keep-alive timeout (0: no keep-alive)", &CommandLine::keepalive},
    {"--max-requests", "max_requests", "N", "recycle a worker after N requests (0: never)", &CommandLine::max_requests},
    {"-p,--pid", "pidfile", "FILE", "write the master's pid to this file", &CommandLine::pidfile},
    {"--log-level", "log.level", "LEVEL", "trace, debug, info, warning, error, critical or off",
     &CommandLine::log_level},
    {"--error-log", "log.error_log", "FILE", "error log file (\"-\": stderr)", &CommandLine::error_log},
    {"--access-log", "log.access_log", "FILE", "access log file (\"-\": stdout)", &CommandLine::access_log},
    {"-u,--user", "user", "USER", "run workers as this user", &CommandLine::user},
    {"-g,--group", "group", "GROUP", "run workers as this group", &CommandLine::group},
};

const detail::Key& key_named(std::string_view dotted)
{
    const detail::Key* key = detail::find_key(dotted);
    if (key == nullptr) {
        throw std::logic_error(fmt::format("config: no key '{}' in the key table", dotted));
    }
    return *key;
}

// True if `text` is well-formed UTF-8 (no overlongs, surrogates or code
// points past U+10FFFF) holding no control character (C0, DEL, C1).
bool printable_utf8(std::string_view text)
{
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7f)
                return false;
            ++i;
            continue;
        }
        const std::size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
        if (n == 0 || c > 0xf4 || i + n > text.size())
            return false;
        uint32_t cp = c & (0x7f >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(text[i + k]);
            if ((d & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (d & 0x3f);
        }
        const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
            return false;
        i += n;
    }
    return true;
}

// Every flag is taken as text and converted here, so that `-w four` says
// what a worker count must be instead of CLI11's "Could not convert".
struct Convert {
    const KeyFlag& row;
    const std::string& text;
    CommandLine& cmd;

    // Text flags become TOML strings (--check-config prints them): UTF-8
    // without control characters, as a config file's strings must be.
    void operator()(std::optional<std::string> CommandLine::*member) const
    {
        if (!printable_utf8(text))
            throw ConfigError(
                fmt::format("command line: {}: expected UTF-8 text without control characters", row.flag()));
        cmd.*member = text;
    }
    template <class Number> void operator()(std::optional<Number> CommandLine::*member) const
    {
        Number value{};
        const char* end = text.data() + text.size();
        const auto [stop, error] = std::from_chars(text.data(), end, value);
        if (error != std::errc() || stop != end) {
            throw ConfigError(fmt::format("command line: {}: expected {}, got \"{}\"", row.flag(),
                                          detail::expected(key_named(row.key)), text));
        }
        cmd.*member = value;
    }
};

// Puts a flag's value, if it was given, over the file's.
struct ApplyFlag {
    const KeyFlag& row;
    const CommandLine& cmd;
    Settings& settings;

    template <class T> void operator()(std::optional<T> CommandLine::*member) const
    {
        const std::optional<T>& value = cmd.*member;
        if (!value) {
            return;
        }
        const detail::Override given = [&]() -> detail::Override {
            if constexpr (std::is_integral_v<T>) {
                return static_cast<int64_t>(*value);
            } else {
                return *value;
            }
        }();
        detail::apply_override(settings, key_named(row.key), given, row.flag());
    }
};

constexpr const char* footer = "Flags override the config file; every key is described in conf/forkd.toml.\n"
                               "Signals to the master: TERM graceful stop, INT/QUIT quick stop, HUP reload,\n"
                               "TTIN/TTOU one worker more/fewer, USR1 reopen logs, USR2 upgrade the binary.\n"
                               "The control subcommands do the same and wait for the outcome; see forkd(8).";

// One control subcommand as CLI11 parses it; the words are gathered after
// parsing, in the order the master reads them (name, argument, flag).
struct Parsed {
    const Subcommand* sub;
    CLI::App* app;
    std::string argument;
    bool flag = false;
};

}  // namespace

CommandLine parse_command_line(int argc, const char* const* argv, std::span<const Subcommand> subcommands)
{
    CommandLine cmd;
    cmd.top_url = "http://127.0.0.1:8000/stats";
    std::optional<std::string> texts[std::size(key_flags)];  // see Convert
    bool check_config = false;
    bool version = false;

    CLI::App app{"forkd: a prefork HTTP/1.1 server", "forkd"};
    app.footer(footer);
    app.add_option("-c,--config", cmd.config_path, "read settings from this TOML file")->option_text("FILE");
    app.add_option("-b,--bind", cmd.bind,
                   "listen on host:port or [ipv6]:port; repeat for several (replaces the "
                   "file's list)")
        ->option_text("ADDR")
        ->allow_extra_args(false);
    for (std::size_t i = 0; i < std::size(key_flags); ++i) {
        app.add_option(key_flags[i].names, texts[i], key_flags[i].help)->option_text(key_flags[i].value_name);
    }
    app.add_flag("--check-config", check_config, "check the configuration, print it as TOML and exit");
    app.add_flag("-v,--version", version, "print the version and exit");

    CLI::App* top = app.add_subcommand("top", "show live worker statistics from a running forkd");
    top->add_option("url", cmd.top_url, "the /stats URL")->capture_default_str();
    top->add_flag("--once", cmd.top_once, "print one frame and exit (for scripts)");
    // Hidden (no group): what the man page's build reads the key table from.
    bool list_keys = false;
    app.add_flag("--list-keys", list_keys, "print every config key, its default and its values")->group("");

    // -c and -p may follow the subcommand: `forkd reload -c FILE`.
    app.fallthrough();
    app.require_subcommand(0, 1);
    std::vector<Parsed> control;
    control.reserve(subcommands.size());
    for (const Subcommand& sub : subcommands) {
        CLI::App* sc = app.add_subcommand(std::string(sub.name), std::string(sub.help));
        control.push_back(Parsed{&sub, sc, {}});
        Parsed& p = control.back();
        if (!sub.argument.empty()) {
            sc->add_option("argument", p.argument, std::string(sub.argument))->required();
        }
        if (!sub.flag.empty()) {
            sc->add_flag("--" + std::string(sub.flag), p.flag, std::string(sub.flag_help));
        }
        sc->add_option("--timeout", cmd.control_timeout_s, "seconds to wait for the outcome")
            ->option_text("S")
            ->check(CLI::Range(0.1, 86400.0))
            ->capture_default_str();
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        cmd.action = CommandLine::Action::help;
        cmd.help_text = app.help();  // the help of `top` for `forkd top --help`
        return cmd;
    } catch (const CLI::ParseError& error) {
        throw ConfigError(fmt::format("command line: {}", error.what()));
    }

    if (version) {
        cmd.action = CommandLine::Action::version;
    } else if (list_keys) {
        cmd.action = CommandLine::Action::list_keys;
    } else if (check_config) {
        cmd.action = CommandLine::Action::check_config;
    } else if (top->parsed()) {
        cmd.action = CommandLine::Action::top;
    }
    for (const Parsed& p : control) {
        if (!p.app->parsed()) {
            continue;
        }
        cmd.action = CommandLine::Action::control;
        cmd.control = {std::string(p.sub->name)};
        if (!p.sub->argument.empty()) {
            cmd.control.push_back(p.argument);
        }
        if (p.flag) {
            cmd.control.push_back("--" + std::string(p.sub->flag));
        }
    }
    for (std::size_t i = 0; i < std::size(key_flags); ++i) {
        if (texts[i]) {
            std::visit(Convert{key_flags[i], *texts[i], cmd}, key_flags[i].member);
        }
    }
    return cmd;
}

Settings load(const CommandLine& cmd)
{
    Settings settings;
    if (!cmd.config_path.empty()) {
        apply_file(settings, cmd.config_path);
    }
    if (!cmd.bind.empty()) {
        detail::apply_override(settings, key_named("bind"), cmd.bind, "--bind");
    }
    for (const KeyFlag& row : key_flags) {
        std::visit(ApplyFlag{row, cmd, settings}, row.member);
    }
    validate(settings);
    return settings;
}

}  // namespace forkd::config
