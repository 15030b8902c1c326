// config/keys.hpp: the one table that describes every configuration key.
//
// Private to config/. Each Key says where it lives in the TOML document, which
// Settings field it fills and which values it accepts. The file loader, the
// command-line overrides, the renderer and the error messages all read this
// table, so a key's rules are written once. It knows nothing of toml++ (only
// config/load.cpp does) or of CLI11 (config/cli.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/settings.hpp"

namespace forkd::config::detail {

// Which field a key fills. Each accessor returns a reference into Settings;
// the alternative's type says how the key is read and printed.
template <class T> using Access = T& (*)(Settings&);
using Field = std::variant<Access<int>, Access<int64_t>, Access<double>, Access<bool>, Access<std::string>,
                           Access<std::vector<std::string>>, Access<std::vector<BindAddress>>>;

// Inclusive numeric bounds; `above` makes the lower one exclusive (timeout > 0).
struct Range {
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool above = false;

    bool contains(double value) const { return (above ? value > min : value >= min) && value <= max; }
};

struct Key {
    std::string_view table;  // "" for the top level, else "log", "stats", "endpoints"
    std::string_view name;
    Field field;
    Range range{};
    std::span<const std::string_view> choices{};  // a string key limited to these names
    bool mode = false;                            // limited to the mode names of set_mode_keys()
    bool (*valid)(std::string_view) = nullptr;    // extra check of a string (each one, in a list)
    bool octal = false;                           // an integer also given as "022" (umask)
    std::string_view what{};                      // says what is valid where the type does not

    std::string dotted() const;  // "workers", "log.level"
};

// Every key, in the order of conf/forkd.toml and of render_toml().
std::span<const Key> keys();
// The tables that may appear in a document, in order ("log", "stats", "endpoints").
std::span<const std::string_view> tables();

const Key* find_key(std::string_view table, std::string_view name);
const Key* find_key(std::string_view dotted);

// The names a string key is limited to (its choices, or its mode names);
// empty when any string goes.
std::span<const std::string_view> choices_of(const Key& key);

// "an integer >= 0 and <= 1024", "one of \"json\", \"combined\"", ...
std::string expected(const Key& key);

// The known name closest to `dotted` ("wrkers" -> "workers"), if close enough
// to be a likely typo; also a key that exists in another table ("level" ->
// "log.level").
std::optional<std::string> nearest_name(std::string_view dotted);

// A value given on the command line for a key: it passes the same checks as
// the file's (see config/load.cpp). Errors read "command line: <flag>: ...".
using Override = std::variant<int64_t, double, std::string, std::vector<std::string>>;
void apply_override(Settings& settings, const Key& key, const Override& value, std::string_view flag);

// A string key's extra checks, shared by the table and validate().
bool is_cidr(std::string_view text);
bool is_bind_or_empty(std::string_view text);

}  // namespace forkd::config::detail
