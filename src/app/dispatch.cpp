// app/dispatch.cpp: running a plan where its table row says (App::run).
//
// Owns the meaning of the table's Place and Wait columns: work on the loop
// (now, or at the end of the loop turn), on the pool (jobs.cpp), or from the
// app's own state; then answer at once,
// after a uv timer (timers.cpp), or after a blocking sleep where the work
// ran. Must not look at a route or a mode by name: the row says it all.
#include "app/app.hpp"
#include "app/echo.hpp"
#include "app/endpoints.hpp"
#include "app/fib.hpp"
#include "app/jobs.hpp"

namespace forkd::app {

bool App::run(http::Connection& conn, Plan& p, http::Response& now)
{
    if (p.answer_ready()) {
        now = std::move(p.answer);
        return true;
    }
    const EndpointRow& row = p.row();
    switch (row.place) {
    case Place::app: now = page(conn, row.route); return true;
    case Place::offload: return submit_job(pool_, *this, timers_, conn, p.endpoint, p.param, now);
    case Place::loop_last: return timers_.defer(conn, p.endpoint, p.param, now);  // resume() runs it
    case Place::loop: break;
    }
    return run_here(conn, p.endpoint, p.param, now);
}

// The work of a loop row, on the loop, now.
bool App::run_here(http::Connection& conn, std::size_t endpoint, uint64_t param, http::Response& now)
{
    const EndpointRow& row = endpoint_table[endpoint];
    Work work = row.handler(param);
    switch (row.wait) {
    case Wait::none: break;
    case Wait::block:
        // Deliberately on the loop: every other connection of this worker
        // waits too (seed 002's time.sleep in an async def, seed 000's baseline).
        sleep_blocking_ns(work.wait_ns);
        break;
    case Wait::timer: return timers_.start(conn, endpoint, timer_ms(work.wait_ns), std::move(work.response), now);
    }
    now = std::move(work.response);
    return true;
}

http::Response App::page(const http::Connection& conn, Route route) const
{
    switch (route) {
    case Route::healthz: return healthz_response(draining_ || accounting_.host_draining());
    case Route::stats: return peer_allowed(conn) ? accounting_.stats_page(false) : forbidden_response();
    case Route::metrics: return peer_allowed(conn) ? accounting_.stats_page(true) : forbidden_response();
    case Route::echo: return echo_response(conn.request());
    case Route::status: return peer_allowed(conn) ? status_response() : forbidden_response();
    default: break;
    }
    return internal_error_response("no page for this route");
}

bool App::peer_allowed(const http::Connection& conn) const
{
    sockaddr_storage peer{};
    if (!conn.peer(peer))
        return false;
    return stats_allow_.allows(peer);
}

}  // namespace forkd::app
