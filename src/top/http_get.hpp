// top/http_get.hpp: a tiny blocking HTTP/1.1 GET client, enough for /stats.
//
// Owns parsing an http:// URL and one GET on a fresh connection with a
// deadline: connect, send, read until the server closes (we ask for
// Connection: close), then split status, headers and body (Content-Length
// or chunked). No TLS, no redirects, no keep-alive: `forkd top` asks once a
// second. Knows nothing of what the body means.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace forkd::top {

struct Url {
    std::string host;  // without brackets for IPv6
    uint16_t port = 80;
    std::string path = "/";
};

// "http://127.0.0.1:8000/stats", "http://[::1]:8000/stats", "localhost:8000"
// (the scheme is optional, https is refused; no path means /stats). false
// and `error` on a bad URL.
bool parse_url(std::string_view text, Url& out, std::string& error);

struct HttpResult {
    bool ok = false;  // a complete response arrived (any status)
    int status = 0;
    std::string body;
    std::string error;  // why not ok: "connection refused", "timed out", ...
};

// One GET; gives up after `timeout_ms` in all.
HttpResult http_get(const Url& url, int timeout_ms);

// Split a complete response (for tests): status line, headers, body.
HttpResult parse_response(std::string_view raw);

}  // namespace forkd::top
