// http/parser_callbacks.cpp: the llhttp side of the parser (see parser.hpp).
//
// Owns the llhttp settings, the callbacks that collect a request (method,
// target, version, the few header fields we keep) and the checks that must
// happen while bytes arrive (request-line, field and body limits, obs-fold,
// whitespace before a colon), and the parser's construction.
// Must not check the head as a whole or drive llhttp: parser.cpp does (feed,
// finish_headers). Must not touch sockets or the loop.
//
// llhttp is paused twice per request: in on_headers_complete, so that feed()
// knows exactly which bytes formed the head (to scan them for bare LF and
// bound their total) before it checks the head as a whole, and in
// on_message_complete, so that pipelined requests are handed out one at a
// time.
#include "http/parser.hpp"

#include <cstdint>

#include "http/ascii.hpp"

namespace forkd::http {

using ascii::is_ows;
using ascii::lower;

namespace {

Parser& self(llhttp_t* p)
{
    return *static_cast<Parser*>(p->data);
}

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
        r.raw_target.clear();
        r.field_count = 0;
        r.body.clear();
        s.method_bytes_ = 0;
        s.body_bytes_ = 0;
        s.body_raw_bytes_ = 0;
        s.fields_ = 0;
        s.field_bytes_ = 0;
        s.name_bytes_ = 0;
        s.hosts_ = 0;
        s.host_.clear();
        s.te_token_bytes_ = 0;
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
        if (s.limits_.keep_request)
            s.request_.raw_target.append(at, len);
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
        if (s.limits_.keep_request && s.phase_ == Parser::Phase::head)
            keep_name(s.request_, s.name_bytes_ == 0, at, len);
        // llhttp checks the names of the head's fields, not of trailers (RFC 9110 5.1: a token).
        if (s.phase_ == Parser::Phase::body) {
            for (std::size_t i = 0; i < len; ++i) {
                if (!ascii::is_tchar(at[i]))
                    return s.fail(400, "invalid character in trailer field name");
            }
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
            } else if (name == "transfer-encoding") {
                s.field_ = Parser::Field::transfer_encoding;
                s.te_token_bytes_ = 0;
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
        if (s.limits_.keep_request && s.phase_ == Parser::Phase::head && s.request_.field_count > 0)
            s.request_.fields[s.request_.field_count - 1].value.append(at, len);
        if (s.field_ == Parser::Field::expect) {
            for (std::size_t i = 0; i < len && s.value_bytes_ + i < sizeof s.value_; ++i) {
                s.value_[s.value_bytes_ + i] = lower(at[i]);
            }
        } else if (s.field_ == Parser::Field::user_agent) {
            s.request_.user_agent.append(at, len);  // bounded by request_field_size
        } else if (s.field_ == Parser::Field::referer) {
            s.request_.referer.append(at, len);
        } else if (s.field_ == Parser::Field::host) {
            s.host_.append(at, len);  // bounded by request_field_size; a second Host is a 400 anyway
        } else if (s.field_ == Parser::Field::transfer_encoding) {
            for (std::size_t i = 0; i < len; ++i)
                s.te_token_bytes_ += is_ows(at[i]) ? 0 : 1;
        }
        s.value_bytes_ += len;
        return 0;
    }

    static int on_header_value_complete(llhttp_t* p) noexcept
    {
        Parser& s = self(p);
        if (s.field_ == Parser::Field::expect && s.value_bytes_ <= sizeof s.value_) {
            std::string_view value = ascii::trim_ows({s.value_, s.value_bytes_});
            if (value == "100-continue")
                s.expect_continue_ = true;
        }
        // An empty Transfer-Encoding names no coding: llhttp lets it pass
        // without framing the body, another parser may not (RFC 9112 6.1).
        if (s.field_ == Parser::Field::transfer_encoding && s.te_token_bytes_ == 0)
            return s.fail(400, "empty Transfer-Encoding header");
        if (s.limits_.keep_request && s.phase_ == Parser::Phase::head && s.request_.field_count > 0) {
            std::string& value = s.request_.fields[s.request_.field_count - 1].value;
            while (!value.empty() && is_ows(value.back()))
                value.pop_back();
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

    static int on_body(llhttp_t* p, const char* at, std::size_t len) noexcept
    {
        Parser& s = self(p);
        if ((p->flags & F_CHUNKED) != 0 && at != nullptr) {
            // The framing before this chunk data, then the data itself:
            // CRLF must follow it once it is complete (content_length is
            // what is left of this chunk).
            if (!s.check_framing(at))
                return HPE_USER;
            if (const char* problem = s.lines_.data(p->content_length == 0))
                return s.fail(400, problem);
            s.framing_from_ = at + len;
        }
        if (s.limits_.keep_request)
            keep_body(s, at, len);
        return count_body(s, len);
    }

    // A field of the head begins (`first`: the first piece of its name) or goes on.
    static void keep_name(Request& r, bool first, const char* at, std::size_t len)
    {
        if (first) {
            if (r.field_count == r.fields.size())
                r.fields.emplace_back();
            Request::Field& f = r.fields[r.field_count++];
            f.name.clear();
            f.value.clear();
        }
        r.fields[r.field_count - 1].name.append(at, len);
    }

    // Up to max_body_size (beyond it the request is a 413 anyway), or
    // max_kept_body when the size is unlimited: the rest is not kept.
    static void keep_body(Parser& s, const char* at, std::size_t len)
    {
        std::size_t cap =
            s.limits_.max_body_size >= 0 ? static_cast<std::size_t>(s.limits_.max_body_size) : Limits::max_kept_body;
        std::size_t room = cap > s.request_.body.size() ? cap - s.request_.body.size() : 0;
        s.request_.body.append(at, len < room ? len : room);
    }

    static int count_body(Parser& s, std::size_t len) noexcept
    {
        s.body_bytes_ += len;
        if (s.limits_.max_body_size >= 0 && s.body_bytes_ > static_cast<uint64_t>(s.limits_.max_body_size)) {
            return s.fail(413, "request body too large");
        }
        return 0;
    }

    // Chunk extensions are framing (scanned as such), but a client could
    // send them without end: count them as body so that they are bounded too.
    static int on_chunk_extension(llhttp_t* p, const char*, std::size_t len) noexcept
    {
        return count_body(self(p), len);
    }

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

}  // namespace forkd::http
