// app/endpoints.cpp: the response bodies (see endpoints.hpp).
//
// Plain string building: safe on any thread, no loop, no globals.
#include "app/endpoints.hpp"

#include "app/fib.hpp"
#include "app/status_page.hpp"
#include "app/table.hpp"

namespace forkd::app {

namespace {

http::Response json(std::string body)
{
    http::Response response;
    response.body = std::move(body);
    return response;
}

}  // namespace

http::Response hello_response()
{
    http::Response response;
    response.content_type = "text/plain";
    response.body = "hello";
    return response;
}

http::Response sleep_response(uint64_t ms)
{
    return json("{\"slept_ms\":" + std::to_string(ms) + "}");
}

http::Response fib_response(int n, uint64_t f)
{
    return json("{\"n\":" + std::to_string(n) + ",\"fib\":" + std::to_string(f) + "}");
}

std::string micro_to_seconds_text(uint64_t micro)
{
    std::string fraction = std::to_string(micro % 1000000);
    return std::to_string(micro / 1000000) + "." + std::string(6 - fraction.size(), '0') + fraction;
}

http::Response fibo_sleep_response(int n, uint64_t f)
{
    return json("{\"n\":" + std::to_string(n) + ",\"fib\":" + std::to_string(f) +
                ",\"slept_s\":" + micro_to_seconds_text(f) + "}");
}

Work hello_work(uint64_t)
{
    return {hello_response(), 0};
}

Work sleep_work(uint64_t ms)
{
    return {sleep_response(ms), ms * 1000000};
}

Work fib_work(uint64_t n)
{
    return {fib_response(int(n), fib(int(n))), 0};
}

Work fibo_sleep_work(uint64_t n)
{
    const uint64_t f = fib(int(n));
    return {fibo_sleep_response(int(n), f), fibo_sleep_ns(f)};
}

uint64_t timer_ms(uint64_t wait_ns)
{
    return (wait_ns + 999999) / 1000000;
}

http::Response healthz_response(bool draining)
{
    http::Response response;
    response.content_type = "text/plain";
    response.status = draining ? 503 : 200;
    response.body = draining ? "draining" : "ok";
    return response;
}

http::Response stats_response(const stats::Snapshot& snap, const stats::ServedBy& served_by)
{
    return json(stats::render_json(snap, served_by, endpoint_labels()));
}

http::Response metrics_response(const stats::Snapshot& snap)
{
    http::Response response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = stats::render_prometheus(snap, endpoint_labels());
    return response;
}

http::Response status_response()
{
    http::Response response;
    response.content_type = "text/html; charset=utf-8";
    response.body = status_page_html();
    response.extra_headers = "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                             "style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; "
                             "form-action 'none'; frame-ancestors 'none'\r\n"
                             "X-Content-Type-Options: nosniff\r\n"
                             "Cache-Control: no-cache\r\n";
    return response;
}

http::Response forbidden_response()
{
    return http::error_response(403, "statistics are not available to this address "
                                     "(see the config key stats.allow)");
}

http::Response no_threads_response()
{
    return http::error_response(503, "offload mode needs offload threads: config key "
                                     "'threads' is 0");
}

http::Response queue_full_response()
{
    http::Response response = http::error_response(503, "offload queue is full, retry later");
    response.extra_headers = "Retry-After: 1\r\n";
    return response;
}

http::Response internal_error_response(const std::string& what)
{
    return http::error_response(500, "internal error: " + what);
}

http::Response out_of_memory_response() noexcept
{
    try {
        return internal_error_response("out of memory");
    } catch (...) {
        http::Response response;
        response.status = 500;
        return response;
    }
}

}  // namespace forkd::app
