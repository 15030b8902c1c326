// Unit tests for app/access_record.cpp: one access-log line from a request
// as the connection parsed it and its response as sent, written through a
// real AccessLog (json format) to a file, over a real loop and socket.
#include "app/access_record.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "app_harness.hpp"

namespace {

namespace fs = std::filesystem;
using namespace forkd;

// Answers every request with 200 "hi" and writes its access-log line.
struct LoggingHandler final : http::Handler {
    log::AccessLog& access_log;
    explicit LoggingHandler(log::AccessLog& log) : access_log(log) { }

    void on_request(http::Connection& conn, const http::Request&) noexcept override
    {
        http::Response r;
        r.status = 200;
        r.content_type = "text/plain";
        r.body = "hi";
        conn.respond(std::move(r));
    }
    void on_response(const http::Connection& conn, const http::Request& request,
                     const http::Sent& sent) noexcept override
    {
        app::write_access_record(access_log, conn, request, sent, 7);
    }
};

}  // namespace

TEST_CASE("access record: peer, request line, status, bytes and the worker, as the json line says")
{
    char tmpl[] = "/tmp/forkd-test-access-XXXXXX";
    const fs::path dir = mkdtemp(tmpl);
    config::LogSettings settings;
    settings.access_log = (dir / "access.log").string();
    settings.access_log_format = "json";
    std::unique_ptr<log::AccessLog> access_log = log::AccessLog::open(settings);
    REQUIRE(access_log != nullptr);

    app_test::AppHarness h;
    LoggingHandler handler(*access_log);
    h.serve_with(handler);
    std::size_t reply_bytes = 0;
    h.run([&](int port) {
        app_test::Client c(port);
        c.send("GET /some/where?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: unit/1\r\nReferer: http://r/\r\n\r\n");
        const auto reply = c.read();
        CHECK(reply.status == 200);
        reply_bytes = reply.head.size() + reply.body.size();
    });
    access_log.reset();  // the writer thread writes out what is queued

    std::ifstream in(dir / "access.log");
    std::string line;
    REQUIRE(std::getline(in, line));
    const nlohmann::json j = nlohmann::json::parse(line);
    CHECK(j["remote_addr"] == "127.0.0.1");
    CHECK(j["method"] == "GET");
    CHECK(j["target"] == "/some/where?x=1");
    CHECK(j["protocol"] == "HTTP/1.1");
    CHECK(j["status"] == 200);
    CHECK(j["bytes"] == reply_bytes);
    CHECK(j["user_agent"] == "unit/1");
    CHECK(j["referer"] == "http://r/");
    CHECK(j["worker"] == 7);
    CHECK_FALSE(std::getline(in, line));  // one request, one line
    std::error_code ec;
    fs::remove_all(dir, ec);
}
