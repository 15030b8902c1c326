// config/locate.cpp: the pidfile key of a config file, read leniently.
//
// A file that parses is asked through toml++; one that does not (the broken
// edit whose refusal the operator waits for) is scanned line by line for a
// top-level `pidfile = "..."` before the first table. Nothing here validates.
#include "config/locate.hpp"

#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/load.hpp"

namespace forkd::config {

std::string pidfile_in(const std::string& text)
{
    try {
        const toml::table document = toml::parse(text);
        return document["pidfile"].value_or(std::string());
    } catch (const toml::parse_error&) {
    }
    static const std::regex line(R"re(^\s*pidfile\s*=\s*"([^"\\]*)"\s*(#.*)?$)re");
    std::istringstream in(text);
    std::string row;
    std::string found;
    while (std::getline(in, row)) {
        std::smatch m;
        if (!row.empty() && row.find_first_not_of(" \t") != std::string::npos &&
            row[row.find_first_not_of(" \t")] == '[') {
            break;  // a table: a `pidfile` below it is not the top-level key
        }
        if (std::regex_match(row, m, line)) {
            found = m[1];
        }
    }
    return found;
}

std::string locate_pidfile(const CommandLine& cmd)
{
    if (cmd.pidfile) {
        return *cmd.pidfile;
    }
    if (cmd.config_path.empty()) {
        return {};
    }
    std::ifstream in(cmd.config_path);
    if (!in) {
        throw ConfigError(fmt::format("{}: cannot open", cmd.config_path));
    }
    std::ostringstream text;
    text << in.rdbuf();
    return pidfile_in(text.str());
}

}  // namespace forkd::config
