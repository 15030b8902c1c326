// tests/unit/http/test_limits.cpp: http/limits.cpp, Limits from the settings.
#include <doctest/doctest.h>

#include "config/settings.hpp"
#include "http/limits.hpp"

using forkd::http::Limits;

TEST_CASE("limits: from() maps the settings")
{
    forkd::config::Settings settings;
    settings.limit_request_line = 100;
    settings.limit_request_fields = 0;
    settings.limit_request_field_size = 200;
    settings.max_body_size = 0;
    settings.keepalive = 2.5;
    settings.header_timeout = 0;
    settings.send_timeout = 0.25;
    Limits limits = Limits::from(settings);
    CHECK(limits.request_line == 100);
    CHECK(limits.request_fields == Limits::max_request_fields);
    CHECK(limits.request_field_size == 200);
    CHECK(limits.max_body_size < 0);
    CHECK(limits.keepalive_ms == 2500);
    CHECK(limits.header_timeout_ms == 0);
    CHECK(limits.send_timeout_ms == 250);
    settings.limit_request_line = 1 << 30;
    settings.keepalive = -1;
    limits = Limits::from(settings);
    CHECK(limits.request_line == Limits::max_request_line);
    CHECK(limits.keepalive_ms == 0);
    Limits defaults = Limits::from(forkd::config::Settings{});
    CHECK(defaults.request_line == 8190);
    CHECK(defaults.max_body_size == 1048576);
    CHECK(defaults.keepalive_ms == 75000);
    CHECK(defaults.header_timeout_ms == 10000);
    CHECK(defaults.send_timeout_ms == 60000);
}
