// tests/unit/http/test_validate.cpp: http/validate.cpp, the authority rules
// and the line scanner, one rule per case. The scanner is also fed every
// input split at every byte: its verdict must not depend on the reads.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "http/validate.hpp"

using forkd::http::validate::authority_problem;
using forkd::http::validate::LineScanner;

namespace {

std::string problem(std::string_view authority, bool allow_empty = true)
{
    const char* p = authority_problem(authority, allow_empty);
    return p == nullptr ? "" : p;
}

// Scan a head in two pieces split at `split`; the first problem, or "".
std::string scan_head(std::string_view head, std::size_t split)
{
    LineScanner lines;
    lines.reset();
    for (std::string_view piece : {head.substr(0, split), head.substr(split)}) {
        if (const char* p = lines.scan(piece.data(), piece.size()))
            return p;
    }
    const char* end = lines.head_end();
    return end == nullptr ? "" : end;
}

std::string scan_head_every_split(std::string_view head)
{
    std::string first = scan_head(head, 0);
    for (std::size_t split = 1; split <= head.size(); ++split) {
        CAPTURE(split);
        CHECK(scan_head(head, split) == first);
    }
    return first;
}

}  // namespace

TEST_CASE("validate: valid authorities")
{
    for (std::string_view ok : {"example.com", "example.com:8000", "127.0.0.1", "127.0.0.1:1", "[::1]", "[::1]:8000",
                                "[2001:db8::7]", "[v1.fe:80]", "a-b_c~d.e", "a%20b", "x!$&'()*+;=", "a:", "a:65535"}) {
        CAPTURE(ok);
        CHECK(problem(ok) == "");
    }
    CHECK(problem("") == "");
    CHECK(problem("", false) == "empty authority");
}

TEST_CASE("validate: userinfo, path, query and lists are refused")
{
    CHECK(problem("user@example.com") == "userinfo in authority");
    CHECK(problem("user:pw@example.com") == "userinfo in authority");
    CHECK(problem("user:pw@example.com:80") == "userinfo in authority");
    CHECK(problem("[::1]@x") == "userinfo in authority");
    CHECK(problem("example.com/") == "path or query in authority");
    CHECK(problem("example.com?x") == "path or query in authority");
    CHECK(problem("example.com#f") == "path or query in authority");
    CHECK(problem("a.example,b.example") == "a list of hosts in authority");
    CHECK(problem("a.example, b.example") == "a list of hosts in authority");
}

TEST_CASE("validate: hosts and ports")
{
    CHECK(problem("exa mple") == "invalid character in host");
    CHECK(problem("a\tb") == "invalid character in host");
    CHECK(problem("caf\xc3\xa9") == "invalid character in host");
    CHECK(problem(std::string_view("a\0b", 3)) == "invalid character in host");
    CHECK(problem("a%2") == "invalid percent-encoding in host");
    CHECK(problem("a%zz") == "invalid percent-encoding in host");
    CHECK(problem("a:1:2") == "invalid character in host");
    CHECK(problem(":80") == "empty host in authority");
    CHECK(problem("a:65536") == "invalid port in authority");
    CHECK(problem("a:123456") == "invalid port in authority");
    CHECK(problem("a:8o") == "invalid port in authority");
    CHECK(problem("a:-1") == "invalid port in authority");
    CHECK(problem("[::1") == "invalid IP literal in host");
    CHECK(problem("[::g]") == "invalid IPv6 address in host");
    CHECK(problem("[1.2.3.4]") == "invalid IPv6 address in host");
    CHECK(problem("[fe80::1%eth0]") == "invalid IPv6 address in host");
    CHECK(problem("[v1]") == "invalid IP literal in host");
    CHECK(problem("[vz.x]") == "invalid IP literal in host");
    CHECK(problem("[::1]x") == "invalid character in host");
    CHECK(problem("[::1]:http") == "invalid port in authority");
    CHECK(problem("[" + std::string(60, ':') + "]") == "invalid IPv6 address in host");
}

TEST_CASE("validate: a head whose lines end in CRLF passes")
{
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nHost: a\r\nX: a  b\r\n\r\n") == "");
    CHECK(scan_head_every_split("\r\n\r\nGET / HTTP/1.1\r\n\r\n") == "");  // empty lines before the request line
}

TEST_CASE("validate: bare CR and bare LF in a head")
{
    CHECK(scan_head_every_split("GET / HTTP/1.1\nHost: a\r\n\r\n") == "bare LF in request head");
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nHost: a\n\r\n") == "bare LF in request head");
    CHECK(scan_head_every_split("\nGET / HTTP/1.1\r\n\r\n") == "bare LF in request head");
    CHECK(scan_head_every_split("GET / HTTP/1.1\rHost: a\r\n\r\n") == "bare CR in request head");
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n") == "bare CR in request head");
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nHost: a\r\n\rX") == "bare CR in request head");
    CHECK(scan_head_every_split("\rGET / HTTP/1.1\r\n\r\n") == "bare CR in request head");
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nHost: a\r\n\r") == "bare CR in request head");  // head_end
}

TEST_CASE("validate: one SP between the parts of the request line")
{
    CHECK(scan_head_every_split("GET  / HTTP/1.1\r\n\r\n") == "more than one space in request line");
    CHECK(scan_head_every_split("GET /  HTTP/1.1\r\n\r\n") == "more than one space in request line");
    CHECK(scan_head_every_split("GET / HTTP/1.1\r\nX:  a\r\n\r\n") == "");  // only the request line
}

TEST_CASE("validate: chunked framing")
{
    auto framing = [](std::string_view before, std::size_t data_len, bool complete, std::string_view after) {
        LineScanner lines;
        lines.reset();
        const char* head = "POST / HTTP/1.1\r\n\r\n";
        REQUIRE(lines.scan(head, std::char_traits<char>::length(head)) == nullptr);
        REQUIRE(lines.head_end() == nullptr);
        lines.start_body();
        if (const char* p = lines.scan(before.data(), before.size()))
            return std::string(p);
        if (data_len > 0) {
            if (const char* p = lines.data(complete))
                return std::string(p);
        }
        const char* p = lines.scan(after.data(), after.size());
        return p == nullptr ? std::string() : std::string(p);
    };
    CHECK(framing("3\r\n", 3, true, "\r\n0\r\n\r\n") == "");
    CHECK(framing("3;a=b\r\n", 3, true, "\r\n0\r\nX: y\r\n\r\n") == "");
    CHECK(framing("3\r\n", 3, true, "AB0\r\n\r\n") == "chunk data not followed by CRLF");
    CHECK(framing("3\r\n", 3, true, "\rB0\r\n\r\n") == "bare CR in chunked body");
    CHECK(framing("3\rx", 0, false, "") == "bare CR in chunked body");
    CHECK(framing("3\n", 0, false, "") == "bare LF in chunked body");
    CHECK(framing("3\r", 3, true, "") == "bare CR in chunked body");  // data right after a CR
    CHECK(framing("3", 3, true, "") == "chunk data not after CRLF");
    // Data in several pieces: CRLF is needed only after the last.
    LineScanner lines;
    lines.reset();
    lines.start_body();
    CHECK(lines.scan("\r\n5\r\n", 5) == nullptr);
    CHECK(lines.data(false) == nullptr);
    CHECK(lines.data(true) == nullptr);
    CHECK(lines.scan("\r\n", 2) == nullptr);
}
