// app/table.cpp: lookups over the endpoint table (table.hpp).
//
// Derived views only (labels, mode names, config keys), built at compile
// time or once; nothing here may list a route or a mode again.
#include "app/table.hpp"

#include <utility>

namespace forkd::app {

namespace {

// The mode column, so that one route's modes are a contiguous span.
constexpr auto mode_column = [] {
    std::array<std::string_view, endpoint_table.size()> out{};
    for (std::size_t i = 0; i < endpoint_table.size(); ++i)
        out[i] = endpoint_table[i].mode;
    return out;
}();

constexpr const RouteRow& row_of(Route route)
{
    for (const RouteRow& row : route_table) {
        if (row.route == route)
            return row;
    }
    return route_table[0];  // unreachable: every Route has a row (test_table.cpp)
}

constexpr auto label_column = [] {
    std::array<stats::EndpointLabel, endpoint_table.size() + 1> out{};
    for (std::size_t i = 0; i < endpoint_table.size(); ++i) {
        const EndpointRow& row = endpoint_table[i];
        out[i] = {row_of(row.route).pattern, row.mode.empty() ? std::string_view("none") : row.mode};
    }
    out[other_endpoint] = {"other", "none"};
    return out;
}();

// First row of `route` and how many follow it.
constexpr std::pair<std::size_t, std::size_t> rows_of(Route route)
{
    std::size_t first = endpoint_table.size();
    std::size_t count = 0;
    for (std::size_t i = 0; i < endpoint_table.size(); ++i) {
        if (endpoint_table[i].route != route)
            continue;
        if (count == 0)
            first = i;
        ++count;
    }
    return {first, count};
}

// rows_of() for every Route, indexed by its value (find_endpoint runs per request).
constexpr auto route_rows = [] {
    std::array<std::pair<std::size_t, std::size_t>, route_table.size()> out{};
    for (const RouteRow& row : route_table)
        out[static_cast<std::size_t>(row.route)] = rows_of(row.route);
    return out;
}();

constexpr std::pair<std::size_t, std::size_t> rows_of_route(Route route)
{
    const auto i = static_cast<std::size_t>(route);
    return i < route_rows.size() ? route_rows[i] : rows_of(route);
}

}  // namespace

const RouteRow& route_row(Route route)
{
    return row_of(route);
}

std::size_t find_endpoint(Route route, std::string_view mode)
{
    const auto [first, count] = rows_of_route(route);
    for (std::size_t i = first; i < first + count; ++i) {
        if (endpoint_table[i].mode == mode)
            return i;
    }
    return other_endpoint;
}

std::span<const std::string_view> mode_names(Route route)
{
    const auto [first, count] = rows_of_route(route);
    if (count == 0 || mode_column[first].empty())
        return {};
    return std::span<const std::string_view>(mode_column).subspan(first, count);
}

stats::EndpointLabels endpoint_labels()
{
    return label_column;
}

std::span<const config::ModeKey> mode_keys()
{
    static const auto keys = [] {
        std::array<config::ModeKey, route_table.size()> out{};
        std::size_t n = 0;
        for (const RouteRow& row : route_table) {
            if (!row.mode_key.empty())
                out[n++] = {row.mode_key, mode_names(row.route)};
        }
        return std::pair{out, n};
    }();
    return std::span<const config::ModeKey>(keys.first.data(), keys.second);
}

}  // namespace forkd::app
