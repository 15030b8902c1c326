// http/parser.hpp: the request parser of one connection, without any I/O.
//
// Owns llhttp (strict: no lenient flag is ever set) and the checks that
// llhttp leaves to a server: request-line, header and body limits (414, 431,
// 413), Host (exactly one in HTTP/1.1, a valid authority: 400), HTTP versions
// (505; none at all, HTTP/0.9: 400), request-target forms and the authority
// of an absolute-form target, request smuggling (Content-Length with
// Transfer-Encoding, duplicate Content-Length, an empty Transfer-Encoding or
// one not ending in chunked, whitespace before a colon, obs-fold, bare CR or
// LF in the head or in chunked framing, chunk data without its CRLF, more
// than one SP in the request line, trailer names that are no token), and
// what follows a request that ends the connection. Every reject is a 400
// (or the status above) with a reason, then close.
// Bodies are counted and discarded, never stored, unless Limits::keep_request
// (/echo) asks for the fields and body in the Request.
// Must not touch sockets, timers or the loop: the connection feeds it bytes.
//
// Use: feed() bytes; it consumes up to the end of one complete request and
// stops (llhttp is paused in on_message_complete) so that pipelined requests
// are answered one at a time. The caller keeps the unconsumed bytes, handles
// request(), calls next(), and feeds the rest. After an error the parser is
// dead: error_status() is the status to answer with, then close.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <llhttp.h>

#include "http/limits.hpp"
#include "http/request.hpp"
#include "http/validate.hpp"

namespace forkd::http {

class Parser {
public:
    enum class Event {
        need_more,  // everything was consumed; the request is not complete yet
        request,    // request() is complete; call next() once it is answered
        error,      // error_status() / error_message(); nothing more is parsed
        done,       // the previous request ended the connection; nothing is parsed
    };
    enum class Phase {
        idle,      // nothing of the next request seen yet (between requests)
        head,      // inside a request line or header fields
        body,      // headers complete, reading (and discarding) the body
        complete,  // a request is complete and waits for next()
        done,      // the last request ended the connection
        failed,    // an error was found
    };

    // `limits` must outlive the parser.
    explicit Parser(const Limits& limits);
    Parser(const Parser&) = delete;
    Parser& operator=(const Parser&) = delete;

    // Parse from `data`; `consumed` is how many bytes were used (the rest
    // belongs to the next request and must be fed again after next()).
    Event feed(const char* data, std::size_t len, std::size_t& consumed);

    // After Event::request has been answered: get ready for the next request
    // (or stay done if the request did not allow another one).
    void next();

    Phase phase() const { return phase_; }
    Request& request() { return request_; }
    const Request& request() const { return request_; }

    int error_status() const { return error_status_; }  // 0 unless failed
    std::string_view error_message() const { return error_message_; }

    // The current request said "Expect: 100-continue" (HTTP/1.1 only).
    bool expect_continue() const { return expect_continue_; }
    // True once, when a "100 Continue" should be sent now: the headers asked
    // for it and the body has not arrived yet.
    bool take_continue()
    {
        bool wanted = continue_wanted_;
        continue_wanted_ = false;
        return wanted;
    }
    // The current request carried "Connection: close".
    bool connection_close() const { return connection_close_; }

private:
    friend struct ParserCallbacks;  // the llhttp trampolines (parser_callbacks.cpp)

    enum class Field : uint8_t { other, host, expect, user_agent, referer, transfer_encoding };

    int fail(int status, const char* message);
    bool check_head_bytes(const char* data, std::size_t len);
    bool check_framing(const char* end);
    void check_before_error(const char* data, const char* error_pos, bool in_head);
    int finish_headers();
    bool resolve_target();

    const Limits& limits_;
    llhttp_t llhttp_;
    Request request_;
    Phase phase_ = Phase::idle;

    // Per request.
    std::size_t method_bytes_ = 0;
    std::size_t head_bytes_ = 0;   // raw bytes of the head so far
    uint64_t body_bytes_ = 0;      // decoded body bytes (and chunk extensions)
    uint64_t body_raw_bytes_ = 0;  // raw bytes consumed while in the body
    std::size_t fields_ = 0;
    std::size_t field_bytes_ = 0;  // name + value of the current field
    std::size_t name_bytes_ = 0;
    int hosts_ = 0;
    std::string host_;                // the Host field's value (kept at its working size: no allocation per request)
    std::size_t te_token_bytes_ = 0;  // bytes other than OWS in the current Transfer-Encoding value
    validate::LineScanner lines_;     // CRLF discipline of the head and of chunked framing
    Field field_ = Field::other;
    char last_name_char_ = 0;
    char name_[24] = {};   // lower-cased start of the current field name
    char value_[16] = {};  // lower-cased start of an interesting value
    std::size_t value_bytes_ = 0;
    bool expect_continue_ = false;
    bool continue_wanted_ = false;
    bool connection_close_ = false;

    // Per feed: where the current buffer starts (for the byte before a span).
    const char* feed_begin_ = nullptr;
    const char* framing_from_ = nullptr;  // chunked body: framing from here on is not scanned yet
    char prev_byte_ = '\n';               // the last byte consumed before feed_begin_

    int error_status_ = 0;
    std::string error_message_;
};

}  // namespace forkd::http
