// Unit tests for master/inherit.cpp: reading FORKD_INHERIT_FDS, the list of
// sockets a binary upgrade hands to the new master.
#include <doctest/doctest.h>

#include <stdexcept>

#include "master/listeners.hpp"

using namespace forkd::master;

TEST_CASE("parse_inherited_fds: groups, their fds in slot order, and the stats socket")
{
    const auto groups = parse_inherited_fds("127.0.0.1:8000=5,6;[::1]:8000=7,8;stats@127.0.0.1:9000=9");
    REQUIRE(groups.size() == 3);
    CHECK(groups[0].address.host == "127.0.0.1");
    CHECK(groups[0].address.port == 8000);
    CHECK(groups[0].fds == std::vector<int>{5, 6});
    CHECK_FALSE(groups[0].admin);
    CHECK(groups[1].address.host == "::1");
    CHECK(groups[1].fds == std::vector<int>{7, 8});
    CHECK(groups[2].admin);
    CHECK(groups[2].address.port == 9000);
    CHECK(groups[2].fds == std::vector<int>{9});
    CHECK(parse_inherited_fds("").empty());
}

TEST_CASE("parse_inherited_fds: what describe_fds() writes is read back")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 2);
    const auto groups = parse_inherited_fds(l.describe_fds());
    REQUIRE(groups.size() == 1);
    CHECK(groups[0].address.port != 0);  // the port the kernel chose
    CHECK(groups[0].fds == std::vector<int>{l.fds(0).at(0), l.fds(1).at(0)});
}

TEST_CASE("parse_inherited_fds: a garbled list is an error that quotes it")
{
    for (const char* bad : {"127.0.0.1:8000", "127.0.0.1:8000=x", "127.0.0.1:8000=5;x=1", "1.2.3.4:80=-1"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_inherited_fds(bad), std::runtime_error);
    }
    try {
        parse_inherited_fds("127.0.0.1:8000=5;junk");
        FAIL("no error");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()) == "FORKD_INHERIT_FDS: cannot read 'junk'");
    }
}
