// Unit tests for master/listeners.cpp: per-slot SO_REUSEPORT sockets.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/listeners.hpp"

using forkd::master::Listeners;

namespace {

uint16_t port_of(int fd)
{
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    return ntohs(sa.sin_port);
}

int sockopt(int fd, int level, int name)
{
    int v = 0;
    socklen_t len = sizeof v;
    REQUIRE(getsockopt(fd, level, name, &v, &len) == 0);
    return v;
}

}  // namespace

TEST_CASE("listeners: one SO_REUSEPORT socket per slot, all on the same port")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 3);
    REQUIRE(l.slots() == 3);
    const uint16_t port = port_of(l.fds(0).at(0));
    CHECK(port != 0);
    for (std::size_t i = 0; i < 3; ++i) {
        REQUIRE(l.fds(i).size() == 1);
        CHECK(port_of(l.fds(i)[0]) == port);
        CHECK(sockopt(l.fds(i)[0], SOL_SOCKET, SO_REUSEPORT) == 1);
        CHECK(sockopt(l.fds(i)[0], SOL_SOCKET, SO_ACCEPTCONN) == 1);
    }
    CHECK(l.fds(0)[0] != l.fds(1)[0]);
    CHECK(l.others(1).size() == 2);
    CHECK(l.describe() == "127.0.0.1:" + std::to_string(port));
}

TEST_CASE("listeners: reuse_port = false shares one socket between slots")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    s.reuse_port = false;
    Listeners l;
    l.open(s, 2);
    CHECK(l.fds(0)[0] == l.fds(1)[0]);
    CHECK(l.others(0).empty());
}

TEST_CASE("listeners: a port held by another socket is refused with a clear error")
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    REQUIRE(listen(fd, 1) == 0);
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", port_of(fd)}};
    Listeners l;
    CHECK_THROWS_WITH(l.open(s, 2), doctest::Contains("Address already in use"));
    ::close(fd);
}

TEST_CASE("listeners: several addresses, IPv4 and IPv6")
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    sockaddr_in6 sa{};
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    const bool have_v6 = bind(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(probe);
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    if (have_v6)
        s.bind.push_back({"::1", 0});
    Listeners l;
    l.open(s, 2);
    CHECK(l.fds(1).size() == s.bind.size());
}

TEST_CASE("listeners: a host that is not an address is refused")
{
    forkd::config::Settings s;
    s.bind = {{"example.org", 80}};
    Listeners l;
    CHECK_THROWS_WITH(l.open(s, 1), doctest::Contains("not a numeric"));
}

namespace {

int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    return fd;
}

}  // namespace

TEST_CASE("listeners: steer() keeps new connections off the retiring last slot")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 3);
    const uint16_t port = port_of(l.fds(0)[0]);
    l.steer(2);
    std::vector<int> clients;
    for (int i = 0; i < 40; ++i)
        clients.push_back(connect_to(port));
    CHECK(l.accept_queue(2) == 0);
    CHECK(l.accept_queue(0) + l.accept_queue(1) == 40);
    CHECK(l.accept_queue(0) > 0);
    CHECK(l.accept_queue(1) > 0);
    // Retire slot 2: its socket closes without resetting anybody.
    l.close_last_slot();
    CHECK(l.slots() == 2);
    CHECK(l.fds(0).size() == 1);
    for (int fd : clients)
        ::close(fd);
}

TEST_CASE("listeners: resize() adds sockets at the end, in the same group")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 1);
    const uint16_t port = port_of(l.fds(0)[0]);
    l.resize(3);
    REQUIRE(l.slots() == 3);
    CHECK(port_of(l.fds(2)[0]) == port);
    std::vector<int> clients;
    for (int i = 0; i < 60; ++i)
        clients.push_back(connect_to(port));
    CHECK(l.accept_queue(2) > 0);
    for (int fd : clients)
        ::close(fd);
}

TEST_CASE("listeners: a reload with the same address keeps the sockets")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 2);
    const int fd0 = l.fds(0)[0];
    s.bind[0].port = port_of(fd0);
    l.open(s, 2);
    CHECK(l.fds(0)[0] == fd0);
}

TEST_CASE("listeners: avoid() keeps new connections off busy slots, and back to all when every one is busy")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 3);
    const uint16_t port = port_of(l.fds(0)[0]);
    CHECK(l.steered_to() == std::vector<uint32_t>{0, 1, 2});

    l.avoid({false, true, false});
    CHECK(l.steered_to() == std::vector<uint32_t>{0, 2});
    std::vector<int> clients;
    for (int i = 0; i < 40; ++i)
        clients.push_back(connect_to(port));
    CHECK(l.accept_queue(1) == 0);
    CHECK(l.accept_queue(0) > 0);
    CHECK(l.accept_queue(2) > 0);
    CHECK(l.accept_queue(0) + l.accept_queue(2) == 40);

    // TTOU retires slot 2 meanwhile: only slot 0 is left to take them.
    l.steer(2);
    CHECK(l.steered_to() == std::vector<uint32_t>{0});
    // Every active slot busy: all of them, as without steering.
    l.avoid({true, true, false});
    CHECK(l.steered_to() == std::vector<uint32_t>{0, 1});
    l.avoid({});
    CHECK(l.steered_to() == std::vector<uint32_t>{0, 1});
    for (int fd : clients)
        ::close(fd);
}

TEST_CASE("listeners: sibling_fds() names the other slots' sockets, none when they are shared")
{
    forkd::config::Settings s;
    s.bind = {{"127.0.0.1", 0}};
    Listeners l;
    l.open(s, 3);
    const auto siblings = l.sibling_fds(1);
    REQUIRE(siblings.size() == 2);
    CHECK(siblings[0].first == 0);
    CHECK(siblings[0].second == l.fds(0)[0]);
    CHECK(siblings[1].first == 2);
    CHECK(siblings[1].second == l.fds(2)[0]);

    s.reuse_port = false;
    Listeners shared;
    shared.open(s, 3);
    CHECK(shared.sibling_fds(1).empty());
}
