// master/inherit.cpp: sockets bound by someone else: a previous forkd
// during a binary upgrade (FORKD_INHERIT_FDS, written by describe_fds()) or
// systemd's socket activation (LISTEN_FDS). Part of Listeners (listeners.hpp).
//
// Runs at start-up only, so a socket that is not what it claims is a
// std::runtime_error. Knows the environment's formats; binding and steering
// are listeners.cpp's and sockets.cpp's.
#include "master/listeners.hpp"

#include <charconv>
#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

#include "config/load.hpp"
#include "master/sockets.hpp"

namespace forkd::master {
namespace {

constexpr std::string_view admin_prefix = "stats@";

}  // namespace

std::vector<InheritedGroup> parse_inherited_fds(std::string_view text)
{
    // "127.0.0.1:8000=5,6;[::1]:8000=7,8;stats@127.0.0.1:9000=9"
    std::vector<InheritedGroup> out;
    while (!text.empty()) {
        const std::size_t end = std::min(text.find(';'), text.size());
        std::string_view item = text.substr(0, end);
        text.remove_prefix(std::min(end + 1, text.size()));
        const std::string whole(item);
        auto unreadable = [&whole]() { return std::runtime_error("FORKD_INHERIT_FDS: cannot read '" + whole + "'"); };
        InheritedGroup g;
        g.admin = item.substr(0, admin_prefix.size()) == admin_prefix;
        if (g.admin)
            item.remove_prefix(admin_prefix.size());
        const std::size_t eq = item.rfind('=');
        if (eq == std::string_view::npos || !config::parse_bind(std::string(item.substr(0, eq)), g.address))
            throw unreadable();
        std::string_view fds = item.substr(eq + 1);
        while (!fds.empty()) {
            const std::size_t comma = std::min(fds.find(','), fds.size());
            int fd = -1;
            const auto [p, ec] = std::from_chars(fds.data(), fds.data() + comma, fd);
            if (ec != std::errc() || p != fds.data() + comma || fd < 0)
                throw unreadable();
            g.fds.push_back(fd);
            fds.remove_prefix(std::min(comma + 1, fds.size()));
        }
        out.push_back(std::move(g));
    }
    return out;
}

std::string Listeners::describe_fds() const
{
    std::string out;
    for (const Group& g : groups_) {
        if (!out.empty())
            out += ';';
        if (g.admin)
            out += admin_prefix;
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
    auto adopt = [&found](const config::BindAddress& address, int fd, bool force_shared, bool admin) {
        if (!is_listening(fd))
            throw std::runtime_error("inherited fd " + std::to_string(fd) + " is not a listening socket");
        for (Group& g : found) {
            if (g.address == address && g.admin == admin) {
                g.fds.push_back(fd);
                return;
            }
        }
        found.push_back(Group{address, {fd}, force_shared || admin || !has_reuse_port(fd), admin});
    };
    if (const char* text = std::getenv("FORKD_INHERIT_FDS")) {
        for (const InheritedGroup& g : parse_inherited_fds(text)) {
            for (int fd : g.fds)
                adopt(g.address, fd, false, g.admin);
        }
        unsetenv("FORKD_INHERIT_FDS");
    }
    const char* pid = std::getenv("LISTEN_PID");
    const char* count = std::getenv("LISTEN_FDS");
    if (pid != nullptr && count != nullptr && std::atoi(pid) == int(getpid())) {
        // systemd's socket activation: fds 3, 4, ... in the order of the .socket file.
        for (int fd = 3; fd < 3 + std::atoi(count); ++fd) {
            config::BindAddress address;
            try {
                address = bound_address(fd);
            } catch (const std::exception& e) {
                throw std::runtime_error(std::string("LISTEN_FDS: ") + e.what());
            }
            // Shared by every slot: systemd bound it as another user, so we
            // could not add SO_REUSEPORT siblings to its group anyway.
            adopt(address, fd, true, false);
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

}  // namespace forkd::master
