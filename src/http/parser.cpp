// http/parser.cpp: llhttp plus the checks a server adds (see parser.hpp).
//
// Owns the llhttp callbacks and the mapping of every problem to a status.
// Must not touch sockets or the loop. Nothing here allocates per request once
// the target string has grown to its working size.
//
// llhttp is paused twice per request: in on_headers_complete, so that feed()
// knows exactly which bytes formed the head (to scan them for bare LF and
// bound their total) before it checks the head as a whole, and in
// on_message_complete, so that pipelined requests are handed out one at a
// time. Behaviour does not depend on llhttp's compile-time LLHTTP_STRICT_MODE:
// the checks below cover what its loose mode lets through (tested both ways).
#include "http/parser.hpp"

#include <cstdint>
#include <cstring>

namespace forkd::http {

namespace {

char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

bool iequals_prefix(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (lower(text[i]) != prefix[i])
            return false;
    }
    return true;
}

std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

Parser& self(llhttp_t* p)
{
    return *static_cast<Parser*>(p->data);
}

// Raw body bytes beyond the decoded size that chunk framing may add before we
// call the body too large (chunk sizes, CRLFs, trailers).
constexpr uint64_t framing_allowance = 64 * 1024;

}  // namespace

// The llhttp trampolines. llhttp is C: nothing may throw through it, and
// nothing here does.
struct ParserCallbacks {
    static int on_message_begin(llhttp_t* p) noexcept
    {
        Parser& s = self(p);
        s.phase_ = Parser::Phase::head;
        Request& r = s.request_;
        r.method = HTTP_GET;  // until llhttp has read the method
        r.version_major = 1;
        r.version_minor = 1;
        r.target.clear();
        r.path = {};
        r.query = {};
        r.keep_alive = true;
        r.start_ns = 0;
        r.user_agent.clear();
        r.referer.clear();
        s.method_bytes_ = 0;
        s.body_bytes_ = 0;
        s.body_raw_bytes_ = 0;
        s.fields_ = 0;
        s.field_bytes_ = 0;
        s.name_bytes_ = 0;
        s.hosts_ = 0;
        s.field_ = Parser::Field::other;
        s.expect_continue_ = false;
        s.continue_wanted_ = false;
        s.connection_close_ = false;
        return 0;
    }

    static int on_method(llhttp_t* p, const char*, std::size_t len) noexcept
    {
        self(p).method_bytes_ += len;
        return 0;
    }

    static int on_url(llhttp_t* p, const char* at, std::size_t len) noexcept
    {
        Parser& s = self(p);
        s.request_.method = static_cast<llhttp_method_t>(p->method);  // for error responses
        // method SP target SP "HTTP/1.1"
        if (s.method_bytes_ + 1 + s.request_.target.size() + len + 9 > s.limits_.request_line) {
            return s.fail(414, "request line too long");
        }
        s.request_.target.append(at, len);
        return 0;
    }

    static int on_version_complete(llhttp_t* p) noexcept
    {
        self(p).request_.version_major = p->http_major;
        self(p).request_.version_minor = p->http_minor;
        if (p->http_major != 1 || p->http_minor > 1) {
            return self(p).fail(505, "HTTP version not supported");
        }
        return 0;
    }

    static int on_header_field(llhttp_t* p, const char* at, std::size_t len) noexcept
    {
        Parser& s = self(p);
        s.field_bytes_ += len;
        if (s.field_bytes_ > s.limits_.request_field_size) {
            return s.fail(431, "header field too large");
        }
        for (std::size_t i = 0; i < len && s.name_bytes_ + i < sizeof s.name_; ++i) {
            s.name_[s.name_bytes_ + i] = lower(at[i]);
        }
        s.name_bytes_ += len;
        if (len > 0)
            s.last_name_char_ = at[len - 1];
        return 0;
    }

