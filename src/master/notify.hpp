// master/notify.hpp: systemd's notify protocol (Type=notify), via libsystemd.
//
// Each call is a no-op when NOTIFY_SOCKET is unset (not under systemd).
#pragma once

#include <string_view>

namespace forkd::master::notify {

void ready();
void stopping();
void status(std::string_view line);

}  // namespace forkd::master::notify
