// tests/unit/http/test_parser.cpp: http/parser.cpp, driven by fixture files.
//
// Each tests/fixtures/http/<name>.http is a raw request stream (bytes exactly
// as on the wire); <name>.expect lists what the parser must make of it, one
// line per request ("GET /path 1.1 keep-alive"), error ("error 431 <message>"),
// or end state ("incomplete", "ignored"); an optional "limits k=v ..." line
// sets the limits. Every fixture is replayed whole, byte by byte, and in
// random chunks (fixed seeds), the way a connection feeds the parser: the
// unconsumed rest is kept and fed again with the next bytes.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <new>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "http/parser.hpp"
#include "tests/unit/allocations.hpp"

using forkd::http::Limits;
using forkd::http::Parser;

namespace {

std::string read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

struct Fixture {
    std::string name;
    std::string input;
    Limits limits;
    std::vector<std::string> expected;
};

Fixture load(const std::filesystem::path& http_file)
{
    Fixture f;
    f.name = http_file.stem().string();
    f.input = read_file(http_file);
    std::filesystem::path expect_file = http_file;
    expect_file.replace_extension(".expect");
    std::istringstream lines(read_file(expect_file));
    std::string line;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        if (line.rfind("limits ", 0) == 0) {
            std::istringstream kv(line.substr(7));
            std::string item;
            while (kv >> item) {
                std::size_t eq = item.find('=');
                std::string key = item.substr(0, eq);
                long long value = std::stoll(item.substr(eq + 1));
                if (key == "request_line")
                    f.limits.request_line = value;
                else if (key == "request_fields")
                    f.limits.request_fields = value;
                else if (key == "request_field_size")
                    f.limits.request_field_size = value;
                else if (key == "max_body_size")
                    f.limits.max_body_size = value;
                else
                    FAIL("unknown limit " << key << " in " << f.name);
            }
            continue;
        }
        f.expected.push_back(line);
    }
    return f;
}

std::string describe(const Parser& parser)
{
    const auto& r = parser.request();
    std::string s(r.method_name());
    s += ' ';
    s += r.target;
    s += ' ' + std::to_string(r.version_major) + '.' + std::to_string(r.version_minor);
    s += r.keep_alive ? " keep-alive" : " close";
    if (parser.expect_continue())
        s += " expect-continue";
    return s;
}

// Feed `input` in chunks of the sizes `next_chunk` returns, as a connection would.
template <typename NextChunk> std::vector<std::string> replay(const Fixture& f, NextChunk next_chunk)
{
    Parser parser(f.limits);
    std::vector<std::string> out;
    std::string buffered;
    std::size_t offset = 0;
    for (;;) {
        for (;;) {
            std::size_t used = 0;
            Parser::Event event = parser.feed(buffered.data(), buffered.size(), used);
            REQUIRE(used <= buffered.size());
            buffered.erase(0, used);
            if (event == Parser::Event::request) {
                // The path and query are views into the target.
                const auto& r = parser.request();
                CHECK(r.path.data() == r.target.data());
                out.push_back(describe(parser));
                parser.next();
                continue;
            }
            if (event == Parser::Event::error) {
                CHECK(parser.phase() == Parser::Phase::failed);
                out.push_back("error " + std::to_string(parser.error_status()) + ' ' +
                              std::string(parser.error_message()));
                return out;
            }
            if (event == Parser::Event::done) {
                if (!buffered.empty() || offset < f.input.size())
                    out.push_back("ignored");
                return out;
            }
            CHECK(buffered.empty());  // need_more consumes everything
            break;
        }
        if (offset == f.input.size())
            break;
        std::size_t n = std::min(next_chunk(), f.input.size() - offset);
        buffered.append(f.input, offset, n);
        offset += n;
    }
    if (parser.phase() == Parser::Phase::head || parser.phase() == Parser::Phase::body)
        out.push_back("incomplete");
    return out;
}

std::string joined(const std::vector<std::string>& lines)
{
    std::string s;
    for (const auto& l : lines)
        s += l + '\n';
    return s;
}

