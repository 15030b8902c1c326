// master/notify.cpp: systemd's notify protocol over libsystemd (notify.hpp).
//
// Only formats and sends messages; it knows nothing of why the master sends
// them. A message that cannot be sent is logged here, once, with its name.
#include "master/notify.hpp"

#include <cstring>
#include <string>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace forkd::master::notify {
namespace {

// sd_notify() returns a negative errno when the message could not be sent
// (0 when there is no NOTIFY_SOCKET): systemd would then wait for a state
// it never hears of, so the failure is worth a line.
void send(const char* message)
{
    const int rc = sd_notify(0, message);
    if (rc < 0)
        spdlog::warn("sd_notify({}): {}", std::string_view(message).substr(0, std::string_view(message).find('\n')),
                     std::strerror(-rc));
}

}  // namespace

void ready()
{
    send("READY=1");
}

void reloading()
{
    send("RELOADING=1");
}

void main_pid(int pid)
{
    const std::string msg = "MAINPID=" + std::to_string(pid) + "\nREADY=1";
    send(msg.c_str());
}

void stopping()
{
    send("STOPPING=1");
}

uint64_t watchdog_interval_ms()
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec / 1000 : 0;
}

void watchdog()
{
    send("WATCHDOG=1");
}

void status(std::string_view line)
{
    std::string msg = "STATUS=";
    msg += line;
    send(msg.c_str());
}

}  // namespace forkd::master::notify
