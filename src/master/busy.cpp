// master/busy.cpp: which slots are busy now (busy.hpp).
#include "master/busy.hpp"

#include <algorithm>

namespace forkd::master {

bool BusyWatch::update(std::span<const BusyReading> slots, uint64_t now_ms)
{
    std::vector<bool> next(slots.size(), false);
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const BusyReading& r = slots[i];
        // A stamp ahead of our clock is a request just taken: not busy.
        next[i] = r.serving && r.request_started_ms != 0 && now_ms > r.request_started_ms &&
                  now_ms - r.request_started_ms >= after_ms_;
    }
    bool changed = false;
    for (std::size_t i = 0; i < std::max(next.size(), busy_.size()); ++i)
        changed = changed || busy(i) != (i < next.size() && next[i]);
    busy_ = std::move(next);
    return changed;
}

std::size_t BusyWatch::busy_count() const
{
    return std::size_t(std::count(busy_.begin(), busy_.end(), true));
}

}  // namespace forkd::master
