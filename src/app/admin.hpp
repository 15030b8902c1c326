// app/admin.hpp: the handler of the stats.bind address.
//
// AdminHandler serves /stats, /metrics, /status and /healthz and nothing else (404
// for the other routes, the usual 404/405/400 for the rest). The address is
// its access control: no stats.allow check. Its requests are counted like
// any other (accounting.hpp). So http/ never needs to know that an address
// is "admin": the worker gives this Context this handler.
// Must not run endpoint work (no timers, no pool).
#pragma once

#include <uv.h>

#include "app/accounting.hpp"
#include "config/settings.hpp"
#include "http/connection.hpp"

namespace forkd::app {

class AdminHandler final : public http::Handler {
public:
    AdminHandler(uv_loop_t* loop, const config::Settings& settings, Accounting& accounting, const bool& draining)
        : loop_(loop), settings_(settings), accounting_(accounting), draining_(draining)
    {
    }

    void on_request(http::Connection& conn, const http::Request& request) noexcept override;
    void on_response(const http::Connection& conn, const http::Request& request,
                     const http::Sent& sent) noexcept override;

private:
    uv_loop_t* loop_;
    const config::Settings& settings_;
    Accounting& accounting_;
    const bool& draining_;
};

}  // namespace forkd::app
