// tests/unit/app/app_harness.hpp: a real loop, server and client for the app's handlers.
//
// The http tests' harness (tests/unit/http/connection_harness.hpp: a uv loop,
// a TCP server on 127.0.0.1, blocking clients in a thread) with the handler
// under test in its Context, an offload pool on the same loop, and this
// worker's accounting on a private board. When the client is done the pool
// is closed on the loop, then the harness closes everything else and
// checks that every handle went (uv_loop_close() == 0).
#pragma once

#include "tests/unit/http/connection_harness.hpp"

#include <string>

#include "app/accounting.hpp"
#include "config/settings.hpp"
#include "offload/pool.hpp"

namespace app_test {

using forkd_test::Client;
using forkd_test::get;

struct AppHarness {
    forkd_test::Harness http;
    forkd::config::Settings settings;
    forkd::offload::Pool pool;
    forkd::app::Accounting accounting{nullptr, forkd::app::WorkerIdentity{2, 5}};
    bool draining = false;
    uv_async_t close_pool{};

    explicit AppHarness(unsigned threads = 2, std::size_t queue = 16) : pool(&http.loop, threads, queue)
    {
        settings.threads = int(threads);
        REQUIRE(pool.start() == 0);
        accounting.watch(http.ctx);
        close_pool.data = this;
        REQUIRE(uv_async_init(&http.loop, &close_pool, [](uv_async_t* async) {
                    auto* self = static_cast<AppHarness*>(async->data);
                    self->pool.close();
                    uv_close(reinterpret_cast<uv_handle_t*>(async), nullptr);
                }) == 0);
    }

    void serve_with(forkd::http::Handler& handler) { http.ctx.handler = &handler; }

    template <typename ClientFn> void run(ClientFn client)
    {
        http.run([&](int port) {
            try {
                client(port);
            } catch (...) {
                // A failed REQUIRE in the client thread: already reported.
            }
            uv_async_send(&close_pool);
        });
        CHECK(pool.closed());
    }

    const forkd::stats::WorkerEntry& entry() const { return accounting.entry(); }
    // Requests counted under one endpoint of the table.
    uint64_t requests_of(std::size_t endpoint) const { return entry().endpoints[endpoint].requests(); }
};

// One GET on its own connection.
inline Client::Reply fetch(int port, std::string_view target)
{
    Client c(port);
    c.send(get(target));
    return c.read();
}

}  // namespace app_test
