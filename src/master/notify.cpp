// master/notify.cpp: sd_notify wrappers.
#include "master/notify.hpp"

#include <string>

#include <systemd/sd-daemon.h>

namespace forkd::master::notify {

void ready()
{
    sd_notify(0, "READY=1");
}

void stopping()
{
    sd_notify(0, "STOPPING=1");
}

void status(std::string_view line)
{
    std::string msg = "STATUS=";
    msg += line;
    sd_notify(0, msg.c_str());
}

}  // namespace forkd::master::notify
