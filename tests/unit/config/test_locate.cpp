// Tests of config/locate.cpp: the pidfile of a config file, found even in a
// file that does not parse or validate (the edit a reload is to refuse).
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "config/cli.hpp"
#include "config/load.hpp"
#include "config/locate.hpp"

using namespace forkd::config;

TEST_CASE("the pidfile key of a document that parses")
{
    CHECK(pidfile_in("workers = 2\npidfile = \"/run/forkd/forkd.pid\"\n") == "/run/forkd/forkd.pid");
    CHECK(pidfile_in("workers = -5\npidfile = \"x.pid\"\n") == "x.pid");  // not validated here
    CHECK(pidfile_in("workers = 2\n").empty());
    CHECK(pidfile_in("[log]\npidfile = \"not.top.level\"\n").empty());
}

TEST_CASE("the pidfile key of a document with a syntax error, from its text")
{
    CHECK(pidfile_in("pidfile = \"/run/f.pid\"  # here\nworkers = = 3\n") == "/run/f.pid");
    CHECK(pidfile_in("workers = [\npidfile = \"/run/f.pid\"\n") == "/run/f.pid");
    CHECK(pidfile_in("workers = [\n[log]\npidfile = \"/run/f.pid\"\n").empty());
}

TEST_CASE("--pid wins over the file; no file and no flag: no pidfile")
{
    CommandLine cmd;
    CHECK(locate_pidfile(cmd).empty());
    cmd.pidfile = "/tmp/flag.pid";
    cmd.config_path = "/nonexistent/forkd.toml";
    CHECK(locate_pidfile(cmd) == "/tmp/flag.pid");
}

TEST_CASE("a config file that cannot be read is an error that names it")
{
    CommandLine cmd;
    cmd.config_path = "/nonexistent/forkd.toml";
    CHECK_THROWS_WITH_AS(locate_pidfile(cmd), "/nonexistent/forkd.toml: cannot open", ConfigError);
}

TEST_CASE("the -c file's pidfile")
{
    const std::string path = "/tmp/forkd-test-locate.toml";
    std::ofstream(path) << "pidfile = \"/tmp/from-file.pid\"\nworkers = \"four\"\n";
    CommandLine cmd;
    cmd.config_path = path;
    CHECK(locate_pidfile(cmd) == "/tmp/from-file.pid");
    std::remove(path.c_str());
}
