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
// handled until the socket has taken some. It also bounds the work a client
// that pipelines without reading can make us do before it is stopped (and
// closed after send_timeout): little beyond the kernel's socket buffers.
constexpr std::size_t max_backlog_out = 32 * 1024;
// Unsent bytes the kernel keeps for one socket (TCP_NOTSENT_LOWAT): without
// it a socket buffer grows to megabytes for a client that does not read,
// each of them answers we computed for nobody. A reader is not slowed: it
// keeps the buffer below this.
constexpr int notsent_lowat = 16 * 1024;
// A connection's share of one loop turn: after this many requests answered
// on the spot, or this many bytes parsed and answered, the others get theirs
// before it continues (a few pipelined requests, a few tens of KiB).
constexpr unsigned turn_requests = 8;
constexpr std::size_t turn_bytes = 64 * 1024;
// Connections given their next share per loop turn (TurnQueue): the rest wait
// one more turn, so that a turn stays short and the sockets of everyone else
// are polled often, however many connections pipeline.
constexpr std::size_t turns_per_loop = 32;
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
