// master/listeners.cpp: socket(), setsockopt(), bind(), listen().
//
// Kept free of libuv on purpose: libuv 1.44 has no SO_REUSEPORT flag, and
// the master must hold raw fds that outlive any loop.
#include "master/listeners.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

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

// SO_REUSEPORT lets any process of the same user join the port's group, so
// a second forkd on a busy port would silently share it. Probe with a plain
// bind first: if that fails, somebody else holds the address.
void probe_free(const config::BindAddress& a, const sockaddr_storage& ss, socklen_t len)
{
    if (a.port == 0)
        return;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
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

}  // namespace

Listeners::~Listeners()
{
    close_all();
}

int Listeners::bind_one(const config::BindAddress& a, bool reuse_port, int backlog)
{
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, ss);
    if (len == 0)
        throw std::runtime_error("bind " + a.to_string() + ": not a numeric IPv4 or IPv6 address");
    // Not SOCK_CLOEXEC: workers inherit these by fork, and a binary upgrade
    // (exec) will pass them on.
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        throw std::runtime_error("socket for " + a.to_string() + ": " + errno_text(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        int err = errno;
        ::close(fd);
        throw std::runtime_error("SO_REUSEPORT on " + a.to_string() + ": " + errno_text(err));
    }
    // [::] means IPv6 only; bind 0.0.0.0 as well for IPv4, as nginx does.
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, backlog) != 0) {
        int err = errno;
        ::close(fd);
        throw std::runtime_error("bind " + a.to_string() + ": " + errno_text(err));
    }
    return fd;
}

void Listeners::open(const config::Settings& settings, std::size_t slots)
{
    close_all();
    addresses_ = settings.bind;
    shared_ = !settings.reuse_port;
    per_slot_.assign(slots, {});
    try {
        for (config::BindAddress& a : addresses_) {
            sockaddr_storage ss;
            socklen_t len = to_sockaddr(a, ss);
            if (len != 0)
                probe_free(a, ss, len);
            for (std::size_t s = 0; s < slots; ++s) {
                if (shared_ && s > 0) {
                    per_slot_[s].push_back(per_slot_[0].back());
                    continue;
                }
                int fd = bind_one(a, settings.reuse_port, settings.backlog);
                per_slot_[s].push_back(fd);
                if (a.port == 0)  // every slot must join the same group: pin the port
                    a.port = bound_port(fd);
            }
        }
    } catch (...) {
        close_all();
        throw;
    }
}

const std::vector<int>& Listeners::fds(std::size_t slot) const
{
    return per_slot_.at(slot);
}

std::vector<int> Listeners::others(std::size_t slot) const
{
    std::vector<int> out;
    if (shared_)
        return out;
    for (std::size_t s = 0; s < per_slot_.size(); ++s) {
        if (s != slot)
            out.insert(out.end(), per_slot_[s].begin(), per_slot_[s].end());
    }
    return out;
}

void Listeners::close_all()
{
    for (std::size_t s = 0; s < per_slot_.size(); ++s) {
        if (shared_ && s > 0)
            break;
        for (int fd : per_slot_[s])
            ::close(fd);
    }
    per_slot_.clear();
}

std::string Listeners::describe() const
{
    std::string out;
    for (const auto& a : addresses_) {
        if (!out.empty())
            out += ", ";
        out += a.to_string();
    }
    return out;
}

}  // namespace forkd::master
