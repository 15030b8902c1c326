// http/address.hpp: a socket address as the text people read ("127.0.0.1",
// "::1"), for the access log, the master's listener descriptions and errors.
// Owns only the formatting; reading the address is the caller's business.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <string_view>

namespace forkd::http {

// "127.0.0.1", "2001:db8::1"; "-" when the family is neither IPv4 nor IPv6.
// `buf` holds the text the result points into.
std::string_view address_text(const sockaddr_storage& address, char (&buf)[INET6_ADDRSTRLEN]);

}  // namespace forkd::http
