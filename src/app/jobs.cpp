// app/jobs.cpp: offload jobs (jobs.hpp).
#include "app/jobs.hpp"

#include <memory>
#include <new>

#include <spdlog/spdlog.h>

#include "app/endpoints.hpp"
#include "app/fib.hpp"
#include "app/table.hpp"

namespace forkd::app {

namespace {

// One request's work on a pool thread. The pool sees only the Job base.
struct WorkJob : offload::Job {
    Responder* responder = nullptr;
    Timers* timers = nullptr;
    http::Connection* conn = nullptr;
    std::size_t endpoint = 0;
    uint64_t param = 0;   // n or ms
    Work work;            // built on the pool thread
    bool failed = false;  // run() could not build the answer
};

// On a pool thread: the row's work, and its blocking wait if it has one.
// Touches only the job.
void run_job(offload::Job* base) noexcept
{
    auto* job = static_cast<WorkJob*>(base);
    try {
        const EndpointRow& row = endpoint_table[job->endpoint];
        job->work = row.handler(job->param);
        if (row.wait == Wait::block)
            sleep_blocking_ns(job->work.wait_ns);
    } catch (...) {
        job->failed = true;
    }
}

// On the loop: answer, or start the timer that answers.
void job_done(offload::Job* base) noexcept
{
    std::unique_ptr<WorkJob> job(static_cast<WorkJob*>(base));
    const EndpointRow& row = endpoint_table[job->endpoint];
    http::Response now;
    if (job->failed) {
        spdlog::error("offload job {} {} failed", route_row(row.route).pattern, row.mode);
        now = internal_error_response("the offload job failed");
    } else if (row.wait == Wait::timer) {
        if (!job->timers->start(*job->conn, job->endpoint, timer_ms(job->work.wait_ns), std::move(job->work.response),
                                now))
            return;
    } else {
        now = std::move(job->work.response);
    }
    job->responder->answer(*job->conn, job->endpoint, std::move(now));
}

}  // namespace

bool submit_job(offload::Pool& pool, Responder& responder, Timers& timers, http::Connection& conn, std::size_t endpoint,
                uint64_t param, http::Response& now)
{
    if (pool.threads() == 0) {
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
    job->run = &run_job;
    job->done = &job_done;
    job->responder = &responder;
    job->timers = &timers;
    job->conn = &conn;
    job->endpoint = endpoint;
    job->param = param;
    if (pool.submit(job) != 0) {  // UV_EAGAIN, the queue is full (threads checked above)
        delete job;
        now = queue_full_response();
        return true;
    }
    return false;
}

}  // namespace forkd::app
