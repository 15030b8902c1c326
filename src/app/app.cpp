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

#include <arpa/inet.h>
#include <netinet/in.h>

#include <memory>
#include <new>

#include <unistd.h>

#include <spdlog/spdlog.h>

#include "app/endpoints.hpp"
#include "app/fib.hpp"
#include "stats/snapshot.hpp"

namespace forkd::app {

struct App::TimerWait {
    uv_timer_t timer;
    App* app = nullptr;
    http::Connection* conn = nullptr;
    stats::Endpoint endpoint = stats::Endpoint::other;
    http::Response response;    // the answer, ready before the wait starts
    TimerWait* prev = nullptr;  // App's list of waiting timers
    TimerWait* next = nullptr;
};

namespace {

// One request's work on a pool thread. The pool sees only the Job base.
struct WorkJob : offload::Job {
    App* app = nullptr;
    http::Connection* conn = nullptr;
    Action action = Action::respond;
    uint64_t param = 0;       // n or ms
    uint64_t fib = 0;         // F(n), for the par mode's timer
    http::Response response;  // built on the pool thread
    bool failed = false;      // run() could not build the response
};

// Which scoreboard counters a request of this action is counted in.
stats::Endpoint endpoint_of(Action action)
{
    switch (action) {
    case Action::respond: return stats::Endpoint::other;
    case Action::hello_inline: return stats::Endpoint::hello_inline;
    case Action::hello_offload: return stats::Endpoint::hello_offload;
    case Action::sleep_timer: return stats::Endpoint::sleep_timer;
    case Action::sleep_offload: return stats::Endpoint::sleep_offload;
    case Action::sleep_block: return stats::Endpoint::sleep_block;
    case Action::fib_inline: return stats::Endpoint::fib_inline;
    case Action::fib_offload: return stats::Endpoint::fib_offload;
    case Action::fibo_sleep_par: return stats::Endpoint::fibo_sleep_par;
    case Action::fibo_sleep_async: return stats::Endpoint::fibo_sleep_async;
    case Action::fibo_sleep_baseline: return stats::Endpoint::fibo_sleep_baseline;
    case Action::fibo_sleep_offload: return stats::Endpoint::fibo_sleep_offload;
    case Action::healthz: return stats::Endpoint::healthz;
    case Action::stats: return stats::Endpoint::stats;
    case Action::metrics: return stats::Endpoint::metrics;
    }
    return stats::Endpoint::other;
}

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
            case Action::hello_offload: job->response = hello_response(); break;
            case Action::sleep_offload:
                sleep_blocking_ns(job->param * 1000000);
                job->response = sleep_response(job->param);
                break;
            case Action::fib_offload: job->response = fib_response(n, fib(n)); break;
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
        App& app = *job->app;
        const stats::Endpoint endpoint = endpoint_of(job->action);
        if (job->failed) {
            spdlog::error("offload job {} failed", to_string(job->action));
            app.answer(conn, endpoint, internal_error_response("the offload job failed"));
            return;
        }
        if (job->action == Action::fibo_sleep_par) {
            http::Response now;
            if (!app.respond_later(conn, endpoint, fibo_sleep_timer_ms(job->fib), std::move(job->response), now))
                return;
            app.answer(conn, endpoint, std::move(now));
            return;
        }
        app.answer(conn, endpoint, std::move(job->response));
    }

    static void on_timer(uv_timer_t* timer) noexcept
    {
        auto* wait = static_cast<App::TimerWait*>(timer->data);
        wait->app->fire(wait, std::move(wait->response));
    }

    static void on_timer_closed(uv_handle_t* handle) noexcept { delete static_cast<App::TimerWait*>(handle->data); }
};

App::App(uv_loop_t* loop, const config::Settings& settings, offload::Pool& pool, WorkerIdentity identity,
         stats::WorkerEntry* scoreboard)
    : loop_(loop), settings_(settings), pool_(pool), identity_(identity),
      board_(scoreboard ? std::make_unique<stats::Scoreboard>(stats::Scoreboard::attach(*scoreboard))
                        : std::make_unique<stats::Scoreboard>(1)),
      entry_(scoreboard ? scoreboard : &board_->entry(0))
{
    std::string bad;
    if (!stats_allow_.assign(settings.stats.allow, &bad))
        spdlog::warn("stats.allow: ignoring \"{}\" (not an address or CIDR)", bad);
}

