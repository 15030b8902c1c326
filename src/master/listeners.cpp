// master/listeners.cpp: socket(), setsockopt(), bind(), listen(), steering.
//
// Kept free of libuv on purpose: libuv 1.44 has no SO_REUSEPORT flag, and
// the master must hold raw fds that outlive any loop.
#include "master/listeners.hpp"

#include "config/load.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <arpa/inet.h>
#include <linux/filter.h>
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
void probe_free(const config::BindAddress& a)
{
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, ss);
    if (a.port == 0 || len == 0)
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

int Listeners::bind_one(const config::BindAddress& a) const
{
    sockaddr_storage ss;
    socklen_t len = to_sockaddr(a, ss);
    if (len == 0)
        throw std::runtime_error("bind " + a.to_string() + ": not a numeric IPv4 or IPv6 address");
    // Not SOCK_CLOEXEC: workers inherit these by fork, and a binary upgrade
    // (exec) passes them on.
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0)
        throw std::runtime_error("socket for " + a.to_string() + ": " + errno_text(errno));
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuse_port_ && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        int err = errno;
        ::close(fd);
        throw std::runtime_error("SO_REUSEPORT on " + a.to_string() + ": " + errno_text(err));
    }
    // [::] means IPv6 only; bind 0.0.0.0 as well for IPv4, as nginx does.
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || listen(fd, backlog_) != 0) {
        int err = errno;
        ::close(fd);
        throw std::runtime_error("bind " + a.to_string() + ": " + errno_text(err));
    }
    return fd;
}

void Listeners::open(const config::Settings& settings, std::size_t slots)
{
    // What the configuration wants: its bind addresses, and the optional
    // stats.bind (one socket that every worker shares, for /stats and /metrics).
    struct Want {
        config::BindAddress address;
        bool admin;
    };
    std::vector<Want> wants;
    for (const config::BindAddress& a : settings.bind)
        wants.push_back({a, false});
    config::BindAddress admin;
    if (!settings.stats.bind.empty() && config::parse_bind(settings.stats.bind, admin))
        wants.push_back({admin, true});
    auto same = [](const Group& g, const Want& w) { return g.address == w.address && g.admin == w.admin; };

    const bool mode_changed = !groups_.empty() && reuse_port_ != settings.reuse_port;
    std::vector<Group> kept, added;
    std::vector<Group> dropped;
    for (Group& g : groups_) {
        bool wanted = false;
        for (const Want& w : wants)
            wanted = wanted || same(g, w);
        (wanted && (!mode_changed || g.admin) ? kept : dropped).push_back(std::move(g));
    }
    groups_.clear();
    const bool old_reuse = reuse_port_;
    const int old_backlog = backlog_;
    reuse_port_ = settings.reuse_port;
    backlog_ = settings.backlog;
    try {
        for (const Want& want : wants) {
            bool have = false;
            for (const Group& g : kept)
                have = have || same(g, want);
            if (have)
                continue;
            if (!mode_changed)
                probe_free(want.address);
            Group g{want.address, {}, !reuse_port_ || want.admin, want.admin};
            added.push_back(std::move(g));
            Group& ng = added.back();
            const std::size_t n = ng.shared ? 1 : std::max<std::size_t>(slots, 1);
            for (std::size_t s = 0; s < n; ++s) {
                ng.fds.push_back(bind_one(ng.address));
                if (ng.address.port == 0)  // every slot must join one group: pin the port
                    ng.address.port = bound_port(ng.fds.back());
            }
        }
    } catch (...) {
        for (Group& g : added)
            close_group(g);
        reuse_port_ = old_reuse;
        backlog_ = old_backlog;
        groups_ = std::move(kept);
        for (Group& g : dropped)
            groups_.push_back(std::move(g));
        throw;
    }
    for (Group& g : dropped)
        dropped_.push_back(std::move(g));
    // Keep the order of the configuration for fds() and describe(). The
    // added groups are in that order already (their port may have been 0).
    std::size_t next_added = 0;
    for (const Want& want : wants) {
        bool from_kept = false;
        for (Group& g : kept) {
            if (!g.fds.empty() && same(g, want)) {
                groups_.push_back(std::move(g));
                from_kept = true;
            }
        }
        if (!from_kept)
            groups_.push_back(std::move(added[next_added++]));
    }
    // A changed backlog applies to sockets already listening as well.
    for (Group& g : groups_) {
        for (int fd : g.fds)
            listen(fd, backlog_);
    }
    resize(slots);
}

