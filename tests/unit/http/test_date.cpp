// tests/unit/http/test_date.cpp: http/date.cpp, IMF-fixdate and its cache.
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "http/date.hpp"

using namespace forkd::http;

TEST_CASE("date: format known timestamps")
{
    char buf[32];
    CHECK(date::format(784111777, buf) == "Sun, 06 Nov 1994 08:49:37 GMT");  // RFC 9110's example
    CHECK(date::format(0, buf) == "Thu, 01 Jan 1970 00:00:00 GMT");
    CHECK(date::format(951782400, buf) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(date::format(1700000000, buf) == "Tue, 14 Nov 2023 22:13:20 GMT");
    CHECK(date::format(2147483647, buf) == "Tue, 19 Jan 2038 03:14:07 GMT");
    CHECK(date::format(4102444799, buf) == "Thu, 31 Dec 2099 23:59:59 GMT");
    CHECK(date::format(0, buf).size() == 29);
}

TEST_CASE("date: current() is now, and stable within a second")
{
    date::refresh();
    std::time_t before = std::time(nullptr);
    std::string value(date::current());
    std::time_t after = std::time(nullptr);
    char a[32];
    char b[32];
    CHECK((value == date::format(before, a) || value == date::format(after, b)));
    CHECK(date::current().data() == date::current().data());  // the cached buffer, no copy
}
