// http/validate.cpp: authorities and the line discipline (see validate.hpp).
//
// Byte by byte over what the parser was fed; nothing is stored but the
// scanner's state, nothing is allocated.
#include "http/validate.hpp"

#include <arpa/inet.h>

#include <array>
#include <cstring>

namespace forkd::http::validate {

namespace {

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 3986 unreserved and sub-delims, less ',': a comma in Host is a list of
// hosts to some parsers and one odd name to others, so it is refused. A
// table: the Host of every request goes through it.
constexpr std::array<bool, 256> host_chars = [] {
    std::array<bool, 256> t{};
    for (int c = 'a'; c <= 'z'; ++c)
        t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c)
        t[c] = true;
    for (int c = '0'; c <= '9'; ++c)
        t[c] = true;
    for (char c : std::string_view("-._~!$&'()*+;="))
        t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool is_host_char(char c)
{
    return host_chars[static_cast<unsigned char>(c)];
}

// reg-name = *( unreserved / pct-encoded / sub-delims ); IPv4 addresses are reg-names too.
const char* reg_name_problem(std::string_view host)
{
    for (std::size_t i = 0; i < host.size(); ++i) {
        char c = host[i];
        if (is_host_char(c))
            continue;
        if (c == '%') {
            if (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2]))
                return "invalid percent-encoding in host";
            i += 2;
            continue;
        }
        if (c == '@')
            return "userinfo in authority";
        if (c == ',')
            return "a list of hosts in authority";
        if (c == '/' || c == '?' || c == '#')
            return "path or query in authority";
        return "invalid character in host";
    }
    return nullptr;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]", the brackets removed.
const char* ip_literal_problem(std::string_view inside)
{
    if (!inside.empty() && (inside[0] == 'v' || inside[0] == 'V')) {
        // IPvFuture = "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        std::size_t i = 1;
        while (i < inside.size() && is_hex(inside[i]))
            ++i;
        if (i == 1 || i >= inside.size() || inside[i] != '.' || i + 1 == inside.size())
            return "invalid IP literal in host";
        for (++i; i < inside.size(); ++i) {
            char c = inside[i];
            if (!is_host_char(c) && c != ':')
                return "invalid IP literal in host";
        }
        return nullptr;
    }
    char text[INET6_ADDRSTRLEN + 1];
    in6_addr addr;
    if (inside.size() >= sizeof text)
        return "invalid IPv6 address in host";
    std::memcpy(text, inside.data(), inside.size());
    text[inside.size()] = '\0';
    if (inet_pton(AF_INET6, text, &addr) != 1)
        return "invalid IPv6 address in host";
    return nullptr;
}

const char* port_problem(std::string_view port)
{
    // RFC 3986 allows an empty port ("host:"); digits beyond 65535 name no port.
    if (port.size() > 5)
        return "invalid port in authority";
    unsigned value = 0;
    for (char c : port) {
        if (!is_digit(c))
            return "invalid port in authority";
        value = value * 10 + unsigned(c - '0');
    }
    return value > 65535 ? "invalid port in authority" : nullptr;
}

}  // namespace

const char* authority_problem(std::string_view authority, bool allow_empty)
{
    if (authority.empty())
        return allow_empty ? nullptr : "empty authority";
    std::string_view host = authority;
    std::string_view port;
    bool has_port = false;
    if (authority[0] == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return "invalid IP literal in host";
        if (const char* problem = ip_literal_problem(authority.substr(1, close - 1)))
            return problem;
        std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':')
                return rest.find('@') != std::string_view::npos ? "userinfo in authority" : "invalid character in host";
            has_port = true;
            port = rest.substr(1);
        }
        host = {};
    } else {
        std::size_t colon = authority.rfind(':');
        if (colon != std::string_view::npos) {
            host = authority.substr(0, colon);
            port = authority.substr(colon + 1);
            has_port = true;
            // "user:pass@host" and "a:1:2" are caught here or by the host's characters.
            if (authority.find('@') != std::string_view::npos)
                return "userinfo in authority";
        }
        if (const char* problem = reg_name_problem(host))
            return problem;
        if (host.empty())
            return "empty host in authority";
    }
    if (has_port) {
        if (const char* problem = port_problem(port))
            return problem;
    }
    return nullptr;
}

const char* LineScanner::scan(const char* data, std::size_t len)
{
    const char* bare_cr = in_body_ ? "bare CR in chunked body" : "bare CR in request head";
    const char* bare_lf = in_body_ ? "bare LF in chunked body" : "bare LF in request head";
    const char* end = data + len;
    for (const char* p = data; p < end; ++p) {
        char c = *p;
        switch (state_) {
        case State::text:
            // The common case, kept tight: most of a head is text, and most
            // text bytes are above CR.
            while ((static_cast<unsigned char>(c) > '\r' || (c != '\r' && c != '\n')) && ++p < end)
                c = *p;
            if (p == end)
                return nullptr;
            if (c == '\n')
                return bare_lf;
            state_ = State::after_cr;
            break;
        case State::after_cr:
        case State::after_data_cr:
            if (c != '\n')
                return bare_cr;
            state_ = State::line_start;
            break;
        case State::after_data:
            if (c != '\r')
                return "chunk data not followed by CRLF";
            state_ = State::after_data_cr;
            break;
        case State::line_start:
            if (c == '\r') {
                state_ = State::after_cr;
            } else if (c == '\n') {
                return bare_lf;
            } else if (!seen_request_line_) {
                seen_request_line_ = true;
                state_ = c == ' ' ? State::request_sp : State::request_line;
            } else {
                state_ = State::text;
            }
            break;
        case State::request_line:
        case State::request_sp: {
            // The whole request line in one tight loop, the state in a register.
            bool after_sp = state_ == State::request_sp;
            for (;;) {
                if (static_cast<unsigned char>(c) > ' ') {
                    after_sp = false;
                } else if (c == ' ') {
                    // RFC 9112 3: one SP between method, target and version.
                    if (after_sp)
                        return "more than one space in request line";
                    after_sp = true;
                } else if (c == '\r') {
                    state_ = State::after_cr;
                    break;
                } else if (c == '\n') {
                    return bare_lf;
                } else {
                    after_sp = false;  // other controls are the parser's to refuse
                }
                if (++p == end) {
                    state_ = after_sp ? State::request_sp : State::request_line;
                    return nullptr;
                }
                c = *p;
            }
            break;
        }
        }
    }
    return nullptr;
}

const char* LineScanner::data(bool complete)
{
    if (state_ != State::line_start)
        return state_ == State::after_cr ? "bare CR in chunked body" : "chunk data not after CRLF";
    if (complete)
        state_ = State::after_data;
    return nullptr;
}

const char* LineScanner::head_end() const
{
    return state_ == State::line_start ? nullptr : "bare CR in request head";
}

}  // namespace forkd::http::validate
