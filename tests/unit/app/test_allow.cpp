// tests/unit/app/test_allow.cpp: CIDR parsing and matching for stats.allow.
#include "app/allow.hpp"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <doctest/doctest.h>

using namespace forkd::app;

namespace {

sockaddr_storage address(const char* text)
{
    sockaddr_storage ss{};
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, text, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        REQUIRE(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1);
        in6->sin6_family = AF_INET6;
    }
    return ss;
}

bool contains(const char* cidr_text, const char* addr_text)
{
    Cidr cidr;
    REQUIRE(parse_cidr(cidr_text, cidr));
    sockaddr_storage ss = address(addr_text);
    return cidr_contains(cidr, reinterpret_cast<const sockaddr*>(&ss));
}

}  // namespace

TEST_CASE("parse_cidr: accepts addresses and networks")
{
    Cidr c;
    CHECK(parse_cidr("127.0.0.0/8", c));
    CHECK_FALSE(c.v6);
    CHECK(c.prefix == 8);
    CHECK(parse_cidr("10.1.2.3", c));
    CHECK(c.prefix == 32);
    CHECK(parse_cidr("::1/128", c));
    CHECK(c.v6);
    CHECK(c.prefix == 128);
    CHECK(parse_cidr("::1", c));
    CHECK(c.prefix == 128);
    CHECK(parse_cidr("fd00::/8", c));
    CHECK(parse_cidr("0.0.0.0/0", c));
    CHECK(c.prefix == 0);
    // Host bits past the prefix are ignored, as in most allow lists.
    CHECK(parse_cidr("192.168.1.77/24", c));
    CHECK(c.addr[3] == 0);
    // The mapped form becomes the IPv4 network.
    CHECK(parse_cidr("::ffff:10.0.0.0/104", c));
    CHECK_FALSE(c.v6);
    CHECK(c.prefix == 8);
    CHECK(c.addr[0] == 10);
}

TEST_CASE("parse_cidr: rejects what is not a numeric CIDR")
{
    Cidr c;
    for (const char* bad : {"", "/8", "127.0.0.1/", "127.0.0.1/33", "::1/129", "127.0.0.1/-1", "127.0.0.1/+8",
                            "127.0.0.1/08", "127.0.0.1/ 8", "localhost", "127.0.0.1/8/8", "1.2.3", "1.2.3.4.5",
                            " 127.0.0.1", "::1 ", "[::1]", "999.0.0.1"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_cidr(bad, c));
    }
}

TEST_CASE("cidr_contains: IPv4")
{
    CHECK(contains("127.0.0.0/8", "127.0.0.1"));
    CHECK(contains("127.0.0.0/8", "127.255.255.254"));
    CHECK_FALSE(contains("127.0.0.0/8", "128.0.0.1"));
    CHECK(contains("10.1.2.3", "10.1.2.3"));
    CHECK_FALSE(contains("10.1.2.3", "10.1.2.4"));
    CHECK(contains("192.168.0.0/23", "192.168.1.200"));
    CHECK_FALSE(contains("192.168.0.0/23", "192.168.2.1"));
    CHECK(contains("0.0.0.0/0", "203.0.113.9"));
    CHECK_FALSE(contains("0.0.0.0/0", "2001:db8::1"));  // an IPv4 entry never matches IPv6
}

TEST_CASE("cidr_contains: IPv6")
{
    CHECK(contains("::1/128", "::1"));
    CHECK_FALSE(contains("::1/128", "::2"));
    CHECK(contains("2001:db8::/32", "2001:db8:ffff::1"));
    CHECK_FALSE(contains("2001:db8::/32", "2001:db9::1"));
    CHECK(contains("fe80::/10", "febf::1"));
    CHECK_FALSE(contains("fe80::/10", "fec0::1"));
    CHECK_FALSE(contains("::1/128", "127.0.0.1"));
}

TEST_CASE("cidr_contains: IPv4-mapped IPv6 peers and entries")
{
    // A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d.
    CHECK(contains("127.0.0.0/8", "::ffff:127.0.0.1"));
    CHECK_FALSE(contains("127.0.0.0/8", "::ffff:10.0.0.1"));
    CHECK(contains("::ffff:127.0.0.0/104", "127.0.0.1"));
    CHECK(contains("::ffff:127.0.0.1", "::ffff:127.0.0.1"));
    CHECK_FALSE(contains("::1/128", "::ffff:127.0.0.1"));
}

TEST_CASE("AllowList: the default loopback list, bad entries, other families")
{
    AllowList allow;
    CHECK(allow.assign({"127.0.0.0/8", "::1/128"}));
    CHECK(allow.size() == 2);
    CHECK(allow.allows(address("127.0.0.1")));
    CHECK(allow.allows(address("::1")));
    CHECK(allow.allows(address("::ffff:127.0.0.1")));
    CHECK_FALSE(allow.allows(address("192.0.2.1")));
    CHECK_FALSE(allow.allows(address("2001:db8::1")));

    std::string bad;
    CHECK_FALSE(allow.assign({"10.0.0.0/8", "nonsense", "also bad"}, &bad));
    CHECK(bad == "nonsense");
    CHECK(allow.size() == 1);
    CHECK(allow.allows(address("10.9.8.7")));

    sockaddr_storage unix_peer{};
    unix_peer.ss_family = AF_UNIX;
    CHECK_FALSE(allow.allows(unix_peer));

    CHECK(allow.assign({}));
    CHECK_FALSE(allow.allows(address("127.0.0.1")));  // empty: nobody
}
