// Unit tests for top/http_get.cpp: URLs, response parsing, and one GET
// against a canned server on a loopback socket.
#include <doctest/doctest.h>

#include "tests/unit/loopback.hpp"

#include <string>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "top/http_get.hpp"

using namespace forkd::top;

TEST_CASE("parse_url")
{
    Url u;
    std::string error;
    REQUIRE(parse_url("http://127.0.0.1:8000/stats", u, error));
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 8000);
    CHECK(u.path == "/stats");
    REQUIRE(parse_url("http://[::1]:9000/stats?x=1", u, error));
    CHECK(u.host == "::1");
    CHECK(u.port == 9000);
    CHECK(u.path == "/stats?x=1");
    REQUIRE(parse_url("localhost:8000", u, error));
    CHECK(u.host == "localhost");
    CHECK(u.path == "/stats");  // no path: /stats
    REQUIRE(parse_url("http://example", u, error));
    CHECK(u.port == 80);

    CHECK_FALSE(parse_url("https://127.0.0.1/stats", u, error));
    CHECK(error.find("https") != std::string::npos);
    CHECK_FALSE(parse_url("http://:8000/stats", u, error));
    CHECK_FALSE(parse_url("http://127.0.0.1:99999/", u, error));
    CHECK_FALSE(parse_url("http://127.0.0.1:80x/", u, error));
    CHECK_FALSE(parse_url("http://[::1/", u, error));
}

TEST_CASE("parse_response: length, chunked, close-delimited")
{
    HttpResult r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA");
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "hello");
    r = parse_response("HTTP/1.1 403 Forbidden\r\ntransfer-encoding: Chunked\r\n\r\n"
                       "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n");
    REQUIRE(r.ok);
    CHECK(r.status == 403);
    CHECK(r.body == "abcde");
    r = parse_response("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close");
    REQUIRE(r.ok);
    CHECK(r.body == "until close");

    CHECK_FALSE(parse_response("garbage").ok);
    CHECK_FALSE(parse_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").ok);
    CHECK_FALSE(parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab").ok);
}

TEST_CASE("http_get fetches from a server, and fails cleanly without one")
{
    uint16_t port = 0;
    const int listener = forkd::test::listen_loopback(4, &port);
    REQUIRE(listener >= 0);

    std::string request;
    std::thread server([&] {
        int c = accept(listener, nullptr, nullptr);
        char buf[2048];
        ssize_t n = 0;
        while (request.find("\r\n\r\n") == std::string::npos && (n = read(c, buf, sizeof buf)) > 0)
            request.append(buf, std::size_t(n));
        const std::string answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
        (void)!write(c, answer.data(), answer.size());
        close(c);
    });
    Url u;
    u.host = "127.0.0.1";
    u.port = port;
    u.path = "/stats";
    HttpResult r = http_get(u, 2000);
    server.join();
    REQUIRE(r.ok);
    CHECK(r.status == 200);
    CHECK(r.body == "{\"ok\":true}");
    CHECK(request.rfind("GET /stats HTTP/1.1\r\n", 0) == 0);
    CHECK(request.find("Host: 127.0.0.1:" + std::to_string(port) + "\r\n") != std::string::npos);
    CHECK(request.find("Connection: close\r\n") != std::string::npos);

    // A server that accepts but never answers: the deadline ends the wait.
    HttpResult silent = http_get(u, 200);
    CHECK_FALSE(silent.ok);
    CHECK(silent.error == "timed out");
    close(listener);

    // Nobody listens any more.
    HttpResult refused = http_get(u, 1000);
    CHECK_FALSE(refused.ok);
    CHECK_FALSE(refused.error.empty());
}
