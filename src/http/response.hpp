// http/response.hpp: what a handler answers, and its serialisation.
//
// Owns the wire format of a response head: status line, Date, Server,
// Content-Type, Content-Length, X-Process-Time, Connection, extra headers.
// Knows nothing of connections or sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace forkd::http {

struct Response {
    int status = 200;
    std::string_view content_type = "application/json";  // must outlive respond(); use literals
    std::string body;
    std::string extra_headers;  // complete lines, each ending "\r\n" ("Allow: GET, HEAD\r\n")
    // The handler asks that the connection end after this response (the
    // host drains): it says Connection: close, as while the worker drains.
    bool close = false;
};

// A JSON error response: {"error": "<message>", "status": <status>}.
Response error_response(int status, std::string_view message);

// The standard reason phrase ("Not Found"); "Unknown" for codes we never send.
std::string_view reason_phrase(int status);

struct HeadOptions {
    bool keep_alive = true;     // "Connection: keep-alive" or "close"
    bool head_only = false;     // HEAD: Content-Length of the body, but no body
    double process_time_s = 0;  // X-Process-Time
};

// Append the complete response (head, and body unless head_only) to `out`.
void serialize(const Response& response, const HeadOptions& options, std::string& out);

}  // namespace forkd::http