std::vector<std::filesystem::path> fixture_files()
{
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(FORKD_SOURCE_ROOT "/tests/fixtures/http")) {
        if (entry.path().extension() == ".http")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

TEST_CASE("parser: fixtures, whole, byte by byte, and in random chunks")
{
    auto files = fixture_files();
    REQUIRE(files.size() >= 40);
    for (const auto& file : files) {
        Fixture f = load(file);
        CAPTURE(f.name);
        REQUIRE(!f.expected.empty());
        std::string expected = joined(f.expected);
        CHECK(joined(replay(f, [&] { return f.input.size(); })) == expected);
        CHECK(joined(replay(f, [] { return std::size_t{1}; })) == expected);
        for (unsigned seed : {1u, 2u, 3u, 42u}) {
            CAPTURE(seed);
            std::mt19937 rng(seed);
            std::uniform_int_distribution<std::size_t> size(1, 17);
            CHECK(joined(replay(f, [&] { return size(rng); })) == expected);
        }
    }
}

namespace {
Parser::Event feed_all(Parser& parser, std::string_view data, std::size_t& used)
{
    return parser.feed(data.data(), data.size(), used);
}
}  // namespace

TEST_CASE("parser: path, query and query_param")
{
    Limits limits;
    Parser parser(limits);
    std::size_t used = 0;
    std::string_view req = "GET /fib/30?mode=inline&n=&flag&mode=offload HTTP/1.1\r\nHost: a\r\n\r\n";
    REQUIRE(feed_all(parser, req, used) == Parser::Event::request);
    CHECK(used == req.size());
    const auto& r = parser.request();
    CHECK(r.path == "/fib/30");
    CHECK(r.query == "mode=inline&n=&flag&mode=offload");
    CHECK(r.query_param("mode") == "inline");  // the first occurrence
    CHECK(r.query_param("n").empty());
    CHECK(r.query_param("flag").empty());
    CHECK(r.query_param("missing").empty());
    CHECK(r.query_param("mod").empty());
    CHECK(!r.is_head());
    CHECK(r.method_name() == "GET");
}

TEST_CASE("parser: no query, and a bare '?'")
{
    Limits limits;
    Parser parser(limits);
    std::size_t used = 0;
    REQUIRE(feed_all(parser, "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n", used) == Parser::Event::request);
    CHECK(parser.request().path == "/hello");
    CHECK(parser.request().query.empty());
    parser.next();
    REQUIRE(feed_all(parser, "GET /x? HTTP/1.1\r\nHost: a\r\n\r\n", used) == Parser::Event::request);
    CHECK(parser.request().path == "/x");
    CHECK(parser.request().query.empty());
}

TEST_CASE("parser: a request like the one before allocates nothing")
{
    // The request's strings keep their capacity from one request to the
    // next: a keep-alive connection parses without touching the heap.
    Limits limits;
    Parser parser(limits);
    std::string_view req = "GET /fib/30?mode=inline HTTP/1.1\r\nHost: a\r\nUser-Agent: curl/7.88\r\n"
                           "Referer: http://a/\r\nAccept: */*\r\n\r\n";
    std::size_t used = 0;
    REQUIRE(feed_all(parser, req, used) == Parser::Event::request);
    parser.next();
    const uint64_t before = forkd_test::allocations();
    for (int i = 0; i < 100; ++i) {
        REQUIRE(parser.feed(req.data(), req.size(), used) == Parser::Event::request);
        parser.next();
    }
    CHECK(forkd_test::allocations() == before);
    CHECK(parser.request().target == "/fib/30?mode=inline");
    CHECK(parser.request().user_agent == "curl/7.88");
}

TEST_CASE("parser: a pipelined request is not touched until next()")
{
    Limits limits;
    Parser parser(limits);
    std::string data = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    std::size_t used = 0;
    REQUIRE(parser.feed(data.data(), data.size(), used) == Parser::Event::request);
    CHECK(used == data.size() / 2);
    CHECK(parser.phase() == Parser::Phase::complete);
    // Without next(), feeding again hands out the same request and consumes nothing.
    std::size_t again = 1;
    CHECK(parser.feed(data.data() + used, data.size() - used, again) == Parser::Event::request);
    CHECK(again == 0);
    CHECK(parser.request().target == "/a");
    parser.next();
    CHECK(parser.phase() == Parser::Phase::idle);
    REQUIRE(parser.feed(data.data() + used, data.size() - used, again) == Parser::Event::request);
    CHECK(again == data.size() / 2);
    CHECK(parser.request().target == "/b");
}

TEST_CASE("parser: 100 Continue is wanted only while the body is missing")
{
    Limits limits;
    Parser parser(limits);
    std::size_t used = 0;
    std::string head = "POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n";
    CHECK(feed_all(parser, head, used) == Parser::Event::need_more);
    CHECK(parser.phase() == Parser::Phase::body);
    CHECK(parser.take_continue());
    CHECK(!parser.take_continue());  // once
    CHECK(feed_all(parser, "body", used) == Parser::Event::request);
    CHECK(parser.expect_continue());
    parser.next();

    // The body arrived with the head: no 100 Continue.
    CHECK(feed_all(parser, head + "body", used) == Parser::Event::request);
    CHECK(!parser.take_continue());
    parser.next();

    // No body: nothing to continue.
    CHECK(feed_all(parser, "GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", used) ==
          Parser::Event::request);
    CHECK(!parser.take_continue());
    parser.next();

    // HTTP/1.0 clients do not expect 100 (RFC 9110 10.1.1).
    CHECK(feed_all(parser,
                   "POST / HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
                   used) == Parser::Event::need_more);
    CHECK(!parser.take_continue());
}

TEST_CASE("parser: Connection: close is recorded")
{
    Limits limits;
    Parser parser(limits);
    std::size_t used = 0;
    REQUIRE(feed_all(parser, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", used) == Parser::Event::request);
    CHECK(parser.connection_close());
    CHECK(!parser.request().keep_alive);
    parser.next();
    CHECK(parser.phase() == Parser::Phase::done);
    CHECK(feed_all(parser, "GET / HTTP/1.1\r\n", used) == Parser::Event::done);
    CHECK(used == 0);
}

TEST_CASE("parser: default limits")
{
    Limits limits;
    std::size_t used = 0;
    SUBCASE("a request line of 8190 bytes passes, 8191 is 414")
    {
        for (std::size_t line : {std::size_t{8190}, std::size_t{8191}}) {
            Parser parser(limits);
            // Built with append: GCC 12 warns falsely (-Wrestrict, PR 105329) on operator+ here.
            std::string req = "GET /";
            req.append(line - 4 - 9 - 1, 'a');
            req += " HTTP/1.1\r\nHost: a\r\n\r\n";
            Parser::Event event = feed_all(parser, req, used);
            if (line == 8190) {
                CHECK(event == Parser::Event::request);
            } else {
                CHECK(event == Parser::Event::error);
                CHECK(parser.error_status() == 414);
            }
        }
    }
    SUBCASE("100 fields pass, 101 are 431")
    {
        for (int fields : {100, 101}) {
            Parser parser(limits);
            std::string req = "GET / HTTP/1.1\r\nHost: a\r\n";
            for (int i = 1; i < fields; ++i)
                req += "X-" + std::to_string(i) + ": v\r\n";
            req += "\r\n";
            Parser::Event event = feed_all(parser, req, used);
            CHECK(event == (fields == 100 ? Parser::Event::request : Parser::Event::error));
            if (fields == 101)
                CHECK(parser.error_status() == 431);
        }
    }
    SUBCASE("a 1 MiB body passes, one byte more is 413 at once")
    {
        Parser parser(limits);
        std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n";
        CHECK(feed_all(parser, head, used) == Parser::Event::error);
        CHECK(parser.error_status() == 413);
        Parser ok(limits);
        std::string body(1048576, 'b');
        CHECK(feed_all(ok, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048576\r\n\r\n" + body, used) ==
              Parser::Event::request);
    }
}

TEST_CASE("parser: an error response can see the method (HEAD has no body)")
{
    Limits limits;
    Parser parser(limits);
    std::size_t used = 0;
    CHECK(feed_all(parser, "HEAD / HTTP/1.1\r\n\r\n", used) == Parser::Event::error);
    CHECK(parser.error_status() == 400);
    CHECK(parser.request().is_head());
    // Dead after an error, whatever follows.
    CHECK(feed_all(parser, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", used) == Parser::Event::error);
}

TEST_CASE("parser: a warmed-up parser allocates nothing per request, checks included")
{
    Limits limits;
    Parser parser(limits);
    std::string one = "POST /fib/30?mode=inline HTTP/1.1\r\nHost: [::1]:8000\r\nUser-Agent: t\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                      "GET http://example.com:80/hello HTTP/1.1\r\nHost: example.com\r\n\r\n";
    auto run = [&](int rounds) {
        for (int i = 0; i < rounds; ++i) {
            std::size_t pos = 0;
            while (pos < one.size()) {
                std::size_t used = 0;
                REQUIRE(parser.feed(one.data() + pos, one.size() - pos, used) == Parser::Event::request);
                pos += used;
                parser.next();
            }
        }
    };
    run(2);  // the strings grow to their working size
    // The checks of http/validate.cpp included: nothing per request.
    const uint64_t before = forkd_test::allocations();
    run(100);
    CHECK(forkd_test::allocations() == before);
}
