// app/allow.hpp: who may read /stats, /metrics and /status (settings.stats.allow).
//
// Owns CIDR parsing ("127.0.0.0/8", "::1/128", "10.1.2.3" for one host) and
// matching a peer's address against a list of them. An IPv4-mapped IPv6
// peer (::ffff:127.0.0.1, what a dual-stack "::" socket reports for an IPv4
// client) matches the IPv4 entries, and an entry written in the mapped form
// (::ffff:10.0.0.0/104) matches plain IPv4 peers: both sides are reduced to
// IPv4 first. Numeric addresses only, no DNS. Knows nothing of requests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

namespace forkd::app {

struct Cidr {
    bool v6 = false;
    uint8_t addr[16] = {};  // IPv4 in the first 4 bytes; bits past `prefix` are zero
    int prefix = 0;         // 0..32 for IPv4, 0..128 for IPv6
};

// "addr" or "addr/prefix". false if either part is malformed.
bool parse_cidr(std::string_view text, Cidr& out);

// Does `addr` (family AF_INET or AF_INET6) lie in `cidr`?
bool cidr_contains(const Cidr& cidr, const sockaddr* addr);

class AllowList {
public:
    // Replace the entries. Malformed entries are skipped; the first one is
    // stored in `bad` (when given) and false returned. (config validation
    // rejects them earlier; this only keeps a bad entry from matching.)
    bool assign(const std::vector<std::string>& cidrs, std::string* bad = nullptr);

    // Is `addr` inside any entry? An empty list allows nobody.
    bool allows(const sockaddr* addr) const;
    bool allows(const sockaddr_storage& addr) const { return allows(reinterpret_cast<const sockaddr*>(&addr)); }

    std::size_t size() const { return entries_.size(); }

private:
    std::vector<Cidr> entries_;
};

}  // namespace forkd::app
