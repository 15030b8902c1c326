// app/echo.hpp: the body of ANY /echo, the request as forkd parsed it.
//
// Owns the echo format, HTTP Garden's (its tools/http1.py reads it): a JSON
// object {"method", "uri", "version", "headers": [[name, value], ...],
// "body"} whose every string is base64 (RFC 4648, with padding), since any
// of them may hold bytes that are not UTF-8. "uri" is the request-target as
// received, "version" is "1.1" or "1.0", headers are the head's fields in
// the order received (no trailers), the body is decoded (chunks joined).
// Needs the parser to keep them (http::Limits::keep_request, set by the
// [endpoints] echo key). Does not route: routes.cpp decides that /echo runs.
#pragma once

#include <string>
#include <string_view>

#include "http/request.hpp"
#include "http/response.hpp"

namespace forkd::app {

// RFC 4648 base64 of `bytes`, appended to `out`.
void append_base64(std::string_view bytes, std::string& out);

// 200, application/json: the request in the echo format above.
http::Response echo_response(const http::Request& request);

}  // namespace forkd::app
