// tests/fuzz/fuzz_config.cpp: a libFuzzer target for the configuration: the
// TOML file (config/load.cpp, keys.cpp, validate.cpp) and the command line
// (config/cli.cpp).
//
// The input is a TOML document, optionally followed by a line "--argv--"
// and command-line arguments, one per line. Invariants:
//  - the only exception that leaves apply_toml, validate, parse_command_line
//    and load is ConfigError (anything else would crash forkd at start-up or
//    on a HUP instead of "configuration error: ..."), and its message is one
//    line that names the source for a file error;
//  - a configuration that loads renders (render_toml, what --check-config
//    prints) to a document that loads again to the very same rendering.
// The command line never names a file here (-c is dropped): load() reads
// only what the input holds.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "app/table.hpp"
#include "config/cli.hpp"
#include "config/load.hpp"

using namespace forkd;

namespace {

void check(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_config: invariant broken: %s\n", what);
        std::abort();
    }
}

void check_message(const config::ConfigError& e, std::string_view source)
{
    std::string_view message = e.what();
    check(!message.empty(), "an empty error message");
    if (!source.empty())
        check(message.substr(0, source.size()) == source, "a file error that does not name the file");
}

void round_trip(const config::Settings& settings)
{
    std::string rendered = config::render_toml(settings);
    config::Settings again;
    try {
        config::apply_toml(again, rendered, "rendered.toml");
        config::validate(again);
    } catch (const config::ConfigError& e) {
        std::fprintf(stderr, "%s\n--- rendered:\n%s\n", e.what(), rendered.c_str());
        check(false, "a valid configuration renders to one that does not load");
    }
    check(config::render_toml(again) == rendered, "a rendered configuration does not render the same again");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    static const bool keys_set = [] {
        config::set_mode_keys(app::mode_keys());
        return true;
    }();
    (void)keys_set;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view toml = input;
    std::vector<std::string> args;
    constexpr std::string_view marker = "\n--argv--\n";
    if (std::size_t at = input.find(marker); at != std::string_view::npos) {
        toml = input.substr(0, at);
        std::string_view rest = input.substr(at + marker.size());
        while (!rest.empty() && args.size() < 64) {
            std::size_t eol = rest.find('\n');
            args.emplace_back(rest.substr(0, eol));
            rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
        }
    }

    config::Settings settings;
    bool file_ok = false;
    try {
        config::apply_toml(settings, toml, "fuzz.toml");
        config::validate(settings);
        file_ok = true;
    } catch (const config::ConfigError& e) {
        check_message(e, "fuzz.toml");
    }
    if (file_ok)
        round_trip(settings);

    std::vector<const char*> argv = {"forkd"};
    for (const std::string& a : args)
        argv.push_back(a.c_str());
    try {
        config::CommandLine cmd = config::parse_command_line(int(argv.size()), argv.data());
        cmd.config_path.clear();  // no file from the input's arguments
        config::Settings loaded = config::load(cmd);
        round_trip(loaded);
    } catch (const config::ConfigError& e) {
        check_message(e, "");
    }
    return 0;
}
