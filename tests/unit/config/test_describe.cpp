// Tests of config/describe.cpp: `forkd --list-keys`, one line per key of
// the table with its default and its values (what the man page is built from).
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "config/describe.hpp"
#include "config/keys.hpp"

using namespace forkd::config;

TEST_CASE("one line per key, in the table's order, with default and values")
{
    std::istringstream lines(list_keys());
    std::string line;
    std::size_t count = 0;
    for (const detail::Key& key : detail::keys()) {
        REQUIRE(std::getline(lines, line));
        CHECK(line.rfind(key.dotted() + "\t", 0) == 0);
        CHECK(line.find("\t?\t") == std::string::npos);  // its default was found
        ++count;
    }
    CHECK_FALSE(std::getline(lines, line));
    CHECK(count == detail::keys().size());
}

TEST_CASE("defaults and values as the config file writes them")
{
    const std::string all = list_keys();
    CHECK(all.find("workers\t0\tan integer >= 0 and <= 1024\n") != std::string::npos);
    CHECK(all.find("log.level\t\"info\"\t") != std::string::npos);
    CHECK(all.find("bind\t[\"127.0.0.1:8000\"]\t") != std::string::npos);
}
