// master/sockets.cpp: socket(), setsockopt(), bind(), listen(), the
// reuseport steering program, getsockname() (sockets.hpp).
//
// Each call on one fd; it must not keep any fd it returns (the caller owns
// it) nor close one it was given.
#include "master/sockets.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/address.hpp"

namespace forkd::master {
namespace {

std::string errno_text(int err)
{
    return std::strerror(err);
}

// Fill a sockaddr for `a`; returns its length, or 0 if the host is no address.
socklen_t to_sockaddr(const config::BindAddress& a, sockaddr_storage& ss)
{
    std::memset(&ss, 0, sizeof ss);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET, a.host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(a.port);
        return sizeof(sockaddr_in);
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET6, a.host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(a.port);
        return sizeof(sockaddr_in6);
    }
    return 0;
}

// setsockopt() of an int flag; a socket without it would not be what the
// configuration asked for.
void set_flag(int fd, int level, int name, const char* what, const config::BindAddress& a)
{
    int one = 1;
    if (setsockopt(fd, level, name, &one, sizeof one) != 0)
        throw std::runtime_error(std::string(what) + " on " + a.to_string() + ": " + errno_text(errno));
}

int int_option(int fd, int level, int name)
{
    int value = 0;
    socklen_t len = sizeof value;
    return getsockopt(fd, level, name, &value, &len) == 0 ? value : 0;
}

}  // namespace

void probe_free(const config::BindAddress& a)
{
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, ss);
    if (a.port == 0 || len == 0)
        return;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;  // bind_listener() will say why
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    int rc = bind(fd, reinterpret_cast<const sockaddr*>(&ss), len);
    int err = errno;
    ::close(fd);
    if (rc != 0)
        throw std::runtime_error("bind " + a.to_string() + ": " + errno_text(err));
}

int bind_listener(const config::BindAddress& a, bool reuse_port, int backlog)
{
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, ss);
    if (len == 0)
        throw std::runtime_error("bind " + a.to_string() + ": not a numeric IPv4 or IPv6 address");
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        throw std::runtime_error("socket for " + a.to_string() + ": " + errno_text(errno));
    try {
        set_flag(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR", a);
        if (reuse_port)
            set_flag(fd, SOL_SOCKET, SO_REUSEPORT, "SO_REUSEPORT", a);
        // [::] means IPv6 only; bind 0.0.0.0 as well for IPv4, as nginx does.
        if (ss.ss_family == AF_INET6)
            set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY, "IPV6_V6ONLY", a);
        if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, backlog) != 0)
            throw std::runtime_error("bind " + a.to_string() + ": " + errno_text(errno));
    } catch (...) {
        ::close(fd);
        throw;
    }
    return fd;
}

void steer_group(int fd, std::size_t active, const config::BindAddress& address)
{
    // A = random % active; return A. The kernel indexes a group's sockets
    // in the order they joined it, which is our slot order.
    sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, uint32_t(SKF_AD_OFF + SKF_AD_RANDOM)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, uint32_t(active > 0 ? active : 1)},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    sock_fprog prog{3, code};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
        throw std::runtime_error("SO_ATTACH_REUSEPORT_CBPF on " + address.to_string() + ": " + errno_text(errno));
}

std::vector<sock_filter> reuseport_program(std::span<const uint32_t> targets)
{
    const std::size_t n = std::min(targets.size(), max_program_targets);
    std::vector<sock_filter> code;
    code.reserve(2 + 2 * n + 1);
    code.push_back({BPF_LD | BPF_W | BPF_ABS, 0, 0, uint32_t(SKF_AD_OFF + SKF_AD_RANDOM)});
    code.push_back({BPF_ALU | BPF_MOD | BPF_K, 0, 0, uint32_t(n > 0 ? n : 1)});
    // if (A == i) return targets[i]; ... the last one is what is left.
    for (std::size_t i = 0; i + 1 < n; ++i) {
        code.push_back({BPF_JMP | BPF_JEQ | BPF_K, 0, 1, uint32_t(i)});
        code.push_back({BPF_RET | BPF_K, 0, 0, targets[i]});
    }
    code.push_back({BPF_RET | BPF_K, 0, 0, n > 0 ? targets[n - 1] : 0});
    return code;
}

void steer_group_to(int fd, std::span<const uint32_t> targets, const config::BindAddress& address)
{
    if (targets.empty() || targets.size() > max_program_targets)
        throw std::runtime_error("steering " + address.to_string() + ": " + std::to_string(targets.size()) +
                                 " target sockets (1.." + std::to_string(max_program_targets) + " can be)");
    std::vector<sock_filter> code = reuseport_program(targets);
    sock_fprog prog{uint16_t(code.size()), code.data()};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
        throw std::runtime_error("SO_ATTACH_REUSEPORT_CBPF on " + address.to_string() + ": " + errno_text(errno));
}

uint16_t bound_port(int fd)
{
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

config::BindAddress bound_address(int fd)
{
    sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char host[INET6_ADDRSTRLEN] = {};
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        throw std::runtime_error("fd " + std::to_string(fd) + " is not a socket");
    const std::string_view text = http::address_text(ss, host);
    if (text == "-")
        throw std::runtime_error("fd " + std::to_string(fd) + " is not a TCP/IP socket");
    return config::BindAddress{std::string(text), bound_port(fd)};
}

bool is_listening(int fd)
{
    return int_option(fd, SOL_SOCKET, SO_ACCEPTCONN) != 0;
}

bool has_reuse_port(int fd)
{
    return int_option(fd, SOL_SOCKET, SO_REUSEPORT) != 0;
}

}  // namespace forkd::master
