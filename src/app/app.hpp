// app/app.hpp: the endpoints a worker serves on its bind addresses (DESIGN.md, "Endpoints").
//
// App is the http::Handler of the worker's main Context: it plans each
// request (routes.hpp) and runs the plan (dispatch.cpp) on the loop, on a
// timer (timers.hpp) or on the offload pool (jobs.hpp). Every answer leaves
// through answer(), once, tagged with its endpoint, and comes back counted
// in on_response (accounting.hpp): no state is set around a respond().
// The stats.bind address has its own handler (admin.hpp).
// Does not own sockets, parsing or the worker's lifecycle; reads the
// worker's draining flag and the host's state (the board's, set by the
// master: forkd drain), never writes them.
#pragma once

#include <cstddef>
#include <cstdint>

#include <uv.h>

#include "app/accounting.hpp"
#include "app/allow.hpp"
#include "app/routes.hpp"
#include "app/timers.hpp"
#include "config/settings.hpp"
#include "http/connection.hpp"
#include "offload/pool.hpp"

namespace forkd::app {

class App final : public http::Handler, public Responder {
public:
    // `draining`: the worker's flag (while set, /healthz answers 503).
    App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool, Accounting& accounting,
        const bool& draining);

    void on_request(http::Connection& conn, const http::Request& request) noexcept override;
    void on_response(const http::Connection& conn, const http::Request& request,
                     const http::Sent& sent) noexcept override;

    // Send one answer of `endpoint` (a table row, or other_endpoint).
    void answer(http::Connection& conn, std::size_t endpoint, http::Response&& response) noexcept override;
    // A Place::loop_last request's turn: do its work on the loop now.
    void resume(http::Connection& conn, std::size_t endpoint, uint64_t param) noexcept override;

    // Answer every request still waiting on an app timer (or deferred) now with a 503 (see
    // Timers::cancel). Jobs on the pool cannot be cancelled; Pool::close()
    // finishes them.
    std::size_t cancel_timers() noexcept { return timers_.cancel(); }
    std::size_t pending_timers() const { return timers_.pending(); }

private:
    // Do what `plan` says (dispatch.cpp). true: answer `now` at once; false:
    // a timer or a job answers.
    bool run(http::Connection& conn, Plan& plan, http::Response& now);
    bool run_here(http::Connection& conn, std::size_t endpoint, uint64_t param, http::Response& now);
    // The rows the app answers from its own state (Place::app).
    http::Response page(const http::Connection& conn, Route route) const;
    bool peer_allowed(const http::Connection& conn) const;

    uv_loop_t* loop_;
    const config::Settings& settings_;
    offload::Pool& pool_;
    Accounting& accounting_;
    const bool& draining_;
    AllowList stats_allow_;  // settings.stats.allow, parsed once
    Timers timers_;
};

}  // namespace forkd::app
