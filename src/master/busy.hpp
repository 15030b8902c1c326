// master/busy.hpp: busy detection, as a plain object (busy steering).
//
// A worker is busy when its loop has been inside one piece of work (a
// request handler: inline fib, a blocking sleep, a slow handler) for longer
// than busy_after_ms. The worker already writes when its loop took the
// request it is on (WorkerEntry::request_started_ms, for the watchdog), so
// detection costs the hot path nothing: the master reads that stamp on a
// fine timer and feeds it here. This decides; master/steering.cpp acts
// (reuseport program, scoreboard, siblings). No clock, no process, no fd.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace forkd::master {

// What the scoreboard says about one slot's active worker.
struct BusyReading {
    bool serving = false;             // a ready worker runs in the slot
    uint64_t request_started_ms = 0;  // its loop took a request then (monotonic); 0: on no request
};

class BusyWatch {
public:
    explicit BusyWatch(uint64_t after_ms) : after_ms_(after_ms) { }

    // One reading per slot (index: slot). Returns whether the busy set changed.
    bool update(std::span<const BusyReading> slots, uint64_t now_ms);

    // Index: slot. Slots past the last reading are not busy.
    const std::vector<bool>& busy() const { return busy_; }
    bool busy(std::size_t slot) const { return slot < busy_.size() && busy_[slot]; }
    std::size_t busy_count() const;
    uint64_t after_ms() const { return after_ms_; }

private:
    uint64_t after_ms_;
    std::vector<bool> busy_;
};

}  // namespace forkd::master
