// tests/unit/app/test_table.cpp: the endpoint table (app/table.hpp): every
// route and mode reachable, labels unique, config's mode keys from the table.
#include "app/table.hpp"

#include <set>
#include <string>

#include <doctest/doctest.h>

#include "app/routes.hpp"
#include "config/keys.hpp"
#include "config/load.hpp"
#include "config/settings.hpp"
#include "http/request.hpp"

using namespace forkd;
using app::Place;
using app::Route;

namespace {

app::Plan plan_for(std::string target, const config::Settings& settings = {})
{
    http::Request r;
    r.method = HTTP_GET;
    r.target = std::move(target);
    std::string_view t = r.target;
    auto q = t.find('?');
    r.path = t.substr(0, q);
    r.query = q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
    return app::plan(r, settings);
}

// A request path for a route pattern: "{n}" and "{ms}" become 1.
std::string path_of(std::string_view pattern)
{
    std::string path(pattern.substr(0, pattern.find('{')));
    if (pattern.find('{') != std::string_view::npos)
        path += "1";
    return path;
}

}  // namespace

TEST_CASE("table: every route has one row, and every row a route")
{
    std::set<Route> routes;
    for (const app::RouteRow& row : app::route_table)
        CHECK(routes.insert(row.route).second);
    for (const app::EndpointRow& row : app::endpoint_table) {
        CHECK(routes.count(row.route) == 1);
        CHECK(&app::route_row(row.route).route != nullptr);
        CHECK(app::route_row(row.route).route == row.route);
    }
}

TEST_CASE("table: a route's modes are listed together, and only routes with a mode key have modes")
{
    for (const app::RouteRow& route : app::route_table) {
        const auto names = app::mode_names(route.route);
        CHECK(names.empty() == route.mode_key.empty());
        CHECK((route.default_mode == nullptr) == route.mode_key.empty());
        std::size_t rows = 0;
        bool seen = false, ended = false;
        for (const app::EndpointRow& row : app::endpoint_table) {
            if (row.route == route.route) {
                CHECK_FALSE(ended);  // contiguous
                seen = true;
                ++rows;
            } else if (seen) {
                ended = true;
            }
        }
        CHECK(rows == (names.empty() ? 1 : names.size()));
    }
}

TEST_CASE("table: every row is reachable by a request, and plans to itself")
{
    config::Settings settings;       // threads = 4: offload rows are plannable
    settings.endpoints.echo = true;  // /echo is a 404 while off (test_echo.cpp)
    for (std::size_t i = 0; i < app::endpoint_table.size(); ++i) {
        const app::EndpointRow& row = app::endpoint_table[i];
        std::string target = path_of(app::route_row(row.route).pattern);
        if (!row.mode.empty())
            target += "?mode=" + std::string(row.mode);
        CAPTURE(target);
        const app::Plan p = plan_for(target, settings);
        REQUIRE_FALSE(p.answer_ready());
        CHECK(p.endpoint == i);
        CHECK(app::find_endpoint(row.route, row.mode) == i);
        CHECK((row.handler == nullptr) == (row.place == Place::app));
    }
}

TEST_CASE("table: handlers compute the documented answers and waits")
{
    const auto fib = app::endpoint_table[app::find_endpoint(Route::fibo_sleep, "par")].handler(20);
    CHECK(fib.response.body == "{\"n\":20,\"fib\":6765,\"slept_s\":0.006765}");
    CHECK(fib.wait_ns == 6765000);
    CHECK(app::timer_ms(fib.wait_ns) == 7);  // rounded up: never shorter
    const auto sleep = app::endpoint_table[app::find_endpoint(Route::sleep, "timer")].handler(250);
    CHECK(sleep.response.body == "{\"slept_ms\":250}");
    CHECK(app::timer_ms(sleep.wait_ns) == 250);
}

TEST_CASE("table: stats labels are unique, in row order, with other last")
{
    const stats::EndpointLabels labels = app::endpoint_labels();
    REQUIRE(labels.size() == app::other_endpoint + 1);
    CHECK(labels.size() <= stats::endpoint_count);
    std::set<std::string> seen;
    for (const stats::EndpointLabel& label : labels)
        CHECK(seen.insert(std::string(label.route) + " " + std::string(label.mode)).second);
    const std::size_t fib_inline = app::find_endpoint(Route::fib, "inline");
    CHECK(labels[fib_inline].route == "/fib/{n}");
    CHECK(labels[fib_inline].mode == "inline");
    CHECK(labels[app::find_endpoint(Route::healthz, "")].mode == "none");
    CHECK(labels[app::other_endpoint].route == "other");
    CHECK(labels[app::other_endpoint].mode == "none");
}

TEST_CASE("table: config's mode keys are the table's, and its defaults are valid names")
{
    config::set_mode_keys(app::mode_keys());
    const config::Settings defaults;
    std::size_t keys = 0;
    for (const app::RouteRow& route : app::route_table) {
        if (route.mode_key.empty())
            continue;
        ++keys;
        CAPTURE(route.mode_key);
        // The key exists in config's key table, as a mode key.
        const config::detail::Key* key = config::detail::find_key("endpoints", route.mode_key);
        REQUIRE(key != nullptr);
        CHECK(key->mode);
        // Config accepts exactly the table's names for it.
        const auto names = config::mode_names(route.mode_key);
        const auto table_names = app::mode_names(route.route);
        REQUIRE(names.size() == table_names.size());
        for (std::size_t i = 0; i < names.size(); ++i)
            CHECK(names[i] == table_names[i]);
        // The default is one of them.
        CHECK(app::find_endpoint(route.route, defaults.endpoints.*route.default_mode) != app::other_endpoint);
    }
    CHECK(app::mode_keys().size() == keys);
    // Every *_mode key of config is a row of the table.
    for (const config::detail::Key& key : config::detail::keys()) {
        if (!key.mode)
            continue;
        bool found = false;
        for (const app::RouteRow& route : app::route_table)
            found = found || route.mode_key == key.name;
        CHECK(found);
    }
}
