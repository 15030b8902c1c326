// master/notify.hpp: systemd's notify protocol (Type=notify), via libsystemd.
//
// Each call is a no-op when NOTIFY_SOCKET is unset (not under systemd); a
// message that cannot be sent is logged (notify.cpp) and otherwise ignored:
// the master serves with or without systemd.
#pragma once

#include <cstdint>
#include <string_view>

namespace forkd::master::notify {

void ready();
void reloading();
// After a binary upgrade: this process is the service's main process now.
void main_pid(int pid);
void stopping();
// systemd's WatchdogSec in ms (0: not asked for); WATCHDOG=1 keeps it fed.
uint64_t watchdog_interval_ms();
void watchdog();
void status(std::string_view line);

}  // namespace forkd::master::notify
