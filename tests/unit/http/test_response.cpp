// tests/unit/http/test_response.cpp: http/response.cpp, the wire format.
#include <doctest/doctest.h>

#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "http/date.hpp"
#include "http/response.hpp"
#include "tests/unit/allocations.hpp"

using namespace forkd::http;

namespace {

// The head (up to the blank line) and the body of a serialised response.
std::pair<std::string, std::string> split(const std::string& wire)
{
    std::size_t end = wire.find("\r\n\r\n");
    REQUIRE(end != std::string::npos);
    return {wire.substr(0, end + 2), wire.substr(end + 4)};
}

}  // namespace

TEST_CASE("response: serialize a 200 with every header, in order")
{
    Response r;
    r.body = "{\"n\":10}";
    HeadOptions options;
    options.process_time_s = 0.000123;
    std::string out = "previous";  // appends
    serialize(r, options, out);
    REQUIRE(out.rfind("previous", 0) == 0);
    auto [head, body] = split(out.substr(8));
    std::string date(date::current());
    CHECK(head == "HTTP/1.1 200 OK\r\n"
                  "Server: forkd\r\n"
                  "Date: " +
                      date +
                      "\r\n"
                      "Content-Type: application/json\r\n"
                      "Content-Length: 8\r\n"
                      "X-Process-Time: 0.000123\r\n"
                      "Connection: keep-alive\r\n");
    CHECK(body == "{\"n\":10}");
}

TEST_CASE("response: serialising into a reused buffer allocates nothing")
{
    // A connection clears its output buffer and keeps its capacity.
    Response r;
    r.content_type = "text/plain";
    r.body = "hello";
    HeadOptions options;
    options.process_time_s = 0.000042;
    std::string out;
    serialize(r, options, out);
    const std::string first = out;
    const uint64_t before = forkd_test::allocations();
    for (int i = 0; i < 100; ++i) {
        out.clear();
        serialize(r, options, out);
    }
    CHECK(forkd_test::allocations() == before);
    CHECK(out.size() == first.size());
    // The count does count: a buffer that must grow is one allocation.
    std::string grown;
    grown.reserve(1000);
    CHECK(forkd_test::allocations() == before + 1);
}

TEST_CASE("response: close, extra headers, other content type")
{
    Response r;
    r.status = 405;
    r.content_type = "text/plain";
    r.body = "no";
    r.extra_headers = "Allow: GET, HEAD\r\n";
    HeadOptions options;
    options.keep_alive = false;
    options.process_time_s = 2.5;
    std::string out;
    serialize(r, options, out);
    auto [head, body] = split(out);
    CHECK(head.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0) == 0);
    CHECK(head.find("Content-Type: text/plain\r\n") != std::string::npos);
    CHECK(head.find("X-Process-Time: 2.500000\r\n") != std::string::npos);
    CHECK(head.find("Connection: close\r\nAllow: GET, HEAD\r\n") != std::string::npos);
    CHECK(body == "no");
}

TEST_CASE("response: HEAD keeps Content-Length but sends no body")
{
    Response r;
    r.content_type = "text/plain";
    r.body = "hello";
    HeadOptions options;
    options.head_only = true;
    std::string out;
    serialize(r, options, out);
    auto [head, body] = split(out);
    CHECK(head.find("Content-Length: 5\r\n") != std::string::npos);
    CHECK(body.empty());
}

TEST_CASE("response: 204 has neither body nor Content-Length")
{
    Response r;
    r.status = 204;
    r.body = "ignored";
    std::string out;
    serialize(r, HeadOptions{}, out);
    auto [head, body] = split(out);
    CHECK(head.rfind("HTTP/1.1 204 No Content\r\n", 0) == 0);
    CHECK(head.find("Content-Length") == std::string::npos);
    CHECK(body.empty());
}

