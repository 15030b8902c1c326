// tests/unit/app/test_echo.cpp: app/echo.cpp (the echo format) and the
// /echo route in plan(): off by default (404), any method when on; and the
// parser keeping what /echo shows (http::Limits::keep_request).
#include "app/echo.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "app/routes.hpp"
#include "config/settings.hpp"
#include "http/parser.hpp"

using namespace forkd;
using namespace std::string_literals;

namespace {

std::string b64(std::string_view s)
{
    std::string out;
    app::append_base64(s, out);
    return out;
}

// Parse `raw` with keep_request on; the echo body of its (first) request.
nlohmann::json echo_of(std::string_view raw, http::Limits limits = {})
{
    limits.keep_request = true;
    http::Parser parser(limits);
    std::size_t used = 0;
    REQUIRE(parser.feed(raw.data(), raw.size(), used) == http::Parser::Event::request);
    http::Response r = app::echo_response(parser.request());
    CHECK(r.status == 200);
    CHECK(r.content_type == "application/json");
    return nlohmann::json::parse(r.body);
}

}  // namespace

TEST_CASE("echo: base64 as RFC 4648's test vectors")
{
    CHECK(b64("") == "");
    CHECK(b64("f") == "Zg==");
    CHECK(b64("fo") == "Zm8=");
    CHECK(b64("foo") == "Zm9v");
    CHECK(b64("foob") == "Zm9vYg==");
    CHECK(b64("fooba") == "Zm9vYmE=");
    CHECK(b64("foobar") == "Zm9vYmFy");
    CHECK(b64(std::string_view("\xff\x00\xfe", 3)) == "/wD+");
}

TEST_CASE("echo: method, uri as received, version, headers in order, body; every field base64")
{
    auto j = echo_of("POST http://example.com/echo?x=1 HTTP/1.1\r\nHost: example.com\r\nX-B: two  \r\n"
                     "x-a:one\r\nContent-Length: 3\r\n\r\nabc");
    CHECK(j["method"] == b64("POST"));
    CHECK(j["uri"] == b64("http://example.com/echo?x=1"));
    CHECK(j["version"] == b64("1.1"));
    std::vector<std::vector<std::string>> headers = {{b64("Host"), b64("example.com")},
                                                     {b64("X-B"), b64("two")},
                                                     {b64("x-a"), b64("one")},
                                                     {b64("Content-Length"), b64("3")}};
    CHECK(j["headers"] == headers);
    CHECK(j["body"] == b64("abc"));
    CHECK(j.size() == 5);
}

TEST_CASE("echo: a chunked body is joined, trailers are not headers, binary bytes survive")
{
    auto j = echo_of("PUT /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nX-Bin: caf\xc3\xa9\xff\r\n\r\n"
                     "2\r\n\x00\x01\r\n3;ext=1\r\n\xff\xfe\xfd\r\n0\r\nX-Trailer: t\r\n\r\n"s);
    CHECK(j["body"] == b64(std::string_view("\x00\x01\xff\xfe\xfd", 5)));
    REQUIRE(j["headers"].size() == 3);
    CHECK(j["headers"][2][1] == b64("caf\xc3\xa9\xff"));
    CHECK(j["version"] == b64("1.1"));
}

TEST_CASE("echo: each request of a connection shows only its own fields and body")
{
    http::Limits limits;
    limits.keep_request = true;
    http::Parser parser(limits);
    std::string raw = "POST /echo HTTP/1.1\r\nHost: a\r\nX-1: a\r\nX-2: b\r\nContent-Length: 2\r\n\r\nhi"
                      "GET /echo HTTP/1.0\r\n\r\n";
    std::size_t used = 0;
    REQUIRE(parser.feed(raw.data(), raw.size(), used) == http::Parser::Event::request);
    parser.next();
    std::size_t more = 0;
    REQUIRE(parser.feed(raw.data() + used, raw.size() - used, more) == http::Parser::Event::request);
    auto j = nlohmann::json::parse(app::echo_response(parser.request()).body);
    CHECK(j["headers"].empty());
    CHECK(j["body"] == "");
    CHECK(j["version"] == b64("1.0"));
    CHECK(j["method"] == b64("GET"));
}

TEST_CASE("echo: the body kept is bounded")
{
    http::Limits limits;
    limits.max_body_size = -1;  // unlimited: max_kept_body is kept
    std::string big(http::Limits::max_kept_body + 10, 'b');
    auto j = echo_of(
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(big.size()) + "\r\n\r\n" + big, limits);
    CHECK(j["body"] == b64(std::string_view(big).substr(0, http::Limits::max_kept_body)));
}

TEST_CASE("echo: without keep_request the parser keeps nothing")
{
    http::Limits limits;
    http::Parser parser(limits);
    std::string raw = "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi";
    std::size_t used = 0;
    REQUIRE(parser.feed(raw.data(), raw.size(), used) == http::Parser::Event::request);
    CHECK(parser.request().field_count == 0);
    CHECK(parser.request().fields.empty());
    CHECK(parser.request().body.empty());
    CHECK(parser.request().raw_target.empty());
}

TEST_CASE("echo: the route is 404 while off, any method when on")
{
    http::Request r;
    r.target = "/echo";
    r.path = r.target;
    config::Settings settings;
    for (llhttp_method_t m : {HTTP_GET, HTTP_POST, HTTP_DELETE, HTTP_PATCH}) {
        r.method = m;
        settings.endpoints.echo = false;
        app::Plan off = app::plan(r, settings);
        CHECK(off.answer_ready());
        CHECK(off.answer.status == 404);
        CHECK(off.answer.body.find("/echo") != std::string::npos);  // names the path asked for
        settings.endpoints.echo = true;
        app::Plan on = app::plan(r, settings);
        CHECK(!on.answer_ready());
        CHECK(on.route == app::Route::echo);
    }
    // The 404 lists /echo among the routes only when it is on.
    r.target = "/nope";
    r.path = r.target;
    settings.endpoints.echo = false;
    CHECK(app::plan(r, settings).answer.body.find("/echo") == std::string::npos);
    settings.endpoints.echo = true;
    CHECK(app::plan(r, settings).answer.body.find("/echo") != std::string::npos);
}
