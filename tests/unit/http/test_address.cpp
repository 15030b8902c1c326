// Unit tests for http/address.cpp: socket addresses as text.
#include "http/address.hpp"

#include <arpa/inet.h>

#include <doctest/doctest.h>

using forkd::http::address_text;

TEST_CASE("address: addresses of both families as text, '-' otherwise")
{
    char buf[INET6_ADDRSTRLEN];
    sockaddr_storage ss{};
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    v4->sin_family = AF_INET;
    REQUIRE(inet_pton(AF_INET, "192.0.2.7", &v4->sin_addr) == 1);
    CHECK(address_text(ss, buf) == "192.0.2.7");

    ss = {};
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    v6->sin6_family = AF_INET6;
    REQUIRE(inet_pton(AF_INET6, "2001:db8::1", &v6->sin6_addr) == 1);
    CHECK(address_text(ss, buf) == "2001:db8::1");

    ss = {};
    ss.ss_family = AF_UNIX;
    CHECK(address_text(ss, buf) == "-");
}
