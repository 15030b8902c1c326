// tests/unit/app/test_accounting.cpp: app/accounting.cpp: tags, in-flight,
// the request the loop is busy with, and byte totals that never go back.
#include "app/accounting.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "stats/scoreboard.hpp"

using namespace forkd;

TEST_CASE("accounting: an endpoint survives the trip as a respond() tag; tag 0 is other")
{
    for (std::size_t i = 0; i <= app::other_endpoint; ++i)
        CHECK(app::endpoint_of(app::tag_of(i)) == i);
    CHECK(app::endpoint_of(0) == app::other_endpoint);
    CHECK(app::endpoint_of(100000) == app::other_endpoint);
}

TEST_CASE("accounting: in flight from taken to answered; the loop's request for the watchdog")
{
    stats::Scoreboard board(2);
    app::Accounting accounting(&board.entry(1), app::WorkerIdentity{1, 1});
    http::Request request;
    request.method = HTTP_GET;
    request.target = "/fib/30?mode=inline";
    accounting.request_taken(request, 1234);
    CHECK(board.entry(1).in_flight.load() == 1);
    CHECK(board.entry(1).request_started_ms.load() == 1234);
    CHECK(stats::load_text(board.entry(1).request, sizeof board.entry(1).request) == "GET /fib/30?mode=inline");
    accounting.loop_free();
    CHECK(board.entry(1).request_started_ms.load() == 0);
    CHECK(board.entry(1).in_flight.load() == 1);  // a timer or a job still has it
    accounting.request_answered();
    CHECK(board.entry(1).in_flight.load() == 0);
    CHECK(board.entry(0).in_flight.load() == 0);  // only its own entry
}

TEST_CASE("accounting: the watchdog's request text follows every change of method or target")
{
    stats::Scoreboard board(1);
    app::Accounting accounting(&board.entry(0), app::WorkerIdentity{0, 1});
    auto text = [&board] { return stats::load_text(board.entry(0).request, sizeof board.entry(0).request); };
    http::Request request;
    request.method = HTTP_GET;
    request.target = "/hello";
    const std::pair<llhttp_method_t, const char*> steps[] = {
        {HTTP_GET, "/hello"},  {HTTP_GET, "/hello"}, {HTTP_HEAD, "/hello"}, {HTTP_HEAD, "/hello"},
        {HTTP_GET, "/hello2"}, {HTTP_GET, "/hell"},  {HTTP_GET, "/hello"},  {HTTP_GET, "/fib/30"},
    };
    uint64_t now = 10;
    for (const auto& [method, target] : steps) {
        request.method = method;
        request.target = target;
        accounting.request_taken(request, ++now);
        CHECK(board.entry(0).request_started_ms.load() == now);
        CHECK(text() == std::string(llhttp_method_name(method)) + " " + target);
        accounting.loop_free();
        CHECK(board.entry(0).request_started_ms.load() == 0);
        accounting.request_answered();
    }
}

TEST_CASE("accounting: counts by the tag; bytes are the sum of every watched Context")
{
    app::Accounting accounting(nullptr, app::WorkerIdentity{});
    http::Context main_ctx;
    http::Context admin_ctx;
    accounting.watch(main_ctx);
    accounting.watch(admin_ctx);
    accounting.watch(main_ctx);  // twice is once
    const std::size_t hello = app::find_endpoint(app::Route::hello, "inline");

    main_ctx.bytes_in = 1000;
    main_ctx.bytes_out = 5000;
    accounting.count(http::Sent{200, 100, 2000, app::tag_of(hello)});
    CHECK(accounting.entry().bytes_in.load() == 1000);
    CHECK(accounting.entry().bytes_out.load() == 5000);

    // An answer on the other address: the figure must not drop to its totals
    // (the bug this replaced: each address stored its own).
    admin_ctx.bytes_in = 40;
    admin_ctx.bytes_out = 300;
    accounting.count(http::Sent{200, 300, 2000, app::tag_of(app::find_endpoint(app::Route::stats, ""))});
    CHECK(accounting.entry().bytes_in.load() == 1040);
    CHECK(accounting.entry().bytes_out.load() == 5300);

    accounting.count(http::Sent{400, 80, 10, 0});  // the connection's own error
    CHECK(accounting.requests() == 3);
    CHECK(accounting.entry().endpoints[hello].requests() == 1);
    CHECK(accounting.entry().endpoints[app::other_endpoint].requests() == 1);
}

TEST_CASE("accounting: store_bytes() stores bytes no answer followed, without counting a response")
{
    app::Accounting accounting(nullptr, app::WorkerIdentity{});
    http::Context main_ctx;
    accounting.watch(main_ctx);
    main_ctx.bytes_in = 17;  // a partial head, then the client left
    accounting.store_bytes();
    CHECK(accounting.entry().bytes_in.load() == 17);
    CHECK(accounting.entry().bytes_out.load() == 0);
    CHECK(accounting.requests() == 0);
}

TEST_CASE("accounting: the stats pages render the whole board with the table's labels")
{
    app::Accounting accounting(nullptr, app::WorkerIdentity{3, 7});
    const http::Response json = accounting.stats_page(false);
    CHECK(json.status == 200);
    CHECK(json.body.find("\"slot\":3,\"generation\":7") != std::string::npos);
    CHECK(json.body.find("\"route\":\"/fibo_sleep/{n}\",\"mode\":\"baseline\"") != std::string::npos);
    const http::Response text = accounting.stats_page(true);
    CHECK(text.content_type.starts_with("text/plain; version=0.0.4"));
}
