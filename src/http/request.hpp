// http/request.hpp: one parsed request, as the app sees it.
//
// Plain data owned by its Connection; valid from Handler::on_request until
// the connection's respond() for it returns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <llhttp.h>

namespace forkd::http {

struct Request {
    llhttp_method_t method = HTTP_GET;
    std::string target;      // request-target in origin-form ("/fib/30?mode=inline"); an
                             // absolute-form target is reduced to this; "*" for OPTIONS *
    std::string_view path;   // view into target, before '?'
    std::string_view query;  // view into target, after '?' (without it); empty if none
    uint8_t version_major = 1;
    uint8_t version_minor = 1;
    bool keep_alive = true;  // the client allows another request after this one
    uint64_t start_ns = 0;   // uv_hrtime() when the request was complete and handed to the handler
    std::string user_agent;  // for the access log (combined format); empty if absent
    std::string referer;

    // Only with Limits::keep_request (for /echo); empty otherwise. Cleared,
    // not freed, between requests.
    struct Field {
        std::string name;
        std::string value;  // without surrounding OWS
    };
    std::string raw_target;       // as received (absolute-form too)
    std::vector<Field> fields;    // the head's fields, in order, as received (no trailers)
    std::size_t field_count = 0;  // fields[0, field_count) are this request's (the rest are spare)
    std::string body;             // decoded (chunks joined)

    std::string_view method_name() const { return llhttp_method_name(method); }
    bool is_head() const { return method == HTTP_HEAD; }
    // Value of `key` in the query string ("mode" in "?n=1&mode=offload"); empty if absent.
    std::string_view query_param(std::string_view key) const;
};

}  // namespace forkd::http
