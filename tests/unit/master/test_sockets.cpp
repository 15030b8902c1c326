// Unit tests for master/sockets.cpp: one listening socket, and the reuseport program.
#include <doctest/doctest.h>

#include <map>
#include <stdexcept>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "master/sockets.hpp"

using namespace forkd::master;

TEST_CASE("bind_listener: a listening socket, with SO_REUSEPORT when asked, on the port the kernel chose")
{
    const int fd = bind_listener({"127.0.0.1", 0}, true, 16);
    REQUIRE(fd >= 0);
    CHECK(is_listening(fd));
    CHECK(has_reuse_port(fd));
    const forkd::config::BindAddress a = bound_address(fd);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == bound_port(fd));
    CHECK(a.port != 0);
    // A plain bind on the same address fails: somebody holds it.
    CHECK_THROWS_AS(probe_free(a), std::runtime_error);
    steer_group(fd, 1, a);
    ::close(fd);

    const int plain = bind_listener({"127.0.0.1", 0}, false, 16);
    CHECK_FALSE(has_reuse_port(plain));
    ::close(plain);
}

TEST_CASE("bind_listener: a name that is no numeric address, and fds that are no sockets, are errors")
{
    CHECK_THROWS_AS(bind_listener({"localhost", 0}, true, 16), std::runtime_error);
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    CHECK_FALSE(is_listening(pipe_fds[0]));
    CHECK_THROWS_AS(bound_address(pipe_fds[0]), std::runtime_error);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}

namespace {

// The few classic-BPF instructions reuseport_program() uses, run the way
// the kernel runs them: returns the socket index for a given random value.
uint32_t run_program(const std::vector<sock_filter>& code, uint32_t random)
{
    uint32_t a = 0;
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const sock_filter& i = code[pc];
        switch (i.code) {
        case BPF_LD | BPF_W | BPF_ABS:
            REQUIRE(i.k == uint32_t(SKF_AD_OFF + SKF_AD_RANDOM));
            a = random;
            break;
        case BPF_ALU | BPF_MOD | BPF_K: a %= i.k; break;
        case BPF_JMP | BPF_JEQ | BPF_K: pc += a == i.k ? i.jt : i.jf; break;
        case BPF_RET | BPF_K: return i.k;
        default: FAIL("unexpected instruction " << i.code);
        }
    }
    FAIL("the program fell off its end");
    return ~0u;
}

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

int accept_all(int fd)
{
    int n = 0;
    for (int c; (c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0; ++n)
        ::close(c);
    return n;
}

}  // namespace

TEST_CASE("reuseport_program: every random value lands on one of the targets, each target an equal share")
{
    const std::vector<uint32_t> targets = {0, 2, 3, 7};
    const std::vector<sock_filter> code = reuseport_program(targets);
    CHECK(code.size() == 2 + 2 * 3 + 1);
    std::map<uint32_t, int> hits;
    for (uint32_t r = 0; r < 400; ++r)
        ++hits[run_program(code, r * 2654435761u)];
    CHECK(hits.size() == 4);
    for (uint32_t t : targets)
        CHECK(hits[t] == 100);

    // One target: everything goes there.
    const uint32_t only[] = {5};
    const std::vector<sock_filter> one = reuseport_program(only);
    CHECK(one.size() == 3);
    for (uint32_t r : {0u, 1u, 12345u, ~0u})
        CHECK(run_program(one, r) == 5);
}

TEST_CASE("steer_group_to: the kernel sends new connections only to the target sockets of the group")
{
    const int first = bind_listener({"127.0.0.1", 0}, true, 64);
    const forkd::config::BindAddress a = bound_address(first);
    const int second = bind_listener(a, true, 64);
    const int third = bind_listener(a, true, 64);
    const uint32_t targets[] = {0, 2};
    steer_group_to(first, targets, a);
    std::vector<int> clients;
    for (int i = 0; i < 30; ++i)
        clients.push_back(connect_to(a.port));
    const int on_first = accept_all(first), on_second = accept_all(second), on_third = accept_all(third);
    CHECK(on_second == 0);
    CHECK(on_first > 0);
    CHECK(on_third > 0);
    CHECK(on_first + on_third == 30);
    CHECK_THROWS_AS(steer_group_to(first, {}, a), std::runtime_error);
    for (int fd : clients)
        ::close(fd);
    for (int fd : {first, second, third})
        ::close(fd);
}
