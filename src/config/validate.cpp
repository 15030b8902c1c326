// config/validate.cpp: addresses and the checks that span keys.
//
// Owns parsing "host:port" (numeric hosts only: no DNS at start-up, so a
// config check never hangs on a resolver), recognising CIDRs, and validate():
// what no single key can check (an empty or repeated bind list, a stats
// address that collides with a serving one). It must not open sockets; the
// master binds.
#include "config/keys.hpp"
#include "config/load.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include <fmt/format.h>

namespace forkd::config {

namespace {

// A decimal number with no sign, no spaces and nothing after it.
bool parse_decimal(std::string_view text, unsigned long& out)
{
    if (text.empty() || text.size() > 10) {
        return false;
    }
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc() && end == text.data() + text.size();
}

// The numeric host in canonical form ("0:0::1" -> "::1"), so that the same
// address written twice is seen as a duplicate.
bool canonical_host(int family, const std::string& host, std::string& out)
{
    unsigned char address[sizeof(in6_addr)];
    char text[INET6_ADDRSTRLEN];
    if (inet_pton(family, host.c_str(), address) != 1 || inet_ntop(family, address, text, sizeof text) == nullptr) {
        return false;
    }
    out = text;
    return true;
}

[[noreturn]] void reject(const Settings& settings, std::string_view key, const std::string& what)
{
    const std::string_view source =
        settings.config_path.empty() ? std::string_view("configuration") : settings.config_path;
    throw ConfigError(fmt::format("{}: key '{}': {}", source, key, what));
}

}  // namespace

bool parse_bind(std::string_view text, BindAddress& out)
{
    std::string host;
    std::string_view port_text;
    int family = AF_INET;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) {
            return false;
        }
        host = text.substr(1, close - 1);
        port_text = text.substr(close + 2);
        family = AF_INET6;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return false;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host == "localhost") {
            host = "127.0.0.1";
        }
    }
    // Port 0 would give each per-slot SO_REUSEPORT socket a different port.
    unsigned long port = 0;
    BindAddress parsed;
    if (!parse_decimal(port_text, port) || port < 1 || port > 65535 || !canonical_host(family, host, parsed.host)) {
        return false;
    }
    parsed.port = static_cast<uint16_t>(port);
    out = std::move(parsed);
    return true;
}

namespace detail {

bool is_cidr(std::string_view text)
{
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        return false;
    }
    const std::string address(text.substr(0, slash));
    unsigned char bytes[sizeof(in6_addr)];
    unsigned long prefix_len = 0;
    if (!parse_decimal(text.substr(slash + 1), prefix_len)) {
        return false;
    }
    if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
        return prefix_len <= 32;
    }
    return inet_pton(AF_INET6, address.c_str(), bytes) == 1 && prefix_len <= 128;
}

bool is_bind_or_empty(std::string_view text)
{
    BindAddress ignored;
    return text.empty() || parse_bind(text, ignored);
}

}  // namespace detail

void validate(const Settings& settings)
{
    if (settings.bind.empty()) {
        reject(settings, "bind", "expected at least one \"host:port\", got []");
    }
    for (std::size_t i = 0; i < settings.bind.size(); ++i) {
        for (std::size_t j = i + 1; j < settings.bind.size(); ++j) {
            if (settings.bind[i] == settings.bind[j]) {
                reject(settings, "bind", fmt::format("\"{}\" is listed twice", settings.bind[i].to_string()));
            }
        }
    }
    for (const std::string& cidr : settings.stats.allow) {
        if (!detail::is_cidr(cidr)) {
            reject(settings, "stats.allow",
                   fmt::format("expected {}, got \"{}\"", detail::expected(*detail::find_key("stats.allow")), cidr));
        }
    }
    BindAddress stats_bind;
    if (!settings.stats.bind.empty() && !parse_bind(settings.stats.bind, stats_bind)) {
        reject(settings, "stats.bind",
               fmt::format("expected {}, got \"{}\"", detail::expected(*detail::find_key("stats.bind")),
                           settings.stats.bind));
    }
    for (const BindAddress& bind : settings.bind) {
        if (!settings.stats.bind.empty() && bind == stats_bind) {
            reject(settings, "stats.bind",
                   fmt::format("\"{}\" is also in 'bind'; the stats address must be a separate "
                               "one",
                               settings.stats.bind));
        }
    }
}

}  // namespace forkd::config
