// master/host_drain.hpp: the host-level drain, as a plain object.
//
// Owns the host's state (serving, draining, stopping) and its record on the
// scoreboard (stats::MasterArea::host_state, read by every worker at once:
// /healthz answers 503 "draining", each response closes its keep-alive
// connection, and new connections are still accepted and served). It decides
// only the transitions and how long TERM waits; the Master carries them out
// (the timer, the graceful stop, the log lines). No clock of its own: callers
// pass the wall clock, so tests drive it without processes or sleeps.
//
//   from       event                      to         effect
//   serving    drain                      draining   board: draining since now
//   draining   drain                      draining   nothing (already)
//   draining   undrain                    serving    board: serving since now
//   serving    undrain                    serving    nothing (already)
//   serving    TERM                       stopping   board: draining; wait shutdown_delay
//   draining   TERM                       stopping   wait what is left of shutdown_delay
//   stopping   undrain                    stopping   refused: the host is stopping
//   stopping   TERM                       stopping   wait 0: a second TERM stops now
//
// The drain file (<pidfile>.drain) is one way in: its appearance asks for
// a drain, its removal for an undrain. Only a change of the file counts, so
// a file that was never there undoes nothing.
#pragma once

#include <cstdint>
#include <string>

#include "stats/scoreboard.hpp"

namespace forkd::master {

class HostDrain {
public:
    enum class State { serving, draining, stopping };

    // What a drain or undrain did: `changed` false when there was nothing to
    // do or it was refused; `text` says which, for the log and the operator.
    struct Outcome {
        bool changed = false;
        bool refused = false;
        std::string text;
    };

    explicit HostDrain(stats::MasterArea& area) : area_(area) { }

    Outcome drain(uint64_t wall_ms);
    Outcome undrain(uint64_t wall_ms);
    // TERM: the host drains (if it did not already) and the graceful stop
    // waits the milliseconds returned: shutdown_delay, less the time the
    // host has already been drained; 0 for a second TERM.
    uint64_t stop(double shutdown_delay_s, uint64_t wall_ms);

    // What the drain file asks for, seen `present` (or not) now.
    enum class FileRequest { none, drain, undrain };
    FileRequest file_seen(bool present);

    State state() const { return state_; }
    uint64_t since_ms() const;  // wall clock of the last change of the board's state; 0: never

private:
    void record(stats::HostState s, uint64_t wall_ms);

    stats::MasterArea& area_;
    State state_ = State::serving;
    bool file_present_ = false;
};

const char* to_string(HostDrain::State s);

}  // namespace forkd::master
