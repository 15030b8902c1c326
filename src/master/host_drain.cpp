// master/host_drain.cpp: the host drain's transitions (host_drain.hpp).
//
// Writes only the scoreboard's host fields; must not signal, time or log
// anything: the Master does.
#include "master/host_drain.hpp"

#include <algorithm>
#include <cmath>

namespace forkd::master {

const char* to_string(HostDrain::State s)
{
    switch (s) {
    case HostDrain::State::serving: return "serving";
    case HostDrain::State::draining: return "draining";
    case HostDrain::State::stopping: return "stopping";
    }
    return "unknown";
}

uint64_t HostDrain::since_ms() const
{
    return area_.host_state_since_ms.load(std::memory_order_relaxed);
}

void HostDrain::record(stats::HostState s, uint64_t wall_ms)
{
    // The time first: a reader that sees the new state sees when it began.
    area_.host_state_since_ms.store(wall_ms, std::memory_order_relaxed);
    area_.host_state.store(s, std::memory_order_release);
}

HostDrain::Outcome HostDrain::drain(uint64_t wall_ms)
{
    switch (state_) {
    case State::serving:
        state_ = State::draining;
        record(stats::HostState::draining, wall_ms);
        return {true, false, "draining: /healthz answers 503, keep-alive connections close after their response"};
    case State::draining: return {false, false, "already draining"};
    case State::stopping: return {false, false, "already draining: the host is stopping"};
    }
    return {};
}

HostDrain::Outcome HostDrain::undrain(uint64_t wall_ms)
{
    switch (state_) {
    case State::draining:
        state_ = State::serving;
        record(stats::HostState::serving, wall_ms);
        return {true, false, "serving again: /healthz answers 200"};
    case State::serving: return {false, false, "not draining"};
    case State::stopping: return {false, true, "cannot undrain: the host is stopping (TERM)"};
    }
    return {};
}

HostDrain::FileRequest HostDrain::file_seen(bool present)
{
    if (present == file_present_)
        return FileRequest::none;
    file_present_ = present;
    return present ? FileRequest::drain : FileRequest::undrain;
}

uint64_t HostDrain::stop(double shutdown_delay_s, uint64_t wall_ms)
{
    const State before = state_;
    state_ = State::stopping;
    const auto delay_ms = uint64_t(std::llround(std::max(0.0, shutdown_delay_s) * 1000));
    switch (before) {
    case State::serving:
        if (delay_ms == 0)
            return 0;  // no delay: the workers' own drain says 503 from now on
        record(stats::HostState::draining, wall_ms);
        return delay_ms;
    case State::draining: {
        // A balancer has been seeing 503 since the drain began: only what is
        // left of the delay is still needed.
        const uint64_t drained_ms = wall_ms > since_ms() ? wall_ms - since_ms() : 0;
        return drained_ms >= delay_ms ? 0 : delay_ms - drained_ms;
    }
    case State::stopping: return 0;
    }
    return 0;
}

}  // namespace forkd::master
