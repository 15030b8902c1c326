// master/listeners.hpp: the listening sockets, bound by the master.
//
// One SO_REUSEPORT socket per (worker slot, bind address), so each slot's
// accept queue is its own and survives the slot's worker: a crashed worker's
// queued connections wait for its replacement instead of being reset. With
// reuse_port = false every slot shares one socket per address.
// The master binds before dropping privileges and keeps every socket open
// for as long as the slot exists; workers get their slot's fds by fork.
// Knows nothing about processes.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace forkd::master {

class Listeners {
public:
    Listeners() = default;
    ~Listeners();
    Listeners(const Listeners&) = delete;
    Listeners& operator=(const Listeners&) = delete;

    // Bind every address for `slots` slots. Throws std::runtime_error naming
    // the address and the reason ("bind 127.0.0.1:8000: Address already in use").
    void open(const config::Settings& settings, std::size_t slots);

    // The fds a worker in `slot` listens on (one per bind address).
    const std::vector<int>& fds(std::size_t slot) const;

    // Every fd not belonging to `slot` (a new worker closes them).
    std::vector<int> others(std::size_t slot) const;

    // Close everything (shutdown).
    void close_all();

    std::size_t slots() const { return per_slot_.size(); }
    // "127.0.0.1:8000, [::1]:8000", with the actual ports when 0 was asked.
    std::string describe() const;

private:
    int bind_one(const config::BindAddress& address, bool reuse_port, int backlog);

    std::vector<config::BindAddress> addresses_;
    std::vector<std::vector<int>> per_slot_;
    bool shared_ = false;  // reuse_port = false: every slot holds the same fds
};

}  // namespace forkd::master
