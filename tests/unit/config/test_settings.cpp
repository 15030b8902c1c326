// Tests of config/settings.cpp: bind address printing, the worker count and
// the registry of mode keys.
#include <doctest/doctest.h>

#include <unistd.h>

#include "app/table.hpp"
#include "config/settings.hpp"

using namespace forkd::config;

TEST_CASE("BindAddress::to_string brackets IPv6 hosts only")
{
    CHECK(BindAddress{"127.0.0.1", 8000}.to_string() == "127.0.0.1:8000");
    CHECK(BindAddress{"0.0.0.0", 80}.to_string() == "0.0.0.0:80");
    CHECK(BindAddress{"::1", 8000}.to_string() == "[::1]:8000");
    CHECK(BindAddress{"::", 65535}.to_string() == "[::]:65535");
}

TEST_CASE("resolved_workers: the configured count, or the online cores for 0")
{
    Settings settings;
    settings.workers = 3;
    CHECK(settings.resolved_workers() == 3);
    settings.workers = 0;
    CHECK(settings.resolved_workers() == static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
    CHECK(settings.resolved_workers() >= 1);
}

TEST_CASE("mode keys: the names handed in are the names a key accepts")
{
    static constexpr std::string_view colours[] = {"red", "green"};
    static constexpr ModeKey keys[] = {{"colour_mode", colours}};
    set_mode_keys(keys);
    REQUIRE(mode_names("colour_mode").size() == 2);
    CHECK(mode_names("colour_mode")[1] == "green");
    CHECK(mode_names("fib_mode").empty());  // no longer handed in
    CHECK(mode_names("").empty());
    set_mode_keys({});
    CHECK(mode_names("colour_mode").empty());
    // Put back what the program (main.cpp) and the other tests hand in.
    set_mode_keys(forkd::app::mode_keys());
}

TEST_CASE("defaults match DESIGN.md")
{
    const Settings settings;
    REQUIRE(settings.bind.size() == 1);
    CHECK(settings.bind[0].to_string() == "127.0.0.1:8000");
    CHECK(settings.endpoints.hello_mode == "inline");
    CHECK(settings.endpoints.sleep_mode == "timer");
    CHECK(settings.endpoints.fib_mode == "offload");
    CHECK(settings.endpoints.fibo_sleep_mode == "par");
    CHECK(settings.umask == 022);
}