    static int on_header_field_complete(llhttp_t* p) noexcept
    {
        Parser& s = self(p);
        if (++s.fields_ > s.limits_.request_fields)
            return s.fail(431, "too many header fields");
        if (s.name_bytes_ == 0)
            return s.fail(400, "empty header field name");
        // llhttp (without its compile-time strict mode) accepts "Host : x";
        // RFC 9112 5.1 requires a 400: proxies disagree on such names.
        if (is_ows(s.last_name_char_))
            return s.fail(400, "whitespace before colon in header field");
        std::string_view name(s.name_, s.name_bytes_ < sizeof s.name_ ? s.name_bytes_ : sizeof s.name_);
        s.field_ = Parser::Field::other;
        if (s.phase_ == Parser::Phase::head && s.name_bytes_ == name.size()) {  // not in trailers
            if (name == "host") {
                s.field_ = Parser::Field::host;
                ++s.hosts_;
            } else if (name == "expect") {
                s.field_ = Parser::Field::expect;
            } else if (name == "user-agent") {
                s.field_ = Parser::Field::user_agent;
            } else if (name == "referer") {
                s.field_ = Parser::Field::referer;
            }
        }
        s.value_bytes_ = 0;
        return 0;
    }

    static int on_header_value(llhttp_t* p, const char* at, std::size_t len) noexcept
    {
        Parser& s = self(p);
        // obs-fold: llhttp reports the continuation line as more value, whose
        // first byte follows a line break. RFC 9112 5.2 lets a server reject it.
        char before = at > s.feed_begin_ ? at[-1] : s.prev_byte_;
        if (len > 0 && before == '\n')
            return s.fail(400, "obsolete line folding in header field");
        s.field_bytes_ += len;
        if (s.field_bytes_ > s.limits_.request_field_size) {
            return s.fail(431, "header field too large");
        }
        if (s.field_ == Parser::Field::expect) {
            for (std::size_t i = 0; i < len && s.value_bytes_ + i < sizeof s.value_; ++i) {
                s.value_[s.value_bytes_ + i] = lower(at[i]);
            }
        } else if (s.field_ == Parser::Field::user_agent) {
            s.request_.user_agent.append(at, len);  // bounded by request_field_size
        } else if (s.field_ == Parser::Field::referer) {
            s.request_.referer.append(at, len);
        }
        s.value_bytes_ += len;
        return 0;
    }

    static int on_header_value_complete(llhttp_t* p) noexcept
    {
        Parser& s = self(p);
        if (s.field_ == Parser::Field::expect && s.value_bytes_ <= sizeof s.value_) {
            std::string_view value = trim_ows({s.value_, s.value_bytes_});
            if (value == "100-continue")
                s.expect_continue_ = true;
        }
        s.field_ = Parser::Field::other;
        s.field_bytes_ = 0;
        s.name_bytes_ = 0;
        s.last_name_char_ = 0;
        return 0;
    }

    // feed() learns where the head ends, checks its bytes, then the head as a
    // whole (finish_headers), so that the order of checks does not depend on
    // how the bytes were split.
    static int on_headers_complete(llhttp_t* p) noexcept
    {
        self(p).phase_ = Parser::Phase::body;
        return HPE_PAUSED;
    }

    static int on_body(llhttp_t* p, const char*, std::size_t len) noexcept
    {
        Parser& s = self(p);
        s.body_bytes_ += len;
        if (s.limits_.max_body_size >= 0 && s.body_bytes_ > static_cast<uint64_t>(s.limits_.max_body_size)) {
            return s.fail(413, "request body too large");
        }
        return 0;
    }

    // Chunk extensions are framing, but a client could send them without
    // end: count them as body so that they are bounded too.
    static int on_chunk_extension(llhttp_t* p, const char* at, std::size_t len) noexcept { return on_body(p, at, len); }

    static int on_message_complete(llhttp_t* p) noexcept
    {
        Parser& s = self(p);
        // We never switch protocols: after an Upgrade (or any request that
        // llhttp would hand over to another protocol) nothing more is parsed.
        s.request_.keep_alive = llhttp_should_keep_alive(p) != 0 && p->upgrade == 0;
        s.connection_close_ = (p->flags & F_CONNECTION_CLOSE) != 0;
        s.continue_wanted_ = false;  // the body is here already
        s.phase_ = Parser::Phase::complete;
        return HPE_PAUSED;
    }

    static const llhttp_settings_t settings;
};

