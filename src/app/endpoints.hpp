// app/endpoints.hpp: the endpoints' handlers and the bodies they answer with, as pure functions.
//
// Owns the exact text of every app response (DESIGN.md, "Endpoints"): the
// successful answers and the app's own errors (403, 500, 503), and the
// handlers that the endpoint table's rows name (hello_work, fib_work...).
// They are built here, apart from the loop, so that tests can check them
// byte for byte and pool threads can run them. Does not decide which one to
// run (routes.cpp, table.hpp), nor where (dispatch.cpp), nor send them.
#pragma once

#include <cstdint>
#include <string>

#include "http/response.hpp"
#include "stats/render.hpp"
#include "stats/snapshot.hpp"

namespace forkd::app {

// What an endpoint's handler computes: the answer, and how long the client
// waits after the computation (the table's Wait says how: a timer or a
// blocking sleep). Built wherever the row's Place says, so handlers are pure
// and safe on any thread.
struct Work {
    http::Response response;
    uint64_t wait_ns = 0;
};
// `param` is the route's path parameter (n or ms, within the limits), 0 without one.
using EndpointHandler = Work (*)(uint64_t param);

// The handlers of the endpoint table (app/table.hpp).
Work hello_work(uint64_t);
Work sleep_work(uint64_t ms);         // {"slept_ms"} after ms
Work fib_work(uint64_t n);            // F(n)
Work fibo_sleep_work(uint64_t n);     // F(n), then F(n)/1e6 s
uint64_t timer_ms(uint64_t wait_ns);  // a wait for a uv timer, rounded up: never shorter

// GET /hello: text/plain "hello".
http::Response hello_response();

// GET /sleep/{ms}: {"slept_ms": ms}
http::Response sleep_response(uint64_t ms);

// GET /fib/{n}: {"n": n, "fib": f}
http::Response fib_response(int n, uint64_t f);

// GET /fibo_sleep/{n}: {"n": n, "fib": f, "slept_s": f / 1e6}
http::Response fibo_sleep_response(int n, uint64_t f);

// How long /fibo_sleep/{n} sleeps after computing f: f / 1e6 seconds (seed 000).
inline uint64_t fibo_sleep_ns(uint64_t f)
{
    return f * 1000;
}

// f / 1e6 as an exact decimal with six places ("0.006765", "102.334155").
std::string micro_to_seconds_text(uint64_t micro);

// GET /healthz: 200 text/plain "ok", or 503 "draining".
http::Response healthz_response(bool draining);

// GET /stats: the scoreboard as JSON (schema: README.md, "Statistics"), with
// the answering worker as "served_by". GET /metrics: the same in the
// Prometheus text format.
http::Response stats_response(const stats::Snapshot& snap, const stats::ServedBy& served_by);
http::Response metrics_response(const stats::Snapshot& snap);

// GET /status: the status page (status.html, built in), text/html, with a
// Content-Security-Policy that lets it load nothing but /stats: the page is
// self-contained, and a browser holds it to that.
http::Response status_response();

// 403 for a peer outside stats.allow.
http::Response forbidden_response();

// 503: an offload mode, but this worker has no offload threads.
http::Response no_threads_response();

// 503 with Retry-After: the offload queue is full.
http::Response queue_full_response();

// 500: the app could not do what it planned (a libuv call or an allocation
// failed); `what` says which, for the client and the log.
http::Response internal_error_response(const std::string& what);

// 500 "internal error: out of memory", built without throwing (an empty
// 500 when even that cannot be allocated).
http::Response out_of_memory_response() noexcept;

}  // namespace forkd::app
