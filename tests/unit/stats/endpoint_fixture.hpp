// tests/unit/stats/endpoint_fixture.hpp: endpoint indices and labels for the stats tests.
//
// stats/ counts by an index the app assigns and renders the labels it is
// handed; these tests play the app with a table of their own, shaped like
// the real one (app/table.hpp, tested in tests/unit/app/test_table.cpp).
#pragma once

#include <array>
#include <cstddef>

#include "stats/labels.hpp"

namespace endpoint_fixture {

namespace Endpoint {
enum : std::size_t {
    hello_inline,
    hello_offload,
    sleep_timer,
    sleep_offload,
    sleep_block,
    fib_offload,
    fib_inline,
    fibo_sleep_par,
    fibo_sleep_async,
    fibo_sleep_baseline,
    fibo_sleep_offload,
    healthz,
    stats,
    metrics,
    other,
};
}

inline constexpr std::array<forkd::stats::EndpointLabel, Endpoint::other + 1> labels = {{
    {"/hello", "inline"},
    {"/hello", "offload"},
    {"/sleep/{ms}", "timer"},
    {"/sleep/{ms}", "offload"},
    {"/sleep/{ms}", "block"},
    {"/fib/{n}", "offload"},
    {"/fib/{n}", "inline"},
    {"/fibo_sleep/{n}", "par"},
    {"/fibo_sleep/{n}", "async"},
    {"/fibo_sleep/{n}", "baseline"},
    {"/fibo_sleep/{n}", "offload"},
    {"/healthz", "none"},
    {"/stats", "none"},
    {"/metrics", "none"},
    {"other", "none"},
}};

}  // namespace endpoint_fixture
