// http/validate.hpp: the RFC 9112 / 9110 checks on request bytes that llhttp
// (Debian's 8.1, built loose) leaves to the server, as pure functions and a
// small scanner.
//
// Owns what a valid authority is (the Host field and an absolute-form
// target: RFC 9112 3.2, RFC 9110 4.2 and 7.2, RFC 3986 3.2) and the line
// discipline of a request head and of chunked framing (RFC 9112 2.2, 3 and
// 7.1): every line ends in CRLF, no bare CR or LF, one SP between the parts
// of the request line, CRLF after each chunk's data. Each check returns the
// reason for the 400, or nullptr.
// Must not allocate (it runs on every request), know llhttp's state, or
// touch a connection: the parser calls it with the bytes it was fed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forkd::http::validate {

// `authority` (without OWS) as the Host field value or the authority of an
// absolute-form target: host [ ":" port ], no userinfo, path, query or list;
// host a reg-name, an IPv4 address or an IP literal ("[::1]"); port digits
// up to 65535. `allow_empty`: an empty Host field is valid (a target without
// authority); an empty host with a port never is.
const char* authority_problem(std::string_view authority, bool allow_empty);

// The line discipline of one request's head and, when chunked, its body
// framing, fed in order as the bytes arrive (spans may split anywhere).
// Chunk data is not scanned: data_end() and data() mark it.
class LineScanner {
public:
    // A new request: its request line comes next (after any empty lines).
    void reset()
    {
        state_ = State::line_start;
        seen_request_line_ = false;
        in_body_ = false;
    }
    // The head is done and a chunked body follows: what comes is framing.
    void start_body() { in_body_ = true; }

    // Scan framing or head bytes. nullptr, or the reason to reject.
    const char* scan(const char* data, std::size_t len);

    // Chunk data was skipped: `complete` says whether the chunk's data has
    // ended, so that CRLF must follow. nullptr, or the reason.
    const char* data(bool complete);

    // The head is complete: nothing may be left half-checked (a CR whose LF
    // never came). nullptr, or the reason.
    const char* head_end() const;

private:
    enum class State : uint8_t {
        line_start,     // before the request line, or at the start of a later line
        request_line,   // inside the request line, after a byte other than SP
        request_sp,     // inside the request line, right after a SP
        text,           // inside a header line or framing
        after_cr,       // a CR: LF must follow
        after_data,     // the end of a chunk's data: CR LF must follow
        after_data_cr,  // the CR after a chunk's data: LF must follow
    };
    State state_ = State::line_start;
    bool seen_request_line_ = false;
    bool in_body_ = false;
};

}  // namespace forkd::http::validate
