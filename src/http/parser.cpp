// http/parser.cpp: the checks llhttp leaves to a server, and driving llhttp
// (see parser.hpp).
//
// Owns feed() and next(), the checks on a complete head (Host and its
// authority, CONNECT, request-target forms and authority, the HTTP version,
// Transfer-Encoding in HTTP/1.0, the Content-Length limit, 100-continue),
// feeding the head and chunked framing to the line scanner (bare CR and LF,
// one SP in the request line, CRLF after chunk data: http/validate.hpp),
// the head size, the raw body bound, and the mapping of every problem to a
// status. The llhttp callbacks are in parser_callbacks.cpp.
// Must not touch sockets or the loop. Nothing here allocates per request once
// the target and Host strings have grown to their working size. What is
// rejected does not depend on llhttp's compile-time LLHTTP_STRICT_MODE: the
// checks here and in the callbacks cover what its loose mode (Debian's
// build) lets through; in strict mode llhttp words some of the same 400s.
#include "http/parser.hpp"

#include <cstdint>
#include <cstring>

#include "http/ascii.hpp"

namespace forkd::http {

using ascii::iequals_prefix;

namespace {

// "Host header: userinfo in authority"; the message lives as long as the
// parser's error (fail() copies it).
std::string problem_in(const char* where, const char* problem)
{
    return std::string(where) + ": " + problem;
}

// Raw body bytes beyond the decoded size that chunk framing may add before we
// call the body too large (chunk sizes, CRLFs, trailers).
constexpr uint64_t framing_allowance = 64 * 1024;

}  // namespace

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
    // llhttp takes a request line without a version as HTTP/0.9, which has
    // no head, no status line and no RFC that a server still owes it.
    if (llhttp_.http_major != 1)
        return fail(400, "request line without HTTP version (HTTP/0.9 is not supported)");

    // RFC 9112 3.2: exactly one Host in HTTP/1.1; never more than one.
    if (hosts_ > 1)
        return fail(400, "more than one Host header");
    if (http11 && hosts_ == 0)
        return fail(400, "missing Host header");
    // RFC 9112 3.2 and RFC 9110 7.2: a Host value that is not a valid
    // authority is a 400, whatever the request-target says.
    if (hosts_ == 1) {
        if (const char* problem = validate::authority_problem(ascii::trim_ows(host_), true))
            return fail(400, problem_in("Host header", problem).c_str());
    }
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
    if ((llhttp_.flags & F_CHUNKED) != 0)
        lines_.start_body();
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
        // RFC 9112 3.2.2: this authority is the one that counts (the Host
        // field is checked too, but not used); it must be a valid one.
        if (const char* problem = validate::authority_problem(t.substr(scheme, path - scheme), false)) {
            fail(400, problem_in("request-target", problem).c_str());
            return false;
        }
        target.erase(0, path);
        if (target.empty() || target[0] != '/')
            target.insert(target.begin(), '/');
    }
    // llhttp lets some bytes through that a request-target may not hold
    // unencoded (RFC 3986 2 and 3.5): anything outside visible ASCII, a
    // fragment, and the delimiters no URI holds (RFC 9112 3.2: 400 rather
    // than guess what was meant).
    for (char c : target) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == '#' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
            c == '`' || c == '{' || c == '|' || c == '}') {
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
// which other parsers read differently, and (built loose) it takes a CR
// followed by anything as the end of the head. RFC 9112 2.2: a bare CR is
// invalid. Also one SP between the parts of the request line (RFC 9112 3).
bool Parser::check_head_bytes(const char* data, std::size_t len)
{
    if (const char* problem = lines_.scan(data, len)) {
        fail(400, problem);
        return false;
    }
    head_bytes_ += len;
    if (head_bytes_ > limits_.head_bytes()) {
        fail(431, "request head too large");
        return false;
    }
    return true;
}

// The framing of a chunked body from framing_from_ to `end`: llhttp built
// loose skips the two bytes after a chunk's data unseen, and a CR without
// its LF in a chunk line; parser_callbacks.cpp's on_body marks the data.
bool Parser::check_framing(const char* end)
{
    if ((llhttp_.flags & F_CHUNKED) == 0 || framing_from_ == nullptr || end < framing_from_)
        return true;
    const char* problem = lines_.scan(framing_from_, static_cast<std::size_t>(end - framing_from_));
    framing_from_ = end;
    if (problem != nullptr) {
        fail(400, problem);
        return false;
    }
    return true;
}

// llhttp stopped at `error_pos`: the bytes before it may hold a problem of
// our own, which then comes first, so that the answer does not depend on
// how the bytes were split into reads.
void Parser::check_before_error(const char* data, const char* error_pos, bool in_head)
{
    if (error_pos == nullptr || error_pos < data)
        return;
    if (in_head) {
        if (const char* problem = lines_.scan(data, static_cast<std::size_t>(error_pos - data)))
            fail(400, problem);
    } else if (phase_ == Phase::body) {
        check_framing(error_pos);
    }
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
        framing_from_ = data + pos;
        llhttp_errno_t err = llhttp_execute(&llhttp_, data + pos, len - pos);
        std::size_t used = len - pos;
        if (err == HPE_PAUSED)
            used = static_cast<std::size_t>(llhttp_get_error_pos(&llhttp_) - (data + pos));
        if (err == HPE_OK || err == HPE_PAUSED) {
            if (in_head) {
                if (!check_head_bytes(data + pos, used))
                    break;
                if (phase_ == Phase::body) {
                    if (const char* problem = lines_.head_end()) {
                        fail(400, problem);
                        break;
                    }
                    if (finish_headers() != 0)
                        break;
                }
            } else if (!check_framing(data + pos + used)) {
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
        if (error_status_ == 0 && err != HPE_USER)
            check_before_error(data + pos, llhttp_get_error_pos(&llhttp_), in_head);
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
    lines_.reset();
    if (!request_.keep_alive) {
        phase_ = Phase::done;
        return;
    }
    phase_ = Phase::idle;
}

}  // namespace forkd::http
