// tests/unit/loopback.hpp: a listening socket on 127.0.0.1 and clients for it,
// for the unit tests that need a real TCP socket (accept queues, HTTP clients).
#pragma once

#include <cstdint>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace forkd::test {

// A socket listening on 127.0.0.1 at a free port; -1 on failure.
inline int listen_loopback(int backlog, uint16_t* port = nullptr)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, backlog) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        return -1;
    if (port != nullptr)
        *port = ntohs(addr.sin_port);
    return fd;
}

// A client connected to 127.0.0.1:port; -1 on failure.
inline int connect_loopback(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
        return -1;
    return fd;
}

}  // namespace forkd::test
