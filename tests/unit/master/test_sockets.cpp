// Unit tests for master/sockets.cpp: one listening socket.
#include <doctest/doctest.h>

#include <stdexcept>

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
