// app/app.cpp: App, the http::Handler of a worker: runs the plan for each
// request on the loop, on a uv timer, or as a job on the offload pool.
//
// Owns the in-flight work of the endpoints: TimerWait (a heap struct
// embedding its uv_timer_t, freed only in the close callback) and WorkJob
// (an offload::Job with the inputs and the result, freed by its done()).
// Each keeps the http::Connection& until it responds, which the Connection
// allows (it lives until respond(); see http/connection.hpp). Every request
// is answered exactly once. Routing and response text are routes.cpp's and
// endpoints.cpp's; this file must not grow its own.
// Must not touch the connection's socket or the worker's handles.
#include "app/app.hpp"

#include <memory>
#include <new>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/endpoints.hpp"
#include "app/fib.hpp"

namespace forkd::app {

struct App::TimerWait {
    uv_timer_t timer;
    App* app = nullptr;
    http::Connection* conn = nullptr;
    http::Response response;     // the answer, ready before the wait starts
    TimerWait* prev = nullptr;   // App's list of waiting timers
    TimerWait* next = nullptr;
};

namespace {

// One request's work on a pool thread. The pool sees only the Job base.
struct WorkJob : offload::Job {
    App* app = nullptr;
    http::Connection* conn = nullptr;
    Action action = Action::respond;
    uint64_t param = 0;          // n or ms
    uint64_t fib = 0;            // F(n), for the par mode's timer
    http::Response response;     // built on the pool thread
    bool failed = false;         // run() could not build the response
};

}  // namespace

// The C callbacks of libuv and of the pool, reaching App's members. None lets
// an exception out.
struct AppCallbacks {
    // On a pool thread: the blocking part of the request. Touches only the job.
    static void run_job(offload::Job* base) noexcept
    {
        auto* job = static_cast<WorkJob*>(base);
        try {
            const int n = static_cast<int>(job->param);
            switch (job->action) {
            case Action::hello_offload:
                job->response = hello_response();
                break;
            case Action::sleep_offload:
                sleep_blocking_ns(job->param * 1000000);
                job->response = sleep_response(job->param);
                break;
            case Action::fib_offload:
                job->response = fib_response(n, fib(n));
                break;
            case Action::fibo_sleep_par:
                // Only the CPU part here; the sleep is a timer on the loop.
                job->fib = fib(n);
                job->response = fibo_sleep_response(n, job->fib);
                break;
            case Action::fibo_sleep_offload:
                job->fib = fib(n);
                sleep_blocking_ns(fibo_sleep_ns(job->fib));
                job->response = fibo_sleep_response(n, job->fib);
                break;
            default:
                job->failed = true;  // not a pool action: a bug in execute()
                break;
            }
        } catch (...) {
            job->failed = true;
        }
    }

    // On the loop: answer, or (par) start the timer that answers.
    static void job_done(offload::Job* base) noexcept
    {
        std::unique_ptr<WorkJob> job(static_cast<WorkJob*>(base));
        http::Connection& conn = *job->conn;
        if (job->failed) {
            spdlog::error("offload job {} failed", to_string(job->action));
            conn.respond(internal_error_response("the offload job failed"));
            return;
        }
        if (job->action == Action::fibo_sleep_par) {
            http::Response now;
            if (!job->app->respond_later(conn, fibo_sleep_timer_ms(job->fib),
                                         std::move(job->response), now))
                return;
            conn.respond(std::move(now));
            return;
        }
        conn.respond(std::move(job->response));
    }

    static void on_timer(uv_timer_t* timer) noexcept
    {
        auto* wait = static_cast<App::TimerWait*>(timer->data);
        wait->app->fire(wait, std::move(wait->response));
    }

    static void on_timer_closed(uv_handle_t* handle) noexcept
    {
        delete static_cast<App::TimerWait*>(handle->data);
    }
};

App::App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool,
         WorkerIdentity identity)
    : loop_(loop), settings_(settings), pool_(pool), identity_(identity)
{
    std::string bad;
    if (!stats_allow_.assign(settings.stats.allow, &bad))
        spdlog::warn("stats.allow: ignoring \"{}\" (not an address or CIDR)", bad);
}

void App::on_request(http::Connection& conn, const http::Request& request) noexcept
{
    http::Response now;
    try {
        Plan p = plan(request, settings_);
        if (!execute(conn, p, now))
            return;  // a timer or a job answers
    } catch (...) {
        // Only allocation throws here, and only before the request was
        // handed on: answering now is answering once.
        now = http::Response{};
        now.status = 500;
        now.body = "{\"error\":\"internal error: out of memory\",\"status\":500}";
    }
    conn.respond(std::move(now));
}

void App::on_response(const http::Connection&, const http::Request&, int, std::size_t,
                      uint64_t) noexcept
{
    ++requests_;
}

