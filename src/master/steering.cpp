// master/steering.cpp: busy steering, the master's side: a fine timer reads
// each slot's "request taken at" stamp, BusyWatch (busy.hpp) says which
// slots are busy, and when that set changes the master reprograms every
// reuseport group (new connections go to the idle slots only), records the
// episode in the scoreboard's slot area, and sends SIGURG to the workers of
// the idle slots, which then accept from the busy slot's queue as well
// (worker/takeover.cpp) until it is idle again.
//
// Steering is on only where it can work: busy_steering = true and one
// socket per slot (reuse_port). If the kernel refuses the program, the log
// says so once and the master serves as without steering.
#include <algorithm>
#include <csignal>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "master/master.hpp"

namespace forkd::master {
namespace {

// How often the master looks: a quarter of busy_after_ms, so a blocked loop
// is steered around within 1.25 x busy_after_ms; at most every millisecond.
uint64_t busy_check_ms(int busy_after_ms)
{
    return std::clamp<uint64_t>(uint64_t(busy_after_ms) / 4, 1, 250);
}

}  // namespace

int Master::init_steering()
{
    int rc = uv_timer_init(&loop_, &busy_timer_);
    if (rc != 0) {
        spdlog::critical("uv_timer_init(busy steering): {}", uv_err_name(rc));
        return rc;
    }
    busy_timer_.data = this;
    return 0;
}

void Master::start_steering()
{
    uv_timer_stop(&busy_timer_);
    if (busy_watch_ != nullptr)
        end_busy_episodes();
    busy_watch_.reset();
    std::string off;
    if (!settings_.busy_steering)
        off = "busy_steering = false";
    else if (!listeners_.per_slot())
        off = "the workers share one listening socket (reuse_port = false)";
    else if (steering_failed_)
        off = "the kernel refused the reuseport program";
    if (!off.empty()) {
        if (steering_mode_ != off)
            spdlog::info("busy steering: off ({})", off);
        steering_mode_ = off;
        return;
    }
    busy_watch_ = std::make_unique<BusyWatch>(uint64_t(settings_.busy_after_ms));
    const uint64_t every = busy_check_ms(settings_.busy_after_ms);
    const int rc = uv_timer_start(
        &busy_timer_, [](uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->on_busy_check(); }, every, every);
    if (rc != 0) {
        spdlog::error("uv_timer_start(busy steering): {}; busy steering is off", uv_err_name(rc));
        busy_watch_.reset();
        return;
    }
    const std::string on = fmt::format("a worker whose loop is blocked {} ms is steered around; checked every {} ms",
                                       settings_.busy_after_ms, every);
    if (steering_mode_ != on)
        spdlog::info("busy steering: on ({})", on);
    steering_mode_ = on;
}

void Master::on_busy_check()
{
    if (busy_watch_ == nullptr || supervisor_->stopping())
        return;
    const uint64_t now = uv_now(&loop_);
    std::vector<BusyReading> readings(supervisor_->slots().size());
    for (const Slot& slot : supervisor_->slots()) {
        const Proc* p = supervisor_->find(slot.index, Role::active);
        if (p == nullptr || !p->ready || std::size_t(slot.index) >= readings.size())
            continue;
        const stats::WorkerEntry& e = scoreboard_->entry(p->entry);
        readings[std::size_t(slot.index)] = {e.state.load(std::memory_order_relaxed) == stats::WorkerState::ready,
                                             e.request_started_ms.load(std::memory_order_relaxed)};
    }
    const std::vector<bool> before = busy_watch_->busy();
    if (!busy_watch_->update(readings, now))
        return;
    try {
        listeners_.avoid(busy_watch_->busy());
    } catch (const std::exception& e) {
        spdlog::error("busy steering: {}; busy steering is off from now on", e.what());
        steering_failed_ = true;
        start_steering();  // ends the episodes, steers to every slot again
        return;
    }
    record_busy_changes(before, now);
    const std::vector<uint32_t> to = listeners_.steered_to();
    if (busy_watch_->busy_count() != 0 && !to.empty() &&
        std::all_of(to.begin(), to.end(), [this](uint32_t i) { return busy_watch_->busy(i); }))
        spdlog::debug("every worker is busy: new connections go to all of them");
    // The workers look at the board again: the idle ones take over from
    // the busy slots, or stop; a busy one reads it once its loop is back.
    for (const Proc& p : supervisor_->procs()) {
        if (p.ready && p.role == Role::active)
            send(p.pid, SIGURG);
    }
}

void Master::record_busy_changes(const std::vector<bool>& before, uint64_t now)
{
    constexpr auto r = std::memory_order_relaxed;
    const std::size_t n = std::min(std::max(before.size(), busy_watch_->busy().size()), scoreboard_->slots());
    for (std::size_t i = 0; i < n; ++i) {
        const bool was = i < before.size() && before[i];
        const bool is = busy_watch_->busy(i);
        if (was == is)
            continue;
        stats::SlotArea& a = scoreboard_->slot(i);
        if (is) {
            a.busy_since_ms.store(now, r);
            stats::bump(a.busy_episodes);
            a.busy.store(1, r);
            spdlog::debug("worker {} is busy: new connections go to slots {}", i,
                          fmt::join(listeners_.steered_to(), ", "));
        } else {
            stats::bump(a.busy_ms, now - std::min(now, a.busy_since_ms.load(r)));
            a.busy.store(0, r);
            spdlog::debug("worker {} is no longer busy (after {} ms)", i, now - std::min(now, a.busy_since_ms.load(r)));
        }
    }
}

// Steering stops (off on reload, or shutdown): the open episodes end now.
void Master::end_busy_episodes()
{
    const std::vector<bool> before = busy_watch_->busy();
    busy_watch_->update({}, uv_now(&loop_));
    record_busy_changes(before, uv_now(&loop_));
    try {
        listeners_.avoid({});
    } catch (const std::exception& e) {
        spdlog::error("busy steering: {}", e.what());
    }
}

}  // namespace forkd::master
