// app/timers.hpp: requests that wait on a uv timer before their answer goes out.
//
// Owns the list of waiting timers (/sleep timer, /fibo_sleep par and async,
// and loop work deferred to the end of the loop turn, defer()): a Wait
// embeds its uv_timer_t and is freed only in the close callback.
// Each keeps the http::Connection& until it answers, which the Connection
// allows (it lives until respond(); see http/connection.hpp). Answers go
// back up through a Responder, with the endpoint they were started for.
// Must not build answers or count anything (accounting.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include <uv.h>

#include "http/connection.hpp"

namespace forkd::app {

// Whoever sends the app's answers (App): once per request, with its endpoint.
class Responder {
public:
    virtual void answer(http::Connection& conn, std::size_t endpoint, http::Response&& response) noexcept = 0;
    // A deferred request's turn has come (defer()): do its work now.
    virtual void resume(http::Connection& conn, std::size_t endpoint, uint64_t param) noexcept = 0;

protected:
    ~Responder() = default;
};

class Timers {
public:
    Timers(uv_loop_t* loop, Responder& responder) : loop_(loop), responder_(responder) { }
    Timers(const Timers&) = delete;
    Timers& operator=(const Timers&) = delete;

    // Answer `response` after `delay_ms`, keeping the loop free. true: the
    // timer could not be started (logged) and `now` holds a 500 to answer
    // at once; false: the timer answers.
    bool start(http::Connection& conn, std::size_t endpoint, uint64_t delay_ms, http::Response&& response,
               http::Response& now) noexcept;

    // Hand the request back to the Responder (resume(), with `param`) once
    // the rest of this loop turn has run: a zero timer fires at the start of
    // the next turn, after every I/O callback of this one. Same contract as
    // start().
    bool defer(http::Connection& conn, std::size_t endpoint, uint64_t param, http::Response& now) noexcept;

    // Answer every waiting request (deferred ones too) now with a 503 and
    // close the timers: for a worker that must stop before they fire.
    // Returns how many there were.
    std::size_t cancel() noexcept;

    std::size_t pending() const { return pending_; }

    struct Wait;  // one request waiting (timers.cpp)

private:
    friend struct TimerCallbacks;
    Wait* begin(http::Connection& conn, std::size_t endpoint, uint64_t delay_ms, http::Response& now) noexcept;
    void end(Wait* wait) noexcept;
    void fire(Wait* wait) noexcept;

    uv_loop_t* loop_;
    Responder& responder_;
    Wait* first_ = nullptr;  // intrusive list, for cancel()
    std::size_t pending_ = 0;
};

}  // namespace forkd::app
