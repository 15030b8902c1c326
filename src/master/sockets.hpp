// master/sockets.hpp: one listening socket at a time: bind it, steer its
// reuseport group, ask it what it is bound to.
//
// Plain socket calls on raw fds, kept free of libuv on purpose: libuv 1.44
// has no SO_REUSEPORT flag, and the master must hold fds that outlive any
// loop. Knows nothing of groups or slots (listeners.hpp) nor of processes.
// Errors: these run at start-up and on a reload, where a failure is a
// std::runtime_error naming the address and the reason.
#pragma once

#include <cstddef>
#include <cstdint>

#include "config/settings.hpp"

namespace forkd::master {

// A TCP listening socket on `address` (numeric IPv4 or IPv6), with
// SO_REUSEPORT if `reuse_port`, listening with `backlog`. Not close-on-exec:
// workers inherit it by fork, and a binary upgrade (exec) passes it on.
// Throws std::runtime_error.
int bind_listener(const config::BindAddress& address, bool reuse_port, int backlog);

// SO_REUSEPORT lets any process of the same user join the port's group, so
// a second forkd on a busy port would silently share it. Probe with a plain
// bind first: throws std::runtime_error if somebody else holds the address.
void probe_free(const config::BindAddress& address);

// Make the kernel pick among the first `active` sockets of the reuseport
// group that `fd` belongs to. Throws std::runtime_error.
void steer_group(int fd, std::size_t active, const config::BindAddress& address);

// The port `fd` is bound to (0 if it cannot be read).
uint16_t bound_port(int fd);

// The address a socket handed to us is bound to (socket activation).
// Throws std::runtime_error if `fd` is not a TCP/IP socket.
config::BindAddress bound_address(int fd);

// Whether `fd` is a listening socket, and whether it has SO_REUSEPORT.
bool is_listening(int fd);
bool has_reuse_port(int fd);

}  // namespace forkd::master