TEST_CASE("response: a negative process time prints as zero")
{
    Response r;
    HeadOptions options;
    options.process_time_s = -1;
    std::string out;
    serialize(r, options, out);
    CHECK(out.find("X-Process-Time: 0.000000\r\n") != std::string::npos);
}

TEST_CASE("response: X-Process-Time has six decimals, rounded, capped")
{
    auto process_time = [](double seconds) {
        Response r;
        HeadOptions options;
        options.process_time_s = seconds;
        std::string out;
        serialize(r, options, out);
        const std::size_t at = out.find("X-Process-Time: ");
        REQUIRE(at != std::string::npos);
        const std::size_t from = at + 16;
        return out.substr(from, out.find("\r\n", from) - from);
    };
    CHECK(process_time(0) == "0.000000");
    CHECK(process_time(0.000123) == "0.000123");
    CHECK(process_time(0.0000004) == "0.000000");
    CHECK(process_time(0.0000006) == "0.000001");
    CHECK(process_time(0.9999996) == "1.000000");
    CHECK(process_time(12.5) == "12.500000");
    CHECK(process_time(1e12) == "1000000000.000000");
    CHECK(process_time(std::numeric_limits<double>::quiet_NaN()) == "0.000000");
}

TEST_CASE("response: a status outside the table is \"Unknown\", and a non-three-digit one 500")
{
    Response r;
    r.status = 299;
    std::string out;
    serialize(r, HeadOptions{}, out);
    CHECK(out.rfind("HTTP/1.1 299 Unknown\r\nServer: forkd\r\nDate: ", 0) == 0);
    r.status = 1234;
    out.clear();
    serialize(r, HeadOptions{}, out);
    CHECK(out.rfind("HTTP/1.1 500 Unknown\r\n", 0) == 0);
}

TEST_CASE("response: reason phrases")
{
    CHECK(reason_phrase(200) == "OK");
    CHECK(reason_phrase(400) == "Bad Request");
    CHECK(reason_phrase(404) == "Not Found");
    CHECK(reason_phrase(405) == "Method Not Allowed");
    CHECK(reason_phrase(408) == "Request Timeout");
    CHECK(reason_phrase(413) == "Content Too Large");
    CHECK(reason_phrase(414) == "URI Too Long");
    CHECK(reason_phrase(431) == "Request Header Fields Too Large");
    CHECK(reason_phrase(503) == "Service Unavailable");
    CHECK(reason_phrase(505) == "HTTP Version Not Supported");
    CHECK(reason_phrase(299) == "Unknown");
}

TEST_CASE("response: error_response is JSON with the message escaped")
{
    Response r = error_response(400, "bad \"n\": \\ \n\t\x01 caf\xc3\xa9");
    CHECK(r.status == 400);
    CHECK(r.content_type == "application/json");
    CHECK(r.body == "{\"error\":\"bad \\\"n\\\": \\\\ \\n\\t\\u0001 caf\xc3\xa9\",\"status\":400}");
    auto json = nlohmann::json::parse(r.body);
    CHECK(json["error"] == "bad \"n\": \\ \n\t\x01 caf\xc3\xa9");
    CHECK(json["status"] == 400);
}

TEST_CASE("response: error_response keeps the body valid UTF-8 whatever the message")
{
    // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, a byte past U+10FFFF.
    std::string message = "a\x80"
                          "b\xe2\x82"
                          "c\xc0\xaf"
                          "d\xed\xa0\x80"
                          "e\xf5\x80\x80\x80"
                          "f\xf0\x9f\x98\x80";
    Response r = error_response(404, message);
    auto json = nlohmann::json::parse(r.body);  // throws on invalid UTF-8
    std::string text = json["error"];
    CHECK(text.rfind("a\xef\xbf\xbd"
                     "b",
                     0) == 0);
    CHECK(text.find("f\xf0\x9f\x98\x80") != std::string::npos);  // valid 4-byte sequences stay
    CHECK(text.find("\xc0") == std::string::npos);
    CHECK(text.find("\xed\xa0") == std::string::npos);
}
