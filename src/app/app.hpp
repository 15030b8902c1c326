// app/app.hpp: the endpoints a worker serves (DESIGN.md, "Endpoints").
//
// Owns the route table, path parameters, modes and limits, and the work each
// mode implies: inline on the loop, a libuv timer, a blocking sleep on the
// loop, or a job on the offload pool. It answers through
// http::Connection::respond(), now or later on the loop.
// Does not own sockets, parsing or the worker's lifecycle.
#pragma once

#include <cstddef>
#include <cstdint>

#include <uv.h>

#include "config/settings.hpp"
#include "http/connection.hpp"
#include "offload/pool.hpp"

namespace forkd::app {

class App final : public http::Handler {
public:
    App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool);

    void on_request(http::Connection& conn, const http::Request& request) noexcept override;
    void on_response(const http::Connection& conn, const http::Request& request,
                     int status, std::size_t bytes, uint64_t duration_ns) noexcept override;

    // While draining, /healthz answers 503.
    void set_draining(bool draining) { draining_ = draining; }

    uint64_t requests() const { return requests_; }

private:
    uv_loop_t* loop_;
    const config::Settings& settings_;
    offload::Pool& pool_;
    bool draining_ = false;
    uint64_t requests_ = 0;
};

}  // namespace forkd::app