void Listeners::resize(std::size_t slots)
{
    for (Group& g : groups_) {
        while (!g.shared && g.fds.size() < slots)
            g.fds.push_back(bind_one(g.address));
    }
    // Inherited groups may hold more sockets than slots: they count as
    // surplus slots until the master retires them.
    slots_ = std::max(slots, widest());
    steer(slots);
}

void Listeners::steer(std::size_t active)
{
    // A = random % active; return A. The kernel indexes a group's sockets
    // in the order they joined it, which is our slot order.
    sock_filter code[] = {
        {BPF_LD | BPF_W | BPF_ABS, 0, 0, uint32_t(SKF_AD_OFF + SKF_AD_RANDOM)},
        {BPF_ALU | BPF_MOD | BPF_K, 0, 0, uint32_t(std::max<std::size_t>(active, 1))},
        {BPF_RET | BPF_A, 0, 0, 0},
    };
    sock_fprog prog{3, code};
    for (Group& g : groups_) {
        if (!g.shared && !g.fds.empty() &&
            setsockopt(g.fds[0], SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
            throw std::runtime_error("SO_ATTACH_REUSEPORT_CBPF on " + g.address.to_string() + ": " + errno_text(errno));
    }
}

void Listeners::close_last_slot()
{
    if (slots_ == 0)
        return;
    --slots_;
    for (Group& g : groups_) {
        if (!g.shared && g.fds.size() > slots_) {
            ::close(g.fds.back());
            g.fds.pop_back();
        }
    }
}

unsigned Listeners::accept_queue(std::size_t slot) const
{
    unsigned total = 0;
    for (const Group& g : groups_) {
        const std::size_t i = slot;
        if (g.shared || i >= g.fds.size())
            continue;
        tcp_info info{};
        socklen_t len = sizeof info;
        // For a listening socket tcpi_unacked is the accept-queue length.
        if (getsockopt(g.fds[i], IPPROTO_TCP, TCP_INFO, &info, &len) == 0)
            total += info.tcpi_unacked;
    }
    return total;
}

std::vector<int> Listeners::fds(std::size_t slot) const
{
    std::vector<int> out;
    for (const Group& g : groups_) {
        const std::size_t i = g.shared ? 0 : slot;
        if (!g.admin && i < g.fds.size())
            out.push_back(g.fds[i]);
    }
    return out;
}

std::vector<int> Listeners::admin_fds() const
{
    std::vector<int> out;
    for (const Group& g : groups_) {
        if (g.admin)
            out.insert(out.end(), g.fds.begin(), g.fds.end());
    }
    return out;
}

std::vector<int> Listeners::others(std::size_t slot) const
{
    std::vector<int> out;
    for (const std::vector<Group>* list : {&groups_, &dropped_}) {
        for (const Group& g : *list) {
            for (std::size_t i = 0; i < g.fds.size(); ++i) {
                if (list == &dropped_ || (!g.shared && !g.admin && i != slot))
                    out.push_back(g.fds[i]);
            }
        }
    }
    return out;
}

void Listeners::close_group(Group& g)
{
    for (int fd : g.fds)
        ::close(fd);
    g.fds.clear();
}

void Listeners::close_dropped()
{
    for (Group& g : dropped_)
        close_group(g);
    dropped_.clear();
}

void Listeners::close_all()
{
    close_dropped();
    for (Group& g : groups_)
        close_group(g);
    groups_.clear();
    slots_ = 0;
}

std::size_t Listeners::widest() const
{
    std::size_t n = 0;
    for (const Group& g : groups_)
        n = std::max(n, g.fds.size());
    return n;
}

bool Listeners::per_slot() const
{
    for (const Group& g : groups_) {
        if (!g.shared)
            return true;
    }
    return false;
}

std::string Listeners::describe_fds() const
{
    std::string out;
    for (const Group& g : groups_) {
        if (!out.empty())
            out += ';';
        if (g.admin)
            out += "stats@";
        out += g.address.to_string();
        out += '=';
        for (std::size_t i = 0; i < g.fds.size(); ++i) {
            if (i != 0)
                out += ',';
            out += std::to_string(g.fds[i]);
        }
    }
    return out;
}

std::size_t Listeners::inherit_from_environment()
{
    std::vector<Group> found;
    auto adopt = [&found](const config::BindAddress& address, int fd, bool force_shared, bool admin = false) {
        int listening = 0, reuse = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
            throw std::runtime_error("inherited fd " + std::to_string(fd) + " is not a listening socket");
        len = sizeof reuse;
        getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &reuse, &len);
        for (Group& g : found) {
            if (g.address == address && g.admin == admin) {
                g.fds.push_back(fd);
                return;
            }
        }
        found.push_back(Group{address, {fd}, force_shared || admin || reuse == 0, admin});
    };
    if (const char* text = std::getenv("FORKD_INHERIT_FDS")) {
        // "127.0.0.1:8000=5,6;[::1]:8000=7,8", written by describe_fds().
        std::string spec = text;
        std::size_t pos = 0;
        while (pos < spec.size()) {
            std::size_t end = spec.find(';', pos);
            if (end == std::string::npos)
                end = spec.size();
            std::string item = spec.substr(pos, end - pos);
            const bool admin = item.rfind("stats@", 0) == 0;
            if (admin)
                item.erase(0, 6);
            const std::size_t eq = item.rfind('=');
            config::BindAddress address;
            if (eq == std::string::npos || !config::parse_bind(item.substr(0, eq), address))
                throw std::runtime_error("FORKD_INHERIT_FDS: cannot read '" + item + "'");
            std::size_t p = eq + 1;
            while (p < item.size()) {
                std::size_t comma = item.find(',', p);
                if (comma == std::string::npos)
                    comma = item.size();
                adopt(address, std::stoi(item.substr(p, comma - p)), false, admin);
                p = comma + 1;
            }
            pos = end + 1;
        }
        unsetenv("FORKD_INHERIT_FDS");
    }
    const char* pid = std::getenv("LISTEN_PID");
    const char* count = std::getenv("LISTEN_FDS");
    if (pid != nullptr && count != nullptr && std::atoi(pid) == int(getpid())) {
        // systemd's socket activation: fds 3, 4, ... in the order of the .socket file.
        for (int fd = 3; fd < 3 + std::atoi(count); ++fd) {
            sockaddr_storage ss;
            socklen_t len = sizeof ss;
            char host[INET6_ADDRSTRLEN] = {};
            if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
                throw std::runtime_error("LISTEN_FDS: fd " + std::to_string(fd) + " is not a socket");
            const void* addr = ss.ss_family == AF_INET6
                                   ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr)
                                   : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&ss)->sin_addr);
            if ((ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
                inet_ntop(ss.ss_family, addr, host, sizeof host) == nullptr)
                throw std::runtime_error("LISTEN_FDS: fd " + std::to_string(fd) + " is not a TCP/IP socket");
            // Shared by every slot: systemd bound it as another user, so we
            // could not add SO_REUSEPORT siblings to its group anyway.
            adopt(config::BindAddress{host, bound_port(fd)}, fd, true);
        }
        unsetenv("LISTEN_PID");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_FDNAMES");
    }
    std::size_t adopted = 0;
    for (Group& g : found) {
        adopted += g.fds.size();
        groups_.push_back(std::move(g));
    }
    return adopted;
}

std::string Listeners::describe() const
{
    std::string out, admin;
    for (const Group& g : groups_) {
        if (g.admin) {
            admin = g.address.to_string();
            continue;
        }
        if (!out.empty())
            out += ", ";
        out += g.address.to_string();
    }
    if (!admin.empty()) {
        out += " (/stats and /metrics on ";
        out += admin;
        out += ')';
    }
    return out;
}

}  // namespace forkd::master