namespace {
llhttp_settings_t make_settings()
{
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = ParserCallbacks::on_message_begin;
    s.on_method = ParserCallbacks::on_method;
    s.on_url = ParserCallbacks::on_url;
    s.on_version_complete = ParserCallbacks::on_version_complete;
    s.on_header_field = ParserCallbacks::on_header_field;
    s.on_header_field_complete = ParserCallbacks::on_header_field_complete;
    s.on_header_value = ParserCallbacks::on_header_value;
    s.on_header_value_complete = ParserCallbacks::on_header_value_complete;
    s.on_headers_complete = ParserCallbacks::on_headers_complete;
    s.on_body = ParserCallbacks::on_body;
    s.on_chunk_extension_name = ParserCallbacks::on_chunk_extension;
    s.on_chunk_extension_value = ParserCallbacks::on_chunk_extension;
    s.on_message_complete = ParserCallbacks::on_message_complete;
    return s;
}
}  // namespace

const llhttp_settings_t ParserCallbacks::settings = make_settings();

Parser::Parser(const Limits& limits) : limits_(limits)
{
    llhttp_init(&llhttp_, HTTP_REQUEST, &ParserCallbacks::settings);
    llhttp_.data = this;
}

int Parser::fail(int status, const char* message)
{
    if (error_status_ == 0) {
        error_status_ = status;
        error_message_ = message;
    }
    phase_ = Phase::failed;
    continue_wanted_ = false;
    return HPE_USER;
}

// The head was complete: the checks that need all of it.
int Parser::finish_headers()
{
    request_.method = static_cast<llhttp_method_t>(llhttp_.method);
    request_.version_major = llhttp_.http_major;
    request_.version_minor = llhttp_.http_minor;
    bool http11 = llhttp_.http_minor == 1;

    // RFC 9112 3.2: exactly one Host in HTTP/1.1; never more than one.
    if (hosts_ > 1)
        return fail(400, "more than one Host header");
    if (http11 && hosts_ == 0)
        return fail(400, "missing Host header");
    if (request_.method == HTTP_CONNECT)
        return fail(400, "CONNECT is not supported");
    if (!resolve_target())
        return HPE_USER;

    // llhttp rejects Content-Length with Transfer-Encoding, duplicate
    // Content-Length, and a request Transfer-Encoding not ending in chunked.
    // An HTTP/1.0 message with Transfer-Encoding has faulty framing (RFC 9112 6.1).
    if (!http11 && (llhttp_.flags & F_TRANSFER_ENCODING) != 0) {
        return fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    }
    bool has_length = (llhttp_.flags & F_CONTENT_LENGTH) != 0;
    if (has_length && limits_.max_body_size >= 0 &&
        llhttp_.content_length > static_cast<uint64_t>(limits_.max_body_size)) {
        return fail(413, "request body too large");
    }
    bool body_follows = (llhttp_.flags & F_CHUNKED) != 0 || (has_length && llhttp_.content_length > 0);
    continue_wanted_ = expect_continue_ && http11 && body_follows;
    return 0;
}

// Reduce the request-target to origin-form (RFC 9112 3.2) and split it.
bool Parser::resolve_target()
{
    std::string& target = request_.target;
    if (target == "*") {
        if (request_.method != HTTP_OPTIONS) {
            fail(400, "asterisk-form request-target is only allowed with OPTIONS");
            return false;
        }
    } else if (target.empty() || target[0] != '/') {
        std::string_view t = target;
        std::size_t scheme = iequals_prefix(t, "http://") ? 7 : iequals_prefix(t, "https://") ? 8 : 0;
        if (scheme == 0) {
            fail(400, "invalid request-target");
            return false;
        }
        std::size_t path = t.find_first_of("/?", scheme);
        if (path == scheme) {  // no authority
            fail(400, "invalid request-target");
            return false;
        }
        if (path == std::string_view::npos)
            path = t.size();
        target.erase(0, path);
        if (target.empty() || target[0] != '/')
            target.insert(target.begin(), '/');
    }
    // llhttp lets some bytes through that a request-target may not hold
    // unencoded (RFC 3986): anything outside visible ASCII, and a fragment.
    for (char c : target) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#') {
            fail(400, "invalid character in request-target");
            return false;
        }
    }
    std::string_view view = target;
    std::size_t q = view.find('?');
    request_.path = view.substr(0, q);
    request_.query = q == std::string_view::npos ? std::string_view{} : view.substr(q + 1);
    return true;
}

