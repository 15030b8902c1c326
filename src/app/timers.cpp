// app/timers.cpp: the waiting timers (timers.hpp).
#include "app/timers.hpp"

#include <new>

#include <spdlog/spdlog.h>

#include "app/endpoints.hpp"

namespace forkd::app {

struct Timers::Wait {
    uv_timer_t timer;
    Timers* owner = nullptr;
    http::Connection* conn = nullptr;
    std::size_t endpoint = 0;
    http::Response response;  // the answer, ready before the wait starts (start())
    bool deferred = false;    // defer(): resume with `param` instead of answering
    uint64_t param = 0;
    Wait* prev = nullptr;
    Wait* next = nullptr;
};

// The libuv callbacks; none lets an exception out.
struct TimerCallbacks {
    static void on_timer(uv_timer_t* timer) noexcept
    {
        auto* wait = static_cast<Timers::Wait*>(timer->data);
        wait->owner->fire(wait);
    }

    static void on_closed(uv_handle_t* handle) noexcept { delete static_cast<Timers::Wait*>(handle->data); }
};

// Allocate, link and start one wait. nullptr: `now` holds the 500 to answer.
Timers::Wait* Timers::begin(http::Connection& conn, std::size_t endpoint, uint64_t delay_ms,
                            http::Response& now) noexcept
{
    auto* wait = new (std::nothrow) Wait;
    if (!wait) {
        now = internal_error_response("out of memory");
        return nullptr;
    }
    int rc = uv_timer_init(loop_, &wait->timer);
    if (rc != 0) {
        spdlog::error("uv_timer_init: {}", uv_err_name(rc));
        delete wait;  // never registered with the loop: no close needed
        now = internal_error_response("uv_timer_init failed");
        return nullptr;
    }
    wait->timer.data = wait;
    wait->owner = this;
    wait->conn = &conn;
    wait->endpoint = endpoint;
    // The loop's clock was read before this request's work began; inline
    // work (fibo_sleep async) may have taken a while since. Without this the
    // timer would count from a stale "now" and fire early.
    uv_update_time(loop_);
    rc = uv_timer_start(&wait->timer, &TimerCallbacks::on_timer, delay_ms, 0);
    if (rc != 0) {
        spdlog::error("uv_timer_start: {}", uv_err_name(rc));
        uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), &TimerCallbacks::on_closed);
        now = internal_error_response("uv_timer_start failed");
        return nullptr;
    }
    wait->next = first_;
    if (first_)
        first_->prev = wait;
    first_ = wait;
    ++pending_;
    return wait;
}

bool Timers::start(http::Connection& conn, std::size_t endpoint, uint64_t delay_ms, http::Response&& response,
                   http::Response& now) noexcept
{
    Wait* wait = begin(conn, endpoint, delay_ms, now);
    if (wait == nullptr)
        return true;
    wait->response = std::move(response);
    return false;
}

bool Timers::defer(http::Connection& conn, std::size_t endpoint, uint64_t param, http::Response& now) noexcept
{
    Wait* wait = begin(conn, endpoint, 0, now);
    if (wait == nullptr)
        return true;
    wait->deferred = true;
    wait->param = param;
    return false;
}

// Unlink and close first: the answer may resume a pipelined request, which
// may start a timer of its own and touch the list.
void Timers::end(Wait* wait) noexcept
{
    if (wait->prev)
        wait->prev->next = wait->next;
    else
        first_ = wait->next;
    if (wait->next)
        wait->next->prev = wait->prev;
    wait->prev = wait->next = nullptr;
    --pending_;
    uv_close(reinterpret_cast<uv_handle_t*>(&wait->timer), &TimerCallbacks::on_closed);
}

void Timers::fire(Wait* wait) noexcept
{
    http::Connection* conn = wait->conn;
    const std::size_t endpoint = wait->endpoint;
    if (wait->deferred) {
        const uint64_t param = wait->param;
        end(wait);
        responder_.resume(*conn, endpoint, param);
        return;
    }
    http::Response reply = std::move(wait->response);
    end(wait);
    responder_.answer(*conn, endpoint, std::move(reply));
}

std::size_t Timers::cancel() noexcept
{
    std::size_t cancelled = 0;
    // end() unlinks the head; a pipelined request that starts a new timer
    // from inside the answer is cancelled too, so the list ends up empty.
    while (first_) {
        http::Response answer;
        try {
            answer = http::error_response(503, "the worker is shutting down");
        } catch (...) {
            answer.status = 503;  // out of memory: an empty 503 still answers
        }
        Wait* wait = first_;
        http::Connection* conn = wait->conn;
        const std::size_t endpoint = wait->endpoint;
        end(wait);
        responder_.answer(*conn, endpoint, std::move(answer));
        ++cancelled;
    }
    return cancelled;
}

}  // namespace forkd::app