void App::on_request(http::Connection& conn, const http::Request& request) noexcept
{
    entry_->in_flight.store(entry_->in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    // Tell the master's watchdog what the loop is doing until we return to
    // it (inline work, a blocking sleep): the request it will name.
    stats::loop_busy_with(*entry_, request.method_name(), request.target, uv_now(loop_));
    struct LoopFree {
        stats::WorkerEntry& entry;
        ~LoopFree() { stats::loop_busy_done(entry); }
    } loop_free{*entry_};
    http::Response now;
    stats::Endpoint endpoint = stats::Endpoint::other;
    try {
        Plan p = plan(request, settings_);
        // With stats.bind, /stats and /metrics live on that address only,
        // and it serves nothing else but /healthz.
        if (!settings_.stats.bind.empty() && p.action != Action::respond) {
            const bool stats_route = p.action == Action::stats || p.action == Action::metrics;
            if (conn.context().admin ? !stats_route && p.route != Route::healthz : stats_route) {
                p.action = Action::respond;
                p.response = http::error_response(
                    404, conn.context().admin ? "no such path on stats.bind: it serves /stats, /metrics and /healthz"
                                              : "no such path here: /stats and /metrics are served on stats.bind (" +
                                                    settings_.stats.bind + ")");
            }
        }
        endpoint = endpoint_of(p.action);
        if (!execute(conn, p, now))
            return;  // a timer or a job answers
    } catch (...) {
        // Only allocation throws here, and only before the request was
        // handed on: answering now is answering once.
        now = http::Response{};
        now.status = 500;
        now.body = "{\"error\":\"internal error: out of memory\",\"status\":500}";
    }
    answer(conn, endpoint, std::move(now));
}

void App::answer(http::Connection& conn, stats::Endpoint endpoint, http::Response&& response) noexcept
{
    entry_->in_flight.store(entry_->in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    // respond() queues the response (calling on_response) before it resumes
    // any pipelined request, whose own answer() nests inside this one.
    answering_ = endpoint;
    conn.respond(std::move(response));
    answering_ = stats::Endpoint::other;
}

void App::on_response(const http::Connection& conn, const http::Request& request, int status, std::size_t bytes,
                      uint64_t duration_ns) noexcept
{
    if (access_log_ != nullptr)
        write_access_log(conn, request, status, bytes, duration_ns);
    ++requests_;
    // The hot path of the statistics: a few relaxed stores, no lock, no
    // allocation, no system call (see stats/scoreboard.hpp).
    stats::record_response(*entry_, answering_, status, duration_ns);
    const http::Context& ctx = conn.context();
    entry_->bytes_in.store(ctx.bytes_in, std::memory_order_relaxed);
    entry_->bytes_out.store(ctx.bytes_out, std::memory_order_relaxed);
}

void App::write_access_log(const http::Connection& conn, const http::Request& request, int status, std::size_t bytes,
                           uint64_t duration_ns) noexcept
{
    char peer[INET6_ADDRSTRLEN] = "-";
    sockaddr_storage ss{};
    if (conn.peer(ss)) {
        const void* addr = ss.ss_family == AF_INET6
                               ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr)
                               : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr);
        inet_ntop(ss.ss_family, addr, peer, sizeof peer);
    }
    log::AccessRecord r;
    r.peer = peer;
    r.method = request.method_name();
    r.target = request.target;
    r.version_major = request.version_major;
    r.version_minor = request.version_minor;
    r.status = status;
    r.bytes = bytes;
    r.referer = request.referer;
    r.user_agent = request.user_agent;
    r.seconds = double(duration_ns) / 1e9;
    r.worker = identity_.slot;
    try {
        access_log_->write(r);
    } catch (const std::exception&) {
        // A log line is never worth a request: drop it (spdlog reports its own errors).
    }
}

bool App::execute(http::Connection& conn, Plan& p, http::Response& now)
{
    const int n = static_cast<int>(p.param);
    switch (p.action) {
    case Action::respond: now = std::move(p.response); return true;

    case Action::hello_inline: now = hello_response(); return true;

    case Action::sleep_timer:
        return respond_later(conn, stats::Endpoint::sleep_timer, p.param, sleep_response(p.param), now);

    case Action::sleep_block:
        // Deliberately on the loop: every other connection of this worker
        // waits too (seed 002's time.sleep in an async def).
        sleep_blocking_ns(p.param * 1000000);
        now = sleep_response(p.param);
        return true;

    case Action::fib_inline: now = fib_response(n, fib(n)); return true;

    case Action::fibo_sleep_async: {
        // seed 000's async: the CPU part on the loop, then a non-blocking wait.
        const uint64_t f = fib(n);
        return respond_later(conn, stats::Endpoint::fibo_sleep_async, fibo_sleep_timer_ms(f), fibo_sleep_response(n, f),
                             now);
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
    case Action::fibo_sleep_offload: return submit_job(conn, p, now);

    case Action::healthz: now = healthz_response(draining_); return true;

    case Action::stats: now = peer_allowed(conn) ? stats_now(false) : forbidden_response(); return true;

    case Action::metrics: now = peer_allowed(conn) ? stats_now(true) : forbidden_response(); return true;
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

bool App::respond_later(http::Connection& conn, stats::Endpoint endpoint, uint64_t delay_ms, http::Response&& response,
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
    wait->endpoint = endpoint;
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
    const stats::Endpoint endpoint = wait->endpoint;
    http::Response reply = std::move(response);
    uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), &AppCallbacks::on_timer_closed);
    answer(*conn, endpoint, std::move(reply));
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
    if (conn.context().admin)
        return true;  // the stats.bind address is the access control
    sockaddr_storage peer{};
    if (!conn.peer(peer))
        return false;
    return stats_allow_.allows(peer);
}

// /stats or /metrics: the whole board as it is now (rendering is the only
// place where percentiles are computed).
http::Response App::stats_now(bool prometheus) const
{
    const stats::Snapshot snap = stats::take_snapshot(*board_);
    if (prometheus)
        return metrics_response(snap);
    return stats_response(snap, stats::ServedBy{long(getpid()), identity_.slot, identity_.generation});
}

}  // namespace forkd::app
