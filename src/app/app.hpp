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
#include <memory>

#include <uv.h>

#include "app/allow.hpp"
#include "app/routes.hpp"
#include "config/settings.hpp"
#include "http/connection.hpp"
#include "log/access.hpp"
#include "offload/pool.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::app {

// Who this worker is, for /stats ("served_by") and log lines.
struct WorkerIdentity {
    int slot = 0;
    int generation = 1;
};

class App final : public http::Handler {
public:
    // `scoreboard`: this worker's entry, which every response is counted in
    // and through which /stats and /metrics read the whole board. nullptr
    // (tests): the app maps a private one-entry board.
    App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool, WorkerIdentity identity,
        stats::WorkerEntry* scoreboard = nullptr);

    void on_request(http::Connection& conn, const http::Request& request) noexcept override;
    void on_response(const http::Connection& conn, const http::Request& request, int status, std::size_t bytes,
                     uint64_t duration_ns) noexcept override;

    // While draining, /healthz answers 503.
    void set_draining(bool draining) { draining_ = draining; }

    // Write a line per response here (nullptr: no access log).
    void set_access_log(log::AccessLog* access_log) { access_log_ = access_log; }

    uint64_t requests() const { return requests_; }

    // Answer every request still waiting on an app timer (/sleep timer mode,
    // /fibo_sleep par and async) now with a 503, and close the timers: for a
    // worker that must stop before they fire. Returns how many there were.
    // Jobs on the pool cannot be cancelled; Pool::close() finishes them.
    std::size_t cancel_timers() noexcept;

    // Requests waiting on an app timer now.
    std::size_t pending_timers() const { return pending_timers_; }

    struct TimerWait;  // one request waiting on a uv timer (app.cpp)

private:
    friend struct AppCallbacks;  // the libuv and pool trampolines (app.cpp)

    // Do what `plan` says. true: answer `now` at once; false: the request was
    // handed to a timer or a job, which will answer it.
    bool execute(http::Connection& conn, Plan& plan, http::Response& now);
    bool submit_job(http::Connection& conn, const Plan& plan, http::Response& now);
    // Answer with `response` after `delay_ms`, keeping the loop free. Same
    // return convention as execute(): on failure `now` holds a 500.
    bool respond_later(http::Connection& conn, stats::Endpoint endpoint, uint64_t delay_ms, http::Response&& response,
                       http::Response& now) noexcept;
    // Every answer of the app goes through here: it tells on_response which
    // endpoint the response is for, and ends the request's time in flight.
    void answer(http::Connection& conn, stats::Endpoint endpoint, http::Response&& response) noexcept;
    void fire(TimerWait* wait, http::Response&& response) noexcept;
    bool peer_allowed(const http::Connection& conn) const;
    void write_access_log(const http::Connection& conn, const http::Request& request, int status, std::size_t bytes,
                          uint64_t duration_ns) noexcept;
    http::Response stats_now(bool prometheus) const;

    uv_loop_t* loop_;
    const config::Settings& settings_;
    offload::Pool& pool_;
    WorkerIdentity identity_;
    bool draining_ = false;
    log::AccessLog* access_log_ = nullptr;
    uint64_t requests_ = 0;

    AllowList stats_allow_;                     // settings.stats.allow, parsed once
    std::unique_ptr<stats::Scoreboard> board_;  // the whole board (a view, or our own)
    stats::WorkerEntry* entry_;                 // ours, in board_
    // The endpoint of the response being queued now: set by answer() around
    // conn.respond(), read by on_response(). Responses the connection makes
    // itself (parse errors, timeouts) arrive with the default, "other".
    stats::Endpoint answering_ = stats::Endpoint::other;
    TimerWait* timers_ = nullptr;  // intrusive list of waiting timers, for cancel_timers()
    std::size_t pending_timers_ = 0;
};

}  // namespace forkd::app
