// http/connection_detail.hpp: what the three connection_*.cpp files share and
// nothing else includes: buffer bounds, the linger time, and how a libuv
// error is logged.
// Must not grow behaviour: the state machine is in connection_state.cpp, the
// libuv calls in connection_io.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>
#include <uv.h>

namespace forkd::http::detail {

constexpr std::size_t read_buffer_size = 64 * 1024;
// Unparsed bytes kept while an answer is pending: past this, reading stops, so
// that a pipelining client cannot grow our memory.
constexpr std::size_t max_buffered_in = 64 * 1024;
// Response bytes waiting for a slow reader: past this, no further request is
// handled until the socket has taken some.
constexpr std::size_t max_backlog_out = 256 * 1024;
// A burst may grow a buffer; give the memory back once it is empty.
constexpr std::size_t keep_capacity = 16 * 1024;
// How long to read and discard after our shutdown before closing anyway.
constexpr uint64_t linger_ms = 2000;
constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

inline bool peer_gone(int rc)
{
    return rc == UV_EPIPE || rc == UV_ECONNRESET || rc == UV_ENOTCONN || rc == UV_ETIMEDOUT || rc == UV_ECONNABORTED ||
           rc == UV_ECANCELED;
}

// The peer going away is ordinary; anything else is worth a warning.
inline void log_uv(const char* what, int rc)
{
    if (peer_gone(rc)) {
        spdlog::debug("http: {}: {}", what, uv_err_name(rc));
    } else {
        spdlog::warn("http: {}: {}", what, uv_err_name(rc));
    }
}

inline void release_if_large(std::string& buffer)
{
    if (buffer.empty() && buffer.capacity() > keep_capacity)
        buffer.shrink_to_fit();
}

}  // namespace forkd::http::detail
