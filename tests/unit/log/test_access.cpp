// Unit tests for log/access.cpp: the line formats.
#include <doctest/doctest.h>

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "log/access.hpp"

using forkd::log::AccessLog;
using forkd::log::AccessRecord;

namespace {

AccessRecord sample()
{
    AccessRecord r;
    r.peer = "127.0.0.1";
    r.method = "GET";
    r.target = "/fib/20?mode=inline";
    r.status = 200;
    r.bytes = 180;
    r.user_agent = "curl/7.88.1";
    r.seconds = 0.0012346;
    r.worker = 3;
    return r;
}

}  // namespace

TEST_CASE("access log: combined format, as nginx writes it, plus the request time")
{
    setenv("TZ", "UTC", 1);
    tzset();
    const std::string line = AccessLog::format(sample(), false, 784111777);
    CHECK(line == "127.0.0.1 - - [06/Nov/1994:08:49:37 +0000] \"GET /fib/20?mode=inline HTTP/1.1\" 200 180 "
                  "\"-\" \"curl/7.88.1\" 0.001235");
}

TEST_CASE("access log: a client cannot forge lines with quotes or line breaks")
{
    AccessRecord r = sample();
    r.user_agent = "evil\"\n127.0.0.1 - - [x] \"GET /";
    const std::string line = AccessLog::format(r, false, 0);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find("evil\\x22\\x0A127") != std::string::npos);
}

TEST_CASE("access log: json format is one object per line")
{
    AccessRecord r = sample();
    r.referer = "http://example/\xff";  // invalid UTF-8 is replaced, not fatal
    const std::string line = AccessLog::format(r, true, 784111777);
    CHECK(line.find('\n') == std::string::npos);
    const auto j = nlohmann::json::parse(line);
    CHECK(j["status"] == 200);
    CHECK(j["target"] == "/fib/20?mode=inline");
    CHECK(j["user_agent"] == "curl/7.88.1");
    CHECK(j["time"] == 784111777);
    CHECK(j["worker"] == 3);
}
