// master/reload.cpp: changing the target: HUP (reload), TTIN / TTOU (one
// worker more / fewer), WINCH (no workers until the next HUP).
//
// A reload parses and validates the whole new configuration first; a bad
// one changes nothing. Then the listeners are updated (sockets for kept
// addresses stay open, so nothing queued is lost), the generation number
// goes up, and maintain() spawns a successor in every slot; each old worker
// retires only once its successor serves (promote_ready()).
// Fewer slots: the surplus slots are steered away from first, and their
// workers retire only when their accept queues are empty.
#include <algorithm>
#include <csignal>

#include <spdlog/spdlog.h>

#include "config/load.hpp"
#include "log/log.hpp"
#include "master/master.hpp"
#include "master/notify.hpp"
#include "stats/sampler.hpp"
#include "worker/privileges.hpp"

namespace forkd::master {
namespace {

// A surplus slot waits at least this long after being steered away from,
// so connections the kernel had already routed to it reach its queue.
constexpr uint64_t steer_settle_ms = 200;

}  // namespace

void Master::on_hup()
{
    if (stopping_)
        return;
    if (reloading_) {
        spdlog::info("reload already in progress; will reload again when it completes");
        reload_again_ = true;
        return;
    }
    config::Settings next;
    try {
        next = config::load(command_line_);
        worker::resolve_identity(next.user, next.group);
    } catch (const std::exception& e) {
        spdlog::error("reload failed, still serving with the current configuration: {}", e.what());
        return;
    }
    const std::size_t next_target = std::size_t(next.resolved_workers());
    if (2 * std::max(next_target, slots_.size()) + 2 > scoreboard_->size()) {
        spdlog::error("reload failed: at most {} workers can run (scoreboard size); keeping the current configuration",
                      scoreboard_->size() / 2 - 1);
        return;
    }
    try {
        listeners_.open(next, std::max(next_target, slots_.size()));
        listeners_.steer(next_target);
    } catch (const std::exception& e) {
        spdlog::error("reload failed, still serving with the current configuration: {}", e.what());
        return;
    }
    try {
        log::setup(next.log, "master");
    } catch (const std::exception& e) {
        spdlog::error("reload: {}; keeping the current error log", e.what());
        next.log.error_log = settings_.log.error_log;
    }
    notify::reloading();
    previous_settings_ = settings_;
    settings_ = std::move(next);
    ++generation_;
    reloading_ = true;
    paused_ = false;
    const uint64_t now = uv_now(&loop_);
    while (slots_.size() < next_target) {
        Slot s;
        s.index = int(slots_.size());
        slots_.push_back(s);
    }
    for (std::size_t i = next_target; i < slots_.size(); ++i) {
        if (slots_[i].steered_at_ms == 0)
            slots_[i].steered_at_ms = now;
    }
    for (Slot& s : slots_)
        s.forget_failures();
    target_ = next_target;
    stats::set_server(*scoreboard_, {settings_.config_path, uint32_t(generation_), uint32_t(target_)});
    spdlog::info("reloading: generation {}, {} workers, {} offload threads each, listening on {}", generation_, target_,
                 settings_.threads, listeners_.describe());
    maintain();
}

void Master::check_reload_done()
{
    if (!reloading_)
        return;
    for (std::size_t i = 0; i < target_; ++i) {
        const Proc* active = find(int(i), Role::active);
        if (active == nullptr || active->generation != generation_ || !active->ready)
            return;
    }
    reloading_ = false;
    listeners_.close_retired();
    spdlog::info("reload complete: generation {} serves with {} workers", generation_, target_);
    notify::ready();
    if (reload_again_) {
        reload_again_ = false;
        on_hup();
    }
}

void Master::abort_reload(const std::string& why)
{
    spdlog::error("reload failed: {}; going back to generation {}", why, generation_ - 1);
    for (Proc& p : procs_) {
        if (p.generation == generation_ && p.role != Role::retiring)
            retire(p, "reload aborted");
    }
    // Old workers that were already retired keep draining; the slots they
    // leave are refilled with the previous configuration.
    settings_ = previous_settings_;
    --generation_;
    reloading_ = false;
    for (Slot& s : slots_)
        s.forget_failures();
    try {
        log::setup(settings_.log, "master");
    } catch (const std::exception&) {
    }
    notify::ready();
}

void Master::on_ttin()
{
    if (stopping_)
        return;
    if (2 * (target_ + 1) + 2 > scoreboard_->size()) {
        spdlog::warn("TTIN: already at the most workers this master can run ({})", target_);
        return;
    }
    if (target_ == slots_.size()) {
        try {
            listeners_.resize(target_ + 1);
        } catch (const std::exception& e) {
            spdlog::error("TTIN: {}", e.what());
            return;
        }
        Slot s;
        s.index = int(slots_.size());
        slots_.push_back(s);
    }
    // A surplus slot still draining is taken back into service.
    slots_[target_].steered_at_ms = 0;
    ++target_;
    listeners_.steer(target_);
    stats::set_server(*scoreboard_, {settings_.config_path, uint32_t(generation_), uint32_t(target_)});
    spdlog::info("TTIN: {} workers", target_);
    maintain();
}

void Master::on_ttou()
{
    if (stopping_)
        return;
    if (target_ <= 1) {
        spdlog::warn("TTOU: keeping the last worker");
        return;
    }
    --target_;
    listeners_.steer(target_);
    slots_[target_].steered_at_ms = uv_now(&loop_);
    stats::set_server(*scoreboard_, {settings_.config_path, uint32_t(generation_), uint32_t(target_)});
    spdlog::info("TTOU: {} workers", target_);
}

void Master::on_winch()
{
    if (stopping_)
        return;
    paused_ = true;
    for (Proc& p : procs_) {
        if (p.role != Role::retiring)
            retire(p, "SIGWINCH (workers stop until SIGHUP)");
    }
}

// Surplus slots (past the target) are retired from the last one: its
// workers get SIGTERM once no connection waits in its accept queue, and its
// sockets close once its workers are gone.
void Master::retire_surplus_slots()
{
    const uint64_t now = uv_now(&loop_);
    while (slots_.size() > target_) {
        Slot& slot = slots_.back();
        const unsigned queued = listeners_.per_slot() ? listeners_.accept_queue(std::size_t(slot.index)) : 0;
        bool alive = false;
        for (Proc& p : procs_) {
            if (p.slot != slot.index)
                continue;
            alive = true;
            if (p.role != Role::retiring && now - slot.steered_at_ms >= steer_settle_ms && queued == 0)
                retire(p, "fewer workers wanted");
        }
        if (alive)
            return;
        if (queued != 0) {
            // Its worker died with connections still queued: one more
            // worker serves them, and is retired once the queue is empty.
            if (!paused_)
                spawn(slot, Role::active);
            return;
        }
        listeners_.close_last_slot();
        slots_.pop_back();
    }
}

}  // namespace forkd::master
