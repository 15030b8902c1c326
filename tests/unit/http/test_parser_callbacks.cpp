// tests/unit/http/test_parser_callbacks.cpp: http/parser_callbacks.cpp, the
// checks made while llhttp reports pieces of a head. Each request is split at
// every byte, because these callbacks see a field in as many pieces as the
// reads made: a check must not depend on where a split falls (the fixtures
// in test_parser.cpp cover the rest).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "http/parser.hpp"

using forkd::http::Limits;
using forkd::http::Parser;

namespace {

// Feed `text` in two reads split at `split`, keeping the unconsumed rest as a
// connection does; the event of the last feed.
Parser::Event feed_split(Parser& parser, std::string_view text, std::size_t split)
{
    std::string buffered;
    Parser::Event event = Parser::Event::need_more;
    for (std::string_view piece : {text.substr(0, split), text.substr(split)}) {
        buffered += piece;
        std::size_t used = 0;
        event = parser.feed(buffered.data(), buffered.size(), used);
        buffered.erase(0, used);
        if (event != Parser::Event::need_more)
            break;
    }
    return event;
}

}  // namespace

TEST_CASE("parser callbacks: obs-fold and whitespace before a colon are 400 wherever a read ends")
{
    Limits limits;
    std::string folded = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n";
    std::string spaced = "GET / HTTP/1.1\r\nHost : a\r\n\r\n";
    for (std::size_t split = 0; split <= folded.size(); ++split) {
        Parser parser(limits);
        REQUIRE(feed_split(parser, folded, split) == Parser::Event::error);
        CHECK(parser.error_status() == 400);
        CHECK(parser.error_message() == "obsolete line folding in header field");
    }
    for (std::size_t split = 0; split <= spaced.size(); ++split) {
        Parser parser(limits);
        REQUIRE(feed_split(parser, spaced, split) == Parser::Event::error);
        CHECK(parser.error_message() == "whitespace before colon in header field");
    }
}

TEST_CASE("parser callbacks: a field is bounded as a whole, not per piece")
{
    Limits limits;
    limits.request_field_size = 24;
    std::string fits = "GET / HTTP/1.1\r\nHost: a\r\nX-Name: " + std::string(16, 'v') + "\r\n\r\n";
    std::string over = "GET / HTTP/1.1\r\nHost: a\r\nX-Name: " + std::string(20, 'v') + "\r\n\r\n";
    for (std::size_t split = 0; split <= over.size(); ++split) {
        Parser ok(limits);
        CHECK(feed_split(ok, fits, std::min(split, fits.size())) == Parser::Event::request);
        Parser parser(limits);
        REQUIRE(feed_split(parser, over, split) == Parser::Event::error);
        CHECK(parser.error_status() == 431);
        CHECK(parser.error_message() == "header field too large");
    }
}

TEST_CASE("parser callbacks: User-Agent, Referer and Expect are read across reads")
{
    Limits limits;
    std::string text = "POST /p HTTP/1.1\r\nhost: a\r\nUSER-AGENT: probe/1.0\r\nReferer: http://x/\r\n"
                       "Expect:  100-Continue \r\nContent-Length: 2\r\n\r\nok";
    for (std::size_t split = 0; split <= text.size(); ++split) {
        Parser parser(limits);
        REQUIRE(feed_split(parser, text, split) == Parser::Event::request);
        CHECK(parser.request().user_agent == "probe/1.0");
        CHECK(parser.request().referer == "http://x/");
        CHECK(parser.expect_continue());
    }
}

TEST_CASE("parser callbacks: a Host in the trailers is not a second Host")
{
    Limits limits;
    std::string text = "POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "2\r\nok\r\n0\r\nHost: b\r\n\r\n";
    for (std::size_t split = 0; split <= text.size(); ++split) {
        Parser parser(limits);
        CHECK(feed_split(parser, text, split) == Parser::Event::request);
    }
}
