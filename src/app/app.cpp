// app/app.cpp: App, the handler of the main addresses: take a request, answer it once (app.hpp).
//
// Owns the request's way in (accounting, plan, the stats.bind split) and
// its way out (answer()). What a plan does is dispatch.cpp's; the bodies
// are endpoints.cpp's. Must not build response text of its own.
#include "app/app.hpp"

#include <spdlog/spdlog.h>

#include "app/endpoints.hpp"

namespace forkd::app {

App::App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool, Accounting& accounting,
         const bool& draining)
    : loop_(loop), settings_(settings), pool_(pool), accounting_(accounting), draining_(draining), timers_(loop, *this)
{
    std::string bad;
    if (!stats_allow_.assign(settings.stats.allow, &bad))
        spdlog::warn("stats.allow: ignoring \"{}\" (not an address or CIDR)", bad);
}

void App::on_request(http::Connection& conn, const http::Request& request) noexcept
{
    accounting_.request_taken(request, uv_now(loop_));
    struct LoopFree {
        Accounting& accounting;
        ~LoopFree() { accounting.loop_free(); }
    } loop_free{accounting_};
    http::Response now;
    std::size_t endpoint = other_endpoint;
    try {
        Plan p = plan(request, settings_);
        // With stats.bind, /stats, /metrics and /status live on that address only.
        if (!settings_.stats.bind.empty() && !p.answer_ready() &&
            (p.route == Route::stats || p.route == Route::metrics || p.route == Route::status)) {
            p.endpoint = other_endpoint;
            const std::string where = "stats.bind (" + settings_.stats.bind + ")";
            p.answer =
                http::error_response(404, "no such path here: /stats, /metrics and /status are served on " + where);
        }
        endpoint = p.endpoint;
        if (!run(conn, p, now))
            return;  // a timer or a job answers
    } catch (...) {
        // Only allocation throws here, and only before the request was
        // handed on: answering now is answering once.
        endpoint = other_endpoint;
        now = out_of_memory_response();
    }
    answer(conn, endpoint, std::move(now));
}

void App::resume(http::Connection& conn, std::size_t endpoint, uint64_t param) noexcept
{
    // The loop takes the request now: for the watchdog and busy steering,
    // and for X-Process-Time (as in the seeds: the time the loop spent on
    // it, not the time it waited behind other blocking work).
    conn.restart_clock();
    accounting_.loop_busy_with(conn.request(), uv_now(loop_));
    struct LoopFree {
        Accounting& accounting;
        ~LoopFree() { accounting.loop_free(); }
    } loop_free{accounting_};
    http::Response now;
    try {
        if (!run_here(conn, endpoint, param, now))
            return;  // a timer answers
    } catch (...) {
        now = out_of_memory_response();
    }
    answer(conn, endpoint, std::move(now));
}

void App::answer(http::Connection& conn, std::size_t endpoint, http::Response&& response) noexcept
{
    accounting_.request_answered();
    // While the host drains, every answer ends its keep-alive connection
    // (in-band, with Connection: close, so a balancer never reuses a
    // connection we are closing); new connections are still served.
    response.close = response.close || accounting_.host_draining();
    // respond() queues the response (calling on_response with the tag)
    // before it resumes any pipelined request.
    conn.respond(std::move(response), tag_of(endpoint));
}

void App::on_response(const http::Connection& conn, const http::Request& request, const http::Sent& sent) noexcept
{
    accounting_.sent(conn, request, sent);
}

}  // namespace forkd::app
