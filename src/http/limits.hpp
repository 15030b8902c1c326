// http/limits.hpp: the bounds one connection enforces on what a client sends.
//
// Owns the numbers only (sizes, timeouts) and their derivation from the
// settings. The parser and the connection enforce them; the worker fills one
// Limits per Context. Knows nothing of sockets or llhttp.
#pragma once

#include <cstddef>
#include <cstdint>

namespace forkd::config {
struct Settings;
}

namespace forkd::http {

struct Limits {
    std::size_t request_line = 8190;        // 414 past this (method + target + version)
    std::size_t request_fields = 100;       // 431 past this many header fields
    std::size_t request_field_size = 8190;  // 431 past this many bytes in one field (name + value)
    int64_t max_body_size = 1048576;        // 413 past this; negative: no limit
    uint64_t header_timeout_ms = 10000;     // absolute, from the first byte of a request's head; 0: none
    uint64_t keepalive_ms = 75000;          // idle between requests; 0: close after each response
    uint64_t send_timeout_ms = 60000;       // output pending with no progress this long: close; 0: none
    // Keep each request's target as received, its header fields and its
    // body (up to max_body_size, or max_kept_body when that is unlimited) in
    // the Request: the [endpoints] echo key. Off, bodies are discarded.
    bool keep_request = false;

    // From the configuration keys limit_request_line, limit_request_fields,
    // limit_request_field_size (0 or less: the hard maxima below, as gunicorn's
    // "0 means unlimited" but still bounded), max_body_size (0 or less: no
    // limit, as nginx's client_max_body_size 0; bodies are discarded, so
    // memory stays bounded), keepalive, header_timeout and send_timeout
    // (seconds).
    static Limits from(const config::Settings& settings);

    // Hard maxima used for "unlimited": the target is stored, so it must stay bounded.
    static constexpr std::size_t max_request_line = 1 << 20;
    static constexpr std::size_t max_request_fields = 32768;
    static constexpr std::size_t max_request_field_size = 1 << 20;
    static constexpr std::size_t max_kept_body = 1 << 20;

    // Every byte of one request head (request line, fields, separators) fits in this.
    std::size_t head_bytes() const { return request_line + 2 + request_fields * (request_field_size + 4) + 2; }
};

}  // namespace forkd::http
