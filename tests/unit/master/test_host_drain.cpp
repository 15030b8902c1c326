// Unit tests for master/host_drain.cpp: the host drain's transitions and what
// they leave on the scoreboard for the workers, and how long TERM waits.
#include <doctest/doctest.h>

#include "master/host_drain.hpp"
#include "stats/scoreboard.hpp"

using forkd::master::HostDrain;
using forkd::stats::HostState;
using forkd::stats::Scoreboard;

namespace {

HostState board_state(const Scoreboard& sb)
{
    return sb.master().host_state.load();
}

}  // namespace

TEST_CASE("host drain: drain and undrain flip the board that every worker reads")
{
    Scoreboard sb(2);
    HostDrain d(sb.master());
    CHECK(board_state(sb) == HostState::serving);
    CHECK(d.since_ms() == 0);

    HostDrain::Outcome o = d.drain(1000);
    CHECK(o.changed);
    CHECK(d.state() == HostDrain::State::draining);
    CHECK(board_state(sb) == HostState::draining);
    CHECK(d.since_ms() == 1000);

    o = d.drain(2000);  // again: nothing changes, not even the time
    CHECK_FALSE(o.changed);
    CHECK_FALSE(o.refused);
    CHECK(o.text == "already draining");
    CHECK(d.since_ms() == 1000);

    o = d.undrain(3000);
    CHECK(o.changed);
    CHECK(board_state(sb) == HostState::serving);
    CHECK(d.since_ms() == 3000);

    o = d.undrain(4000);
    CHECK_FALSE(o.changed);
    CHECK_FALSE(o.refused);
    CHECK(o.text == "not draining");
}

TEST_CASE("host drain: TERM drains for shutdown_delay, then a second TERM stops at once")
{
    Scoreboard sb(1);
    HostDrain d(sb.master());
    CHECK(d.stop(2.5, 10'000) == 2500);
    CHECK(d.state() == HostDrain::State::stopping);
    CHECK(board_state(sb) == HostState::draining);
    CHECK(d.since_ms() == 10'000);
    CHECK(d.stop(2.5, 10'100) == 0);

    // Stopping is final: no undrain, and drain has nothing left to do.
    HostDrain::Outcome o = d.undrain(10'200);
    CHECK_FALSE(o.changed);
    CHECK(o.refused);
    CHECK(board_state(sb) == HostState::draining);
    o = d.drain(10'300);
    CHECK_FALSE(o.changed);
    CHECK_FALSE(o.refused);
}

TEST_CASE("host drain: TERM without a shutdown_delay leaves the board alone")
{
    Scoreboard sb(1);
    HostDrain d(sb.master());
    CHECK(d.stop(0, 5000) == 0);
    CHECK(board_state(sb) == HostState::serving);  // the workers' own drain answers 503
    CHECK(d.state() == HostDrain::State::stopping);
}

TEST_CASE("host drain: a host drained earlier waits only what is left of the delay")
{
    Scoreboard sb(1);
    HostDrain d(sb.master());
    d.drain(1000);
    CHECK(d.stop(5, 4000) == 2000);  // drained 3 s of 5
    Scoreboard sb2(1);
    HostDrain long_ago(sb2.master());
    long_ago.drain(1000);
    CHECK(long_ago.stop(5, 60'000) == 0);  // drained longer than the delay: stop now
}

TEST_CASE("host drain: the drain file asks once when it appears and once when it goes")
{
    Scoreboard sb(1);
    HostDrain d(sb.master());
    using Request = HostDrain::FileRequest;
    CHECK(d.file_seen(false) == Request::none);  // never there: undoes nothing
    d.drain(1000);                               // drained by other means
    CHECK(d.file_seen(false) == Request::none);
    CHECK(d.state() == HostDrain::State::draining);
    d.undrain(2000);
    CHECK(d.file_seen(true) == Request::drain);
    CHECK(d.file_seen(true) == Request::none);
    CHECK(d.file_seen(false) == Request::undrain);
    CHECK(d.file_seen(false) == Request::none);
}
