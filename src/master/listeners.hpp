// master/listeners.hpp: the listening sockets, bound by the master.
//
// One group per bind address; in each group one SO_REUSEPORT socket per
// worker slot, so each slot's accept queue is its own and survives the
// slot's worker: a crashed worker's queued connections wait for its
// replacement instead of being reset. With reuse_port = false a group has a
// single socket that every slot shares.
//
// Closing a SO_REUSEPORT socket resets the connections queued on it. So a
// slot is taken out in two steps: steer() stops the kernel from choosing its
// socket (a classic-BPF reuseport program that picks among the first k
// sockets of the group), and once accept_queue() reports it empty the socket
// is closed. Slots are only ever added or removed at the end, which keeps
// the kernel's socket order equal to the slot order.
// The master keeps every socket open for as long as the slot exists;
// workers get their slot's fds by fork. Knows nothing about processes.
//   listeners.cpp  the groups: open, reconcile on reload, resize, steer, fds
//   inherit.cpp    FORKD_INHERIT_FDS and LISTEN_FDS
//   sockets.cpp    one socket: bind, the steering program, its address
// Errors: std::runtime_error naming the address (start-up and reload only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/settings.hpp"

namespace forkd::master {

// One group of FORKD_INHERIT_FDS, the binary upgrade's list of sockets.
struct InheritedGroup {
    config::BindAddress address;
    bool admin = false;  // the stats.bind socket
    std::vector<int> fds;
};

// "127.0.0.1:8000=5,6;[::1]:8000=7,8;stats@127.0.0.1:9000=9", as
// Listeners::describe_fds() writes it. Throws std::runtime_error (inherit.cpp).
std::vector<InheritedGroup> parse_inherited_fds(std::string_view text);

class Listeners {
public:
    Listeners() = default;
    ~Listeners();
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    // Take over sockets bound by someone else: a previous forkd during a
    // binary upgrade (FORKD_INHERIT_FDS) or systemd's socket activation
    // (LISTEN_FDS). open() then keeps those whose address is configured.
    // Returns how many sockets were adopted. Throws std::runtime_error.
    std::size_t inherit_from_environment();
    // The inheritance description of every socket, for a binary upgrade's
    // FORKD_INHERIT_FDS ("127.0.0.1:8000=5,6;[::1]:8000=7,8").
    std::string describe_fds() const;

    // Bind every address of `settings` for `slots` slots. Groups for
    // addresses already open are kept (a reload with the same binds changes
    // nothing the clients see); groups for addresses no longer wanted are
    // moved to the dropped list (close_dropped()). Throws std::runtime_error
    // naming the address and the reason; on error nothing changes.
    void open(const config::Settings& settings, std::size_t slots);

    // Grow or shrink to `slots` slots: new sockets are bound at the end;
    // shrinking only steers (the sockets stay until close_slot()).
    void resize(std::size_t slots);
    // Route new connections only to the first `active` slots (reuse_port only).
    void steer(std::size_t active);
    // Busy steering: besides, keep new connections off the slots marked in
    // `busy` (index: slot); with every active slot busy, use all of them.
    // Throws std::runtime_error (the program could not be attached).
    void avoid(const std::vector<bool>& busy);
    // The slots new connections go to now (steer() and avoid() together).
    std::vector<uint32_t> steered_to() const;
    // Close the sockets of the last slot (after steer() and an empty queue).
    void close_last_slot();

    // Connections waiting in the accept queue of `slot`'s sockets (TCP_INFO).
    unsigned accept_queue(std::size_t slot) const;

    // The fds a worker in `slot` listens on (one per bind address).
    std::vector<int> fds(std::size_t slot) const;
    // The stats.bind socket every worker also listens on (empty: none).
    std::vector<int> admin_fds() const;
    // The per-slot fds of the other slots (busy steering: a worker accepts
    // from a busy sibling's queue), as {slot, fd}; none when sockets are shared.
    std::vector<std::pair<std::size_t, int>> sibling_fds(std::size_t slot) const;
    // Every fd not belonging to `slot` (a new worker closes them).
    std::vector<int> others(std::size_t slot) const;

    // Close the groups dropped by a reload (once the old workers are gone).
    void close_dropped();
    // Close everything (shutdown).
    void close_all();

    std::size_t slots() const { return slots_; }
    // Each slot has sockets (and an accept queue) of its own.
    bool per_slot() const;
    // The most sockets any group has (inherited groups may have more than slots).
    std::size_t widest() const;
    // "127.0.0.1:8000, [::1]:8000", with the actual ports when 0 was asked.
    std::string describe() const;

private:
    struct Group {
        config::BindAddress address;
        std::vector<int> fds;  // per slot; a single one when shared
        bool shared = false;   // one socket for every slot (reuse_port = false, or
                               // an activated socket without SO_REUSEPORT)
        bool admin = false;    // stats.bind: /stats, /metrics, /status only, shared
    };
    int bind_one(const config::BindAddress& address) const;
    void close_group(Group& g);

    std::vector<Group> groups_;
    std::vector<Group> dropped_;
    std::size_t slots_ = 0;
    std::size_t active_ = 0;  // steer(): the first `active_` slots take connections
    std::vector<bool> busy_;  // avoid(): of those, not these
    bool reuse_port_ = true;
    int backlog_ = 2048;
};

}  // namespace forkd::master
