// app/access_record.hpp: one access-log line from a request and its response.
//
// Owns turning what the connection knows (its peer address, the request as
// parsed, the response as sent) into a log::AccessRecord. The line's format
// is log/access.cpp's; when to write one is accounting.cpp's.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <string_view>

#include "http/connection.hpp"
#include "log/access.hpp"

namespace forkd::app {

// Write the line for one response. A log line is never worth a request:
// errors are dropped (spdlog reports its own).
void write_access_record(log::AccessLog& access_log, const http::Connection& conn, const http::Request& request,
                         const http::Sent& sent, int worker_slot) noexcept;

}  // namespace forkd::app
