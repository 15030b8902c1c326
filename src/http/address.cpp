// http/address.cpp: address_text() (address.hpp).
#include "http/address.hpp"

#include <arpa/inet.h>

namespace forkd::http {

std::string_view address_text(const sockaddr_storage& address, char (&buf)[INET6_ADDRSTRLEN])
{
    const void* addr = nullptr;
    if (address.ss_family == AF_INET6)
        addr = &reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr;
    else if (address.ss_family == AF_INET)
        addr = &reinterpret_cast<const sockaddr_in*>(&address)->sin_addr;
    if (addr == nullptr || inet_ntop(address.ss_family, addr, buf, sizeof buf) == nullptr)
        return "-";
    return buf;
}

}  // namespace forkd::http
