// app/admin.cpp: the stats.bind handler (admin.hpp).
#include "app/admin.hpp"

#include "app/endpoints.hpp"
#include "app/routes.hpp"

namespace forkd::app {

void AdminHandler::on_request(http::Connection& conn, const http::Request& request) noexcept
{
    accounting_.request_taken(request, uv_now(loop_));
    http::Response now;
    std::size_t endpoint = other_endpoint;
    try {
        Plan p = plan(request, settings_);
        endpoint = p.endpoint;
        if (p.answer_ready()) {
            now = std::move(p.answer);
        } else if (p.route == Route::healthz) {
            now = healthz_response(draining_ || accounting_.host_draining());
        } else if (p.route == Route::stats || p.route == Route::metrics) {
            now = accounting_.stats_page(p.route == Route::metrics);
        } else if (p.route == Route::status) {
            now = status_response();
        } else {
            endpoint = other_endpoint;
            now = http::error_response(404,
                                       "no such path on stats.bind: it serves /stats, /metrics, /status and /healthz");
        }
    } catch (...) {
        endpoint = other_endpoint;
        now = out_of_memory_response();
    }
    accounting_.loop_free();
    accounting_.request_answered();
    conn.respond(std::move(now), tag_of(endpoint));
}

void AdminHandler::on_response(const http::Connection& conn, const http::Request& request,
                               const http::Sent& sent) noexcept
{
    accounting_.sent(conn, request, sent);
}

}  // namespace forkd::app
