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
#include <span>
#include <vector>

#include <linux/filter.h>

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

// The classic-BPF reuseport program that sends each new connection to one of
// `targets` (indexes into the group, in join order), chosen at random with
// equal shares: A = random % n, then a jump table from A to targets[A].
// `targets` must not be empty; at most max_program_targets of them.
constexpr std::size_t max_program_targets = 1024;
std::vector<sock_filter> reuseport_program(std::span<const uint32_t> targets);

// Make the kernel pick among `targets` of the reuseport group that `fd`
// belongs to (busy steering). Throws std::runtime_error.
void steer_group_to(int fd, std::span<const uint32_t> targets, const config::BindAddress& address);

// The port `fd` is bound to (0 if it cannot be read).
uint16_t bound_port(int fd);

// The address a socket handed to us is bound to (socket activation).
// Throws std::runtime_error if `fd` is not a TCP/IP socket.
config::BindAddress bound_address(int fd);

// Whether `fd` is a listening socket, and whether it has SO_REUSEPORT.
bool is_listening(int fd);
bool has_reuse_port(int fd);

}  // namespace forkd::master