bool App::execute(http::Connection& conn, Plan& p, http::Response& now)
{
    const int n = static_cast<int>(p.param);
    switch (p.action) {
    case Action::respond:
        now = std::move(p.response);
        return true;

    case Action::hello_inline:
        now = hello_response();
        return true;

    case Action::sleep_timer:
        return respond_later(conn, p.param, sleep_response(p.param), now);

    case Action::sleep_block:
        // Deliberately on the loop: every other connection of this worker
        // waits too (seed 002's time.sleep in an async def).
        sleep_blocking_ns(p.param * 1000000);
        now = sleep_response(p.param);
        return true;

    case Action::fib_inline:
        now = fib_response(n, fib(n));
        return true;

    case Action::fibo_sleep_async: {
        // seed 000's async: the CPU part on the loop, then a non-blocking wait.
        const uint64_t f = fib(n);
        return respond_later(conn, fibo_sleep_timer_ms(f), fibo_sleep_response(n, f), now);
    }

    case Action::fibo_sleep_baseline: {
        // seed 000's baseline: fib and time.sleep, both on the loop.
        const uint64_t f = fib(n);
        sleep_blocking_ns(fibo_sleep_ns(f));
        now = fibo_sleep_response(n, f);
        return true;
    }

    case Action::hello_offload:
    case Action::sleep_offload:
    case Action::fib_offload:
    case Action::fibo_sleep_par:
    case Action::fibo_sleep_offload:
        return submit_job(conn, p, now);

    case Action::healthz:
        now = healthz_response(draining_);
        return true;

    case Action::stats:
        now = peer_allowed(conn)
                  ? stats_response(long(getpid()), identity_.slot, identity_.generation, requests_)
                  : forbidden_response();
        return true;

    case Action::metrics:
        now = peer_allowed(conn) ? metrics_response(identity_.slot, requests_)
                                 : forbidden_response();
        return true;
    }
    now = internal_error_response("unknown action");
    return true;
}

bool App::submit_job(http::Connection& conn, const Plan& p, http::Response& now)
{
    if (pool_.threads() == 0) {
        // plan() refuses this when settings.threads is 0; a pool built
        // otherwise must not silently run the work inline either.
        now = no_threads_response();
        return true;
    }
    auto* job = new (std::nothrow) WorkJob;
    if (!job) {
        now = internal_error_response("out of memory");
        return true;
    }
    job->run = &AppCallbacks::run_job;
    job->done = &AppCallbacks::job_done;
    job->app = this;
    job->conn = &conn;
    job->action = p.action;
    job->param = p.param;
    if (!pool_.submit(job)) {
        delete job;
        now = queue_full_response();
        return true;
    }
    return false;
}

bool App::respond_later(http::Connection& conn, uint64_t delay_ms, http::Response&& response,
                        http::Response& now) noexcept
{
    auto* wait = new (std::nothrow) TimerWait;
    if (!wait) {
        now = internal_error_response("out of memory");
        return true;
    }
    int rc = uv_timer_init(loop_, &wait->timer);
    if (rc != 0) {
        spdlog::error("uv_timer_init: {}", uv_err_name(rc));
        delete wait;  // never registered with the loop: no close needed
        now = internal_error_response("uv_timer_init failed");
        return true;
    }
    wait->timer.data = wait;
    wait->app = this;
    wait->conn = &conn;
    wait->response = std::move(response);
    // The loop's clock was read before this request's work began; inline
    // work (fibo_sleep async) may have taken a while since. Without this the
    // timer would count from a stale "now" and fire early.
    uv_update_time(loop_);
    rc = uv_timer_start(&wait->timer, &AppCallbacks::on_timer, delay_ms, 0);
    if (rc != 0) {
        spdlog::error("uv_timer_start: {}", uv_err_name(rc));
        uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), &AppCallbacks::on_timer_closed);
        now = internal_error_response("uv_timer_start failed");
        return true;
    }
    wait->next = timers_;
    if (timers_)
        timers_->prev = wait;
    timers_ = wait;
    ++pending_timers_;
    return false;
}

void App::fire(TimerWait* wait, http::Response&& response) noexcept
{
    // Unlink and close first: respond() may resume a pipelined request,
    // which may start a timer of its own and touch the list.
    if (wait->prev)
        wait->prev->next = wait->next;
    else
        timers_ = wait->next;
    if (wait->next)
        wait->next->prev = wait->prev;
    wait->prev = wait->next = nullptr;
    --pending_timers_;
    http::Connection* conn = wait->conn;
    http::Response answer = std::move(response);
    uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), &AppCallbacks::on_timer_closed);
    conn->respond(std::move(answer));
}

std::size_t App::cancel_timers() noexcept
{
    std::size_t cancelled = 0;
    // fire() unlinks the head; a pipelined request that starts a new timer
    // from inside respond() is cancelled too, so the list ends up empty.
    while (timers_) {
        http::Response answer;
        try {
            answer = http::error_response(503, "the worker is shutting down");
        } catch (...) {
            answer.status = 503;  // out of memory: an empty 503 still answers
        }
        fire(timers_, std::move(answer));
        ++cancelled;
    }
    return cancelled;
}

bool App::peer_allowed(const http::Connection& conn) const
{
    sockaddr_storage peer{};
    if (!conn.peer(peer))
        return false;
    return stats_allow_.allows(peer);
}

}  // namespace forkd::app
