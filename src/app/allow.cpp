// app/allow.cpp: CIDR parsing and matching for stats.allow (see allow.hpp).
//
// Pure functions over sockaddr; no sockets are opened or read here.
#include "app/allow.hpp"

#include <cstring>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace forkd::app {

namespace {

constexpr uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_v4_mapped(const uint8_t (&addr)[16])
{
    return std::memcmp(addr, mapped_prefix, sizeof mapped_prefix) == 0;
}

// Zero the bits of `addr` past `prefix` (of `bytes` bytes in all).
void mask(uint8_t* addr, int bytes, int prefix)
{
    for (int i = 0; i < bytes; ++i) {
        int keep = prefix - i * 8;
        if (keep >= 8)
            continue;
        addr[i] &= keep <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - keep));
    }
}

bool prefix_equal(const uint8_t* a, const uint8_t* b, int prefix)
{
    int whole = prefix / 8;
    if (std::memcmp(a, b, static_cast<std::size_t>(whole)) != 0)
        return false;
    int rest = prefix % 8;
    if (rest == 0)
        return true;
    uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[whole] & m) == (b[whole] & m);
}

// A strict decimal in [0, max]; no sign, no spaces, no leading zeros but "0".
bool parse_prefix(std::string_view text, int max, int& out)
{
    if (text.empty() || text.size() > 3 || (text.size() > 1 && text[0] == '0'))
        return false;
    int value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + (c - '0');
    }
    if (value > max)
        return false;
    out = value;
    return true;
}

}  // namespace

bool parse_cidr(std::string_view text, Cidr& out)
{
    std::string_view host = text;
    std::string_view prefix_text;
    bool has_prefix = false;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        host = text.substr(0, slash);
        prefix_text = text.substr(slash + 1);
        has_prefix = true;
    }
    // inet_pton wants a NUL-terminated string; an address is short.
    char buf[INET6_ADDRSTRLEN + 1];
    if (host.empty() || host.size() >= sizeof buf)
        return false;
    std::memcpy(buf, host.data(), host.size());
    buf[host.size()] = '\0';

    Cidr cidr;
    if (inet_pton(AF_INET, buf, cidr.addr) == 1) {
        cidr.v6 = false;
        cidr.prefix = 32;
        if (has_prefix && !parse_prefix(prefix_text, 32, cidr.prefix))
            return false;
    } else if (inet_pton(AF_INET6, buf, cidr.addr) == 1) {
        cidr.v6 = true;
        cidr.prefix = 128;
        if (has_prefix && !parse_prefix(prefix_text, 128, cidr.prefix))
            return false;
        // ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n: store it so.
        if (is_v4_mapped(cidr.addr) && cidr.prefix >= 96) {
            std::memmove(cidr.addr, cidr.addr + 12, 4);
            std::memset(cidr.addr + 4, 0, 12);
            cidr.v6 = false;
            cidr.prefix -= 96;
        }
    } else {
        return false;
    }
    mask(cidr.addr, cidr.v6 ? 16 : 4, cidr.prefix);
    out = cidr;
    return true;
}

bool cidr_contains(const Cidr& cidr, const sockaddr* addr)
{
    uint8_t peer[16] = {};
    bool peer_v6 = false;
    if (addr->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        std::memcpy(peer, &in->sin_addr, 4);
    } else if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        uint8_t raw[16];
        std::memcpy(raw, &in6->sin6_addr, 16);
        if (is_v4_mapped(raw)) {
            std::memcpy(peer, raw + 12, 4);
        } else {
            std::memcpy(peer, raw, 16);
            peer_v6 = true;
        }
    } else {
        return false;  // AF_UNIX and the like: no address to judge
    }
    return peer_v6 == cidr.v6 && prefix_equal(peer, cidr.addr, cidr.prefix);
}

bool AllowList::assign(const std::vector<std::string>& cidrs, std::string* bad)
{
    entries_.clear();
    bool all_good = true;
    for (const std::string& text : cidrs) {
        Cidr cidr;
        if (parse_cidr(text, cidr)) {
            entries_.push_back(cidr);
        } else if (all_good) {
            all_good = false;
            if (bad)
                *bad = text;
        }
    }
    return all_good;
}

bool AllowList::allows(const sockaddr* addr) const
{
    for (const Cidr& cidr : entries_)
        if (cidr_contains(cidr, addr))
            return true;
    return false;
}

}  // namespace forkd::app
