// config/describe.cpp: `forkd --list-keys`, the key table as lines.
//
// The default of each key is taken from render_toml() of the built-in
// settings, which writes one "name = value" line per key in the table's
// order; the allowed values from expected(). Nothing is spelled twice.
#include "config/describe.hpp"

#include <sstream>

#include <fmt/format.h>

#include "config/keys.hpp"
#include "config/load.hpp"

namespace forkd::config {

std::string list_keys()
{
    std::istringstream rendered(render_toml(Settings{}));
    std::string out;
    std::string line;
    for (const detail::Key& key : detail::keys()) {
        // Skip the comment, blank and [table] lines to this key's own.
        while (std::getline(rendered, line) && (line.empty() || line[0] == '#' || line[0] == '[')) { }
        const std::string prefix = fmt::format("{} = ", key.name);
        const std::string value = line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : std::string("?");
        out += fmt::format("{}\t{}\t{}\n", key.dotted(), value, detail::expected(key));
    }
    return out;
}

}  // namespace forkd::config