// Every line of the head must end in CRLF: llhttp accepts a bare LF after the
// request line and at the end of the head, which RFC 9112 2.2 allows but
// which other parsers read differently.
bool Parser::check_head_bytes(const char* data, std::size_t len)
{
    const char* end = data + len;
    for (const char* p = data; (p = static_cast<const char*>(std::memchr(p, '\n', end - p))) != nullptr; ++p) {
        char before = p > data ? p[-1] : prev_byte_;
        if (before != '\r') {
            fail(400, "bare LF in request head");
            return false;
        }
    }
    head_bytes_ += len;
    if (head_bytes_ > limits_.head_bytes()) {
        fail(431, "request head too large");
        return false;
    }
    return true;
}

Parser::Event Parser::feed(const char* data, std::size_t len, std::size_t& consumed)
{
    consumed = 0;
    switch (phase_) {
    case Phase::done: return Event::done;
    case Phase::failed: return Event::error;
    case Phase::complete: return Event::request;  // next() was not called
    default: break;
    }
    std::size_t pos = 0;
    for (;;) {
        bool in_head = phase_ == Phase::idle || phase_ == Phase::head;
        feed_begin_ = data + pos;
        llhttp_errno_t err = llhttp_execute(&llhttp_, data + pos, len - pos);
        std::size_t used = len - pos;
        if (err == HPE_PAUSED)
            used = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - (data + pos));
        if (err == HPE_OK || err == HPE_PAUSED) {
            if (in_head) {
                if (!check_head_bytes(data + pos, used))
                    break;
                if (phase_ == Phase::body && finish_headers() != 0)
                    break;
            } else if (phase_ == Phase::body && limits_.max_body_size >= 0) {
                body_raw_bytes_ += used;
                auto max_body = static_cast<uint64_t>(limits_.max_body_size);
                uint64_t raw_bound =
                    max_body > (UINT64_MAX - framing_allowance) / 2 ? UINT64_MAX : 2 * max_body + framing_allowance;
                if (body_raw_bytes_ > raw_bound) {
                    fail(413, "request body too large");
                    break;
                }
            }
            if (used > 0)
                prev_byte_ = data[pos + used - 1];
            pos += used;
            consumed = pos;
        }
        if (err == HPE_OK)
            return Event::need_more;
        if (err == HPE_PAUSED) {
            llhttp_resume(&llhttp_);
            if (phase_ == Phase::complete)
                return Event::request;
            continue;  // paused after the head: go on with the body
        }
        if (err == HPE_PAUSED_UPGRADE) {  // not reached: keep_alive is false after an upgrade
            phase_ = Phase::done;
            return Event::done;
        }
        if (error_status_ == 0) {
            if (err == HPE_PAUSED_H2_UPGRADE ||
                (err == HPE_INVALID_VERSION &&
                 std::strcmp(llhttp_get_error_reason(&llhttp_), "Invalid HTTP version") == 0)) {
                fail(505, "HTTP version not supported");
            } else {
                fail(400, "malformed request");
                const char* reason = llhttp_get_error_reason(&llhttp_);
                if (reason != nullptr && *reason != '\0') {
                    error_message_ += ": ";
                    for (const char* c = reason; *c != '\0' && error_message_.size() < 120; ++c) {
                        // llhttp's reasons are literals, but keep the body plain ASCII anyway.
                        error_message_ += (*c >= 0x20 && *c < 0x7f && *c != '`') ? *c : '\'';
                    }
                }
            }
        }
        break;
    }
    phase_ = Phase::failed;
    return Event::error;
}

void Parser::next()
{
    if (phase_ != Phase::complete)
        return;
    head_bytes_ = 0;
    if (!request_.keep_alive) {
        phase_ = Phase::done;
        return;
    }
    phase_ = Phase::idle;
}

}  // namespace forkd::http
