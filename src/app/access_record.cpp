// app/access_record.cpp: access-log records (access_record.hpp).
#include "app/access_record.hpp"

#include "http/address.hpp"

#include <exception>

namespace forkd::app {

void write_access_record(log::AccessLog& access_log, const http::Connection& conn, const http::Request& request,
                         const http::Sent& sent, int worker_slot) noexcept
{
    char peer[INET6_ADDRSTRLEN] = "-";
    sockaddr_storage ss{};
    log::AccessRecord r;
    r.peer = conn.peer(ss) ? http::address_text(ss, peer) : std::string_view("-");
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
