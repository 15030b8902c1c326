// http/response.cpp: the wire format of a response (see response.hpp).
//
// Owns the status line, the fixed header set, and JSON error bodies.
// Must not touch sockets or connections. Formats numbers with std::to_chars
// and appends to the caller's buffer, so a connection that reuses its buffer
// serialises without allocating.
#include "http/response.hpp"

#include <charconv>

#include "http/date.hpp"

namespace forkd::http {

namespace {

void append_uint(std::string& out, uint64_t value)
{
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    (void)ec;  // 24 digits always suffice for 64 bits
    out.append(buf, end);
}

// Append `text` as the inside of a JSON string. Bytes that do not form valid
// UTF-8 become U+FFFD, so the body is valid JSON whatever a message holds
// (an app may quote a client's path in it).
void append_json_escaped(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        // Length and minimum code point of a multi-byte sequence.
        std::size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
        if (c >= 0xf5)
            len = 0;
        uint32_t cp = len == 4 ? (c & 0x07u) : len == 3 ? (c & 0x0fu) : (c & 0x1fu);
        bool valid = len != 0 && i + len <= text.size();
        for (std::size_t k = 1; valid && k < len; ++k) {
            auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0) != 0x80)
                valid = false;
            cp = (cp << 6) | (cc & 0x3fu);
        }
        if (valid && ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
                      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
            valid = false;
        }
        if (valid) {
            out.append(text.data() + i, len);
            i += len;
        } else {
            out += "\xef\xbf\xbd";  // U+FFFD
            ++i;
        }
    }
}

}  // namespace

std::string_view reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

Response error_response(int status, std::string_view message)
{
    Response response;
    response.status = status;
    response.content_type = "application/json";
    response.body.reserve(message.size() + 32);
    response.body += "{\"error\":\"";
    append_json_escaped(response.body, message);
    response.body += "\",\"status\":";
    append_uint(response.body, status > 0 ? static_cast<uint64_t>(status) : 0);
    response.body += '}';
    return response;
}

void serialize(const Response& response, const HeadOptions& options, std::string& out)
{
    int status = response.status;
    // RFC 9110 6.4.1: 1xx, 204 and 304 have no content, and 1xx/204 no Content-Length.
    bool no_content = status < 200 || status == 204 || status == 304;
    bool send_body = !no_content && !options.head_only;

    out.reserve(out.size() + 192 + response.extra_headers.size() + (send_body ? response.body.size() : 0));
    out += "HTTP/1.1 ";
    append_uint(out, status > 0 && status < 1000 ? static_cast<uint64_t>(status) : 500);
    out += ' ';
    out += reason_phrase(status);
    out += "\r\nServer: forkd\r\nDate: ";
    out += date::current();
    if (!no_content) {
        out += "\r\nContent-Type: ";
        out += response.content_type;
    }
    if (status >= 200 && status != 204) {
        out += "\r\nContent-Length: ";
        append_uint(out, response.body.size());
    }
    out += "\r\nX-Process-Time: ";
    char buf[32];
    double seconds = options.process_time_s > 0 ? options.process_time_s : 0.0;
    if (seconds > 1e9)
        seconds = 1e9;
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed, 6);
    if (ec == std::errc{}) {
        out.append(buf, end);
    } else {
        out += "0.000000";
    }
    out += options.keep_alive ? "\r\nConnection: keep-alive\r\n" : "\r\nConnection: close\r\n";
    out += response.extra_headers;
    out += "\r\n";
    if (send_body)
        out += response.body;
}

}  // namespace forkd::http
