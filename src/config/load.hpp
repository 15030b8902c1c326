// config/load.hpp: read settings from a TOML file, check them, print them.
//
// Errors are exceptions (start-up and reload only, never inside the loop):
// a ConfigError's message names the file, the line and the key, e.g.
//   conf/forkd.toml:12: key 'workers': expected an integer >= 0, got "four"
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "config/settings.hpp"

namespace forkd::config {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Apply the TOML document `text` on top of `settings`. `source` is the name
// used in messages (usually the path). Unknown keys and tables, wrong types
// and out-of-range values throw ConfigError naming source:line and the key.
void apply_toml(Settings& settings, std::string_view text, const std::string& source);

// Read and apply the file at `path` (ConfigError if it cannot be read), and
// record it in settings.config_path.
void apply_file(Settings& settings, const std::string& path);

// Cross-key checks that no single key can make (e.g. an empty bind list,
// header_timeout > 0, a stats.allow entry that is no CIDR). Throws ConfigError.
void validate(const Settings& settings);

// The effective configuration as a TOML document with every key (what
// `forkd --check-config` prints).
std::string render_toml(const Settings& settings);

// "host:port", "[v6]:port" -> BindAddress; false if malformed (no DNS lookups:
// "localhost" is accepted as 127.0.0.1).
bool parse_bind(std::string_view text, BindAddress& out);

}  // namespace forkd::config
