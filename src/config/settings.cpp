// config/settings.cpp: the small behaviours of the plain settings data.
//
// Owns the printable form of a bind address, the worker count for
// `workers = 0`, and the names of the endpoint modes (one array per mode
// type, in enum order, so that to_string, parse_mode and mode_names can never
// disagree). It must not read files or flags: that is config/load.cpp and
// config/cli.cpp.
#include "config/settings.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>

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

// The literals are null-terminated, so .data() serves the const char* API.
constexpr std::array<std::string_view, 2> hello_names = {"inline", "offload"};
constexpr std::array<std::string_view, 3> sleep_names = {"timer", "offload", "block"};
constexpr std::array<std::string_view, 2> fib_names = {"offload", "inline"};
constexpr std::array<std::string_view, 4> fibo_sleep_names = {"par", "async", "baseline", "offload"};

template <class Mode, std::size_t N> const char* name_of(const std::array<std::string_view, N>& names, Mode mode)
{
    const auto index = static_cast<std::size_t>(mode);
    return index < N ? names[index].data() : "?";
}

template <class Mode, std::size_t N>
bool parse_name(const std::array<std::string_view, N>& names, std::string_view text, Mode& out)
{
    const auto found = std::find(names.begin(), names.end(), text);
    if (found == names.end()) {
        return false;
    }
    out = static_cast<Mode>(found - names.begin());
    return true;
}

}  // namespace

const char* to_string(HelloMode mode)
{
    return name_of(hello_names, mode);
}
const char* to_string(SleepMode mode)
{
    return name_of(sleep_names, mode);
}
const char* to_string(FibMode mode)
{
    return name_of(fib_names, mode);
}
const char* to_string(FiboSleepMode mode)
{
    return name_of(fibo_sleep_names, mode);
}

bool parse_mode(std::string_view text, HelloMode& out)
{
    return parse_name(hello_names, text, out);
}
bool parse_mode(std::string_view text, SleepMode& out)
{
    return parse_name(sleep_names, text, out);
}
bool parse_mode(std::string_view text, FibMode& out)
{
    return parse_name(fib_names, text, out);
}
bool parse_mode(std::string_view text, FiboSleepMode& out)
{
    return parse_name(fibo_sleep_names, text, out);
}

template <> std::span<const std::string_view> mode_names<HelloMode>()
{
    return hello_names;
}
template <> std::span<const std::string_view> mode_names<SleepMode>()
{
    return sleep_names;
}
template <> std::span<const std::string_view> mode_names<FibMode>()
{
    return fib_names;
}
template <> std::span<const std::string_view> mode_names<FiboSleepMode>()
{
    return fibo_sleep_names;
}

}  // namespace forkd::config
