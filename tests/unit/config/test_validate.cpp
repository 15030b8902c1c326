// tests/unit/config/test_validate.cpp: config/validate.cpp: "host:port"
// addresses, and the checks that span keys.
#include <doctest/doctest.h>

#include <string>

#include "config/load.hpp"

using namespace forkd::config;

namespace {

std::string validate_error(const Settings& settings)
{
    try {
        validate(settings);
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

Settings load_text(std::string_view text)
{
    Settings settings;
    apply_toml(settings, text, "test.toml");
    return settings;
}

}  // namespace

TEST_CASE("parse_bind accepts numeric hosts and localhost only")
{
    BindAddress out;
    CHECK(parse_bind("127.0.0.1:8000", out));
    CHECK(out == BindAddress{"127.0.0.1", 8000});
    CHECK(parse_bind("[::1]:1", out));
    CHECK(out == BindAddress{"::1", 1});
    CHECK(parse_bind("localhost:65535", out));
    CHECK(out == BindAddress{"127.0.0.1", 65535});
    const char* refused[] = {"",
                             "127.0.0.1",
                             "127.0.0.1:",
                             ":8000",
                             "8000",
                             "example.com:80",
                             "127.0.0.1:0",
                             "127.0.0.1:65536",
                             "127.0.0.1:80x",
                             "127.0.0.1:+80",
                             "127.0.0.1: 80",
                             "::1:8000",
                             "[::1]8000",
                             "[::1]:",
                             "[127.0.0.1]:80",
                             "[::1:80",
                             "1.2.3.256:80",
                             "127.0.0.1:99999999999"};
    for (const char* text : refused) {
        CAPTURE(text);
        BindAddress untouched{"x", 1};
        CHECK_FALSE(parse_bind(text, untouched));
        CHECK(untouched == BindAddress{"x", 1});
    }
}

TEST_CASE("validate: the checks that span keys name the key and the file")
{
    Settings settings;
    CHECK(validate_error(settings) == "");
    settings.bind.clear();
    CHECK(validate_error(settings) == "configuration: key 'bind': expected at least one \"host:port\", got []");
    settings.config_path = "conf/x.toml";
    settings.bind = {{"::1", 80}, {"127.0.0.1", 80}, {"::1", 80}};
    CHECK(validate_error(settings) == "conf/x.toml: key 'bind': \"[::1]:80\" is listed twice");
    // Two spellings of one address are the same address.
    settings = load_text("bind = [\"[::1]:80\", \"[0::1]:80\"]");
    CHECK(validate_error(settings).find("listed twice") != std::string::npos);

    settings = Settings{};
    settings.stats.allow = {"127.0.0.0/8", "localhost"};
    CHECK(validate_error(settings) ==
          "configuration: key 'stats.allow': expected an array of CIDRs like \"127.0.0.0/8\" or "
          "\"::1/128\", got \"localhost\"");
    settings = Settings{};
    settings.stats.bind = "127.0.0.1";
    CHECK(validate_error(settings).starts_with("configuration: key 'stats.bind': expected"));
    settings.stats.bind = "localhost:8000";
    CHECK(validate_error(settings) ==
          "configuration: key 'stats.bind': \"localhost:8000\" is also in 'bind'; the stats "
          "address must be a separate one");
    settings.stats.bind = "127.0.0.1:9100";
    CHECK(validate_error(settings) == "");
}
