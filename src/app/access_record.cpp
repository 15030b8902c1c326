// app/access_record.cpp: access-log records (access_record.hpp).
#include "app/access_record.hpp"

#include <arpa/inet.h>

#include <exception>

namespace forkd::app {

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

void write_access_record(log::AccessLog& access_log, const http::Connection& conn, const http::Request& request,
                         const http::Sent& sent, int worker_slot) noexcept
{
    char peer[INET6_ADDRSTRLEN] = "-";
    sockaddr_storage ss{};
    log::AccessRecord r;
    r.peer = conn.peer(ss) ? address_text(ss, peer) : std::string_view("-");
    r.method = request.method_name();
    r.target = request.target;
    r.version_major = request.version_major;
    r.version_minor = request.version_minor;
    r.status = sent.status;
    r.bytes = sent.bytes;
    r.referer = request.referer;
    r.user_agent = request.user_agent;
    r.seconds = double(sent.duration_ns) / 1e9;
    r.worker = worker_slot;
    try {
        access_log.write(r);
    } catch (const std::exception&) {
        // Dropped: see the header.
    }
}

}  // namespace forkd::app
