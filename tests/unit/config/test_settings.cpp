// Tests of config/settings.cpp: bind address printing, the worker count and
// the mode names.
#include <doctest/doctest.h>

#include <unistd.h>

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

// Every name of a mode type parses back to the value it names, in enum order.
template <class Mode> void check_names_round_trip(std::initializer_list<const char*> expected)
{
    const auto names = mode_names<Mode>();
    REQUIRE(names.size() == expected.size());
    int index = 0;
    for (const char* name : expected) {
        const auto mode = static_cast<Mode>(index);
        CHECK(std::string_view(to_string(mode)) == name);
        CHECK(names[static_cast<std::size_t>(index)] == name);
        Mode parsed{};
        CHECK(parse_mode(name, parsed));
        CHECK(parsed == mode);
        ++index;
    }
}

TEST_CASE("mode names are exactly the documented ones")
{
    check_names_round_trip<HelloMode>({"inline", "offload"});
    check_names_round_trip<SleepMode>({"timer", "offload", "block"});
    check_names_round_trip<FibMode>({"offload", "inline"});
    check_names_round_trip<FiboSleepMode>({"par", "async", "baseline", "offload"});
}

TEST_CASE("parse_mode refuses other names and leaves the output alone")
{
    SleepMode sleep = SleepMode::block;
    CHECK_FALSE(parse_mode("async", sleep));
    CHECK_FALSE(parse_mode("", sleep));
    CHECK_FALSE(parse_mode("Timer", sleep));
    CHECK_FALSE(parse_mode("timer ", sleep));
    CHECK(sleep == SleepMode::block);
    HelloMode hello = HelloMode::offload;
    CHECK_FALSE(parse_mode("inline_", hello));
    CHECK(hello == HelloMode::offload);
    FiboSleepMode fibo = FiboSleepMode::par;
    CHECK_FALSE(parse_mode("timer", fibo));
    FibMode fib = FibMode::inline_;
    CHECK_FALSE(parse_mode("par", fib));
}

TEST_CASE("defaults match DESIGN.md")
{
    const Settings settings;
    REQUIRE(settings.bind.size() == 1);
    CHECK(settings.bind[0].to_string() == "127.0.0.1:8000");
    CHECK(settings.endpoints.hello_mode == HelloMode::inline_);
    CHECK(settings.endpoints.sleep_mode == SleepMode::timer);
    CHECK(settings.endpoints.fib_mode == FibMode::offload);
    CHECK(settings.endpoints.fibo_sleep_mode == FiboSleepMode::par);
    CHECK(settings.umask == 022);
}
