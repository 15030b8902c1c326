// tests/unit/app/test_admin.cpp: the stats.bind handler (app/admin.cpp) on a
// real loop: /stats, /metrics, /status and /healthz only, no stats.allow check, and
// its requests counted like the others.
#include "app/admin.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "tests/unit/app/app_harness.hpp"

using namespace forkd;
using app_test::AppHarness;
using app_test::fetch;

TEST_CASE("admin: serves the stats pages and health, to any peer")
{
    AppHarness h;
    h.settings.stats.allow = {"10.0.0.0/8"};  // not loopback: the address is the control
    h.settings.stats.bind = "127.0.0.1:9";
    app::AdminHandler admin(&h.http.loop, h.settings, h.accounting, h.draining);
    h.serve_with(admin);
    h.run([&h](int port) {
        auto r = fetch(port, "/stats");
        CHECK(r.status == 200);
        CHECK(r.body.find("\"served_by\":{\"pid\"") != std::string::npos);
        r = fetch(port, "/metrics");
        CHECK(r.status == 200);
        CHECK(r.has("Content-Type: text/plain; version=0.0.4"));
        r = fetch(port, "/status");
        CHECK(r.status == 200);
        CHECK(r.has("Content-Type: text/html; charset=utf-8"));
        CHECK(r.body.starts_with("<!doctype html>"));
        CHECK(fetch(port, "/healthz").body == "ok");
        h.draining = true;
        CHECK(fetch(port, "/healthz").status == 503);
    });
    CHECK(h.entry().requests.load() == 5);
    CHECK(h.entry().endpoints[app::find_endpoint(app::Route::status, "")].requests() == 1);
    CHECK(h.entry().endpoints[app::find_endpoint(app::Route::healthz, "")].requests() == 2);
    CHECK(h.entry().in_flight.load() == 0);
}

TEST_CASE("admin: every other route is a 404 that says what is served here")
{
    AppHarness h;
    app::AdminHandler admin(&h.http.loop, h.settings, h.accounting, h.draining);
    h.serve_with(admin);
    h.run([](int port) {
        for (const char* path : {"/hello", "/fib/3?mode=inline", "/sleep/1"}) {
            const auto r = fetch(port, path);
            CHECK(r.status == 404);
            CHECK(r.body.find("no such path on stats.bind: it serves /stats, /metrics, /status and /healthz") !=
                  std::string::npos);
        }
        auto r = fetch(port, "/nowhere");  // the usual 404, naming the routes
        CHECK(r.status == 404);
        CHECK(r.body.find("(routes: /hello") != std::string::npos);
        app_test::Client c(port);
        c.send("POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        r = c.read();
        CHECK(r.status == 405);
    });
    CHECK(h.entry().endpoints[app::other_endpoint].requests() == 5);
}
