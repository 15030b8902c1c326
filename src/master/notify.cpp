// master/notify.cpp: sd_notify wrappers.
#include "master/notify.hpp"

#include <string>

#include <systemd/sd-daemon.h>

namespace forkd::master::notify {

void ready()
{
    sd_notify(0, "READY=1");
}

void reloading()
{
    sd_notify(0, "RELOADING=1");
}

void main_pid(int pid)
{
    const std::string msg = "MAINPID=" + std::to_string(pid) + "\nREADY=1";
    sd_notify(0, msg.c_str());
}

void stopping()
{
    sd_notify(0, "STOPPING=1");
}

uint64_t watchdog_interval_ms()
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec / 1000 : 0;
}

void watchdog()
{
    sd_notify(0, "WATCHDOG=1");
}

void status(std::string_view line)
{
    std::string msg = "STATUS=";
    msg += line;
    sd_notify(0, msg.c_str());
}

}  // namespace forkd::master::notify
