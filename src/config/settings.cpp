// config/settings.cpp: the small behaviours of the plain settings data.
//
// Owns the printable form of a bind address, the worker count for
// `workers = 0`, and the registry of mode keys that the endpoint table fills
// (set_mode_keys()). It must not read files or flags: that is config/load.cpp
// and config/cli.cpp; nor spell a mode name: that is app/table.hpp.
#include "config/settings.hpp"

#include <unistd.h>

namespace forkd::config {

std::string BindAddress::to_string() const
{
    // An IPv6 host needs brackets, or its colons would run into the port's.
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

int Settings::resolved_workers() const
{
    if (workers > 0) {
        return workers;
    }
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? static_cast<int>(cores) : 1;
}

namespace {

// Set once at start-up, before any thread or fork (set_mode_keys()).
std::span<const ModeKey> registered_mode_keys;

}  // namespace

void set_mode_keys(std::span<const ModeKey> keys)
{
    registered_mode_keys = keys;
}

std::span<const std::string_view> mode_names(std::string_view key)
{
    for (const ModeKey& mode_key : registered_mode_keys) {
        if (mode_key.key == key) {
            return mode_key.names;
        }
    }
    return {};
}

}  // namespace forkd::config
