// master/listeners.cpp: the socket groups: bind them, reconcile them with
// a new configuration on reload, grow and shrink their slots, steer, and
// answer which fds a worker gets (listeners.hpp).
//
// One socket at a time is sockets.cpp's; taking sockets over from the
// environment (binary upgrade, socket activation) is inherit.cpp's; the
// accept-queue read is stats/procfs's, shared with /stats.
#include "master/listeners.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/socket.h>
#include <unistd.h>

#include "config/load.hpp"
#include "master/sockets.hpp"
#include "stats/procfs.hpp"

namespace forkd::master {

Listeners::~Listeners()
{
    close_all();
}

int Listeners::bind_one(const config::BindAddress& a) const
{
    return bind_listener(a, reuse_port_, backlog_);
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
        // A changed backlog applies to sockets already listening as well.
        for (const Group& g : kept) {
            for (int fd : g.fds) {
                if (listen(fd, backlog_) != 0)
                    throw std::runtime_error("listen on " + g.address.to_string() + ": " + std::strerror(errno));
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
    resize(slots);
}

void Listeners::resize(std::size_t slots)
{
    for (Group& g : groups_) {
        while (!g.shared && g.fds.size() < slots)
            g.fds.push_back(bind_one(g.address));
    }
    // Inherited groups may hold more sockets than slots: they count as
    // surplus slots until the master drains and closes them.
    slots_ = std::max(slots, widest());
    steer(slots);
}

void Listeners::steer(std::size_t active)
{
    active_ = active;
    const std::vector<uint32_t> targets = steered_to();
    for (Group& g : groups_) {
        if (g.shared || g.fds.empty())
            continue;
        // Every active slot: the short program (a random share each), as without busy steering.
        if (targets.size() == active)
            steer_group(g.fds[0], active, g.address);
        else
            steer_group_to(g.fds[0], targets, g.address);
    }
}

void Listeners::avoid(const std::vector<bool>& busy)
{
    busy_ = busy;
    steer(active_);
}

std::vector<uint32_t> Listeners::steered_to() const
{
    std::vector<uint32_t> idle, all;
    for (std::size_t i = 0; i < active_; ++i) {
        all.push_back(uint32_t(i));
        if (i >= busy_.size() || !busy_[i])
            idle.push_back(uint32_t(i));
    }
    return idle.empty() ? all : idle;
}

void Listeners::close_last_slot()
{
    if (slots_ == 0)
        return;
    --slots_;
    for (Group& g : groups_) {
        if (!g.shared && g.fds.size() > slots_) {
            // Workers hold copies of every slot's socket (busy steering):
            // shutdown() takes it out of the reuseport group for all of them,
            // so the kernel's order stays the slot order. Its queue is empty.
            ::shutdown(g.fds.back(), SHUT_RDWR);
            ::close(g.fds.back());
            g.fds.pop_back();
        }
    }
}

unsigned Listeners::accept_queue(std::size_t slot) const
{
    unsigned total = 0;
    for (const Group& g : groups_) {
        stats::AcceptQueue q;
        if (!g.shared && slot < g.fds.size() && stats::read_accept_queue(g.fds[slot], q))
            total += q.queued;
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

std::vector<std::pair<std::size_t, int>> Listeners::sibling_fds(std::size_t slot) const
{
    std::vector<std::pair<std::size_t, int>> out;
    for (const Group& g : groups_) {
        for (std::size_t i = 0; !g.shared && !g.admin && i < g.fds.size(); ++i) {
            if (i != slot)
                out.emplace_back(i, g.fds[i]);
        }
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
        out += " (/stats, /metrics and /status on ";
        out += admin;
        out += ')';
    }
    return out;
}

}  // namespace forkd::master
