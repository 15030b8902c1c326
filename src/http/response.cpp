// http/response.cpp: the wire format of a response (see response.hpp).
//
// Owns the status line, the fixed header set, and JSON error bodies.
// Must not touch sockets or connections. The status line and the constant
// headers are formatted once per status at start-up; a response copies them,
// Date's cached value and its numbers (std::to_chars and integer arithmetic:
// no locale, no floating-point formatting) into room sized once at the end
// of the caller's buffer, so a connection that reuses its buffer serialises
// without allocating.
#include "http/response.hpp"

#include <charconv>
#include <cstring>

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

struct Reason {
    int status;
    std::string_view text;
};

// Every status we may send, with its standard reason phrase; 200 first, so
// that the common answer is found at the first comparison.
constexpr Reason reasons[] = {
    {200, "OK"},
    {100, "Continue"},
    {101, "Switching Protocols"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};
constexpr std::size_t reason_count = sizeof reasons / sizeof reasons[0];

constexpr std::string_view head_end = "\r\nServer: forkd\r\nDate: ";

// "HTTP/1.1 200 OK\r\nServer: forkd\r\nDate: " for each row of reasons,
// formatted once, so a response starts with one copy.
// `longest` is also at least the length of a head formatted on the spot.
struct StatusHeads {
    std::string text[reason_count];
    std::size_t longest = 9 + 3 + 8 + head_end.size();  // "HTTP/1.1 " "299" " Unknown"
    StatusHeads()
    {
        for (std::size_t i = 0; i < reason_count; ++i) {
            text[i] = "HTTP/1.1 ";
            append_uint(text[i], static_cast<uint64_t>(reasons[i].status));
            text[i] += ' ';
            text[i] += reasons[i].text;
            text[i] += head_end;
            longest = text[i].size() > longest ? text[i].size() : longest;
        }
    }
};

const StatusHeads status_heads;

// Writes a response head into room the caller has sized: plain copies, no
// capacity checks on the way (serialize() sizes the room for the longest head).
struct Writer {
    char* p;

    void put(std::string_view text)
    {
        std::memcpy(p, text.data(), text.size());
        p += text.size();
    }
    void put_uint(uint64_t value) { p = std::to_chars(p, p + 20, value).ptr; }  // 20 digits hold 64 bits
    // Seconds with six decimals ("0.000042"), from integer microseconds
    // rather than a floating-point conversion.
    void put_seconds_6(double seconds)
    {
        if (!(seconds > 0))  // also NaN
            seconds = 0;
        if (seconds > 1e9)
            seconds = 1e9;
        const auto micros = static_cast<uint64_t>(seconds * 1e6 + 0.5);
        put_uint(micros / 1000000);
        *p++ = '.';
        uint64_t rest = micros % 1000000;
        for (int i = 6; i-- > 0;) {
            p[i] = static_cast<char>('0' + rest % 10);
            rest /= 10;
        }
        p += 6;
    }
};
constexpr std::size_t max_uint_digits = 20;
constexpr std::size_t max_seconds_6 = 10 + 1 + 6;  // capped at 1e9 s

// The status line and the constant headers up to Date's value: one of
// status_heads, or for a status outside the table (an app's mistake)
// "Unknown" with the status (500 when it is not three digits).
void put_status_head(Writer& w, int status)
{
    for (std::size_t i = 0; i < reason_count; ++i) {
        if (reasons[i].status == status) {
            w.put(status_heads.text[i]);
            return;
        }
    }
    w.put("HTTP/1.1 ");
    w.put_uint(status > 0 && status < 1000 ? static_cast<uint64_t>(status) : 500);
    w.put(" Unknown");
    w.put(head_end);
}

}  // namespace

std::string_view reason_phrase(int status)
{
    for (const Reason& r : reasons) {
        if (r.status == status)
            return r.text;
    }
    return "Unknown";
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
    const int status = response.status;
    // RFC 9110 6.4.1: 1xx, 204 and 304 have no content, and 1xx/204 no Content-Length.
    const bool no_content = status < 200 || status == 204 || status == 304;
    const bool send_body = !no_content && !options.head_only;
    const std::string_view date = date::current();
    constexpr std::string_view content_type = "\r\nContent-Type: ";
    constexpr std::string_view content_length = "\r\nContent-Length: ";
    constexpr std::string_view process_time = "\r\nX-Process-Time: ";
    constexpr std::string_view keep_alive = "\r\nConnection: keep-alive\r\n";
    constexpr std::string_view close = "\r\nConnection: close\r\n";

    // Size the room for the longest head once, write into it, then cut it
    // to what was written: one resize instead of an append per piece.
    const std::size_t before = out.size();
    const std::size_t room = status_heads.longest + date.size() + content_type.size() + response.content_type.size() +
                             content_length.size() + max_uint_digits + process_time.size() + max_seconds_6 +
                             keep_alive.size() + response.extra_headers.size() + 2 +
                             (send_body ? response.body.size() : 0);
    out.resize(before + room);
    Writer w{out.data() + before};
    put_status_head(w, status);
    w.put(date);
    if (!no_content) {
        w.put(content_type);
        w.put(response.content_type);
    }
    if (status >= 200 && status != 204) {
        w.put(content_length);
        w.put_uint(response.body.size());
    }
    w.put(process_time);
    w.put_seconds_6(options.process_time_s);
    w.put(options.keep_alive ? keep_alive : close);
    w.put(response.extra_headers);
    w.put("\r\n");
    if (send_body)
        w.put(response.body);
    out.resize(static_cast<std::size_t>(w.p - out.data()));
}

}  // namespace forkd::http
