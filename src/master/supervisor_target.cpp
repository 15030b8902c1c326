// master/supervisor_target.cpp: changing what the target is: a reload (a new
// generation), TTIN / TTOU (one worker more / fewer), WINCH (none until the
// next reload), and draining the slots past the target.
//
// Pure policy (see supervisor.hpp). After a reload, maintain() starts a
// successor in every slot; each old worker is retired only once its successor serves (ready()),
// and the reload completes when every slot's active worker is of the new
// generation and serves. If the new generation cannot boot, the reload is
// abandoned and the old generation keeps serving. Fewer slots: the surplus
// slots are steered away from first, and their workers are retired only
// when their accept queues are empty; a SO_REUSEPORT socket that closes
// resets what is queued on it.
#include "master/supervisor.hpp"

#include <spdlog/fmt/fmt.h>

namespace forkd::master {
namespace {

Action of_kind(Action::Kind kind)
{
    Action a;
    a.kind = kind;
    return a;
}

Action note(Action::Level level, std::string text)
{
    Action a;
    a.level = level;
    a.text = std::move(text);
    return a;
}

Action steer(std::size_t active)
{
    Action a = of_kind(Action::Kind::steer);
    a.count = active;
    return a;
}

}  // namespace

Actions Supervisor::reload(std::size_t target, Limits limits, uint64_t now_ms)
{
    Actions out;
    if (stopping_)
        return out;
    previous_limits_ = limits_;
    limits_ = limits;
    ++generation_;
    reloading_ = true;
    paused_ = false;
    while (slots_.size() < target)
        add_slot();
    for (std::size_t i = target; i < slots_.size(); ++i) {
        if (slots_[i].steered_at_ms == 0)
            slots_[i].steered_at_ms = now_ms;
    }
    for (Slot& s : slots_)
        s.forget_failures();
    target_ = target;
    out.push_back(of_kind(Action::Kind::target_changed));
    maintain(now_ms, out);
    return out;
}

void Supervisor::check_reload_done(Actions& out)
{
    if (!reloading_)
        return;
    for (std::size_t i = 0; i < target_; ++i) {
        const Proc* active = find(int(i), Role::active);
        if (active == nullptr || active->generation != generation_ || !active->ready)
            return;
    }
    reloading_ = false;
    Action a = of_kind(Action::Kind::reload_complete);
    a.generation = generation_;
    a.count = target_;
    a.again = reload_again_;
    reload_again_ = false;
    out.push_back(std::move(a));
}

void Supervisor::abort_reload(const std::string& why, uint64_t now_ms, Actions& out)
{
    out.push_back(note(Action::Level::error,
                       fmt::format("reload failed: {}; going back to generation {}", why, generation_ - 1)));
    for (Proc& p : procs_) {
        if (p.generation == generation_ && p.role != Role::retiring)
            retire(p, "reload aborted", now_ms, out);
    }
    // Old workers that were already retired keep draining; the slots they
    // leave are refilled with the previous configuration.
    limits_ = previous_limits_;
    --generation_;
    reloading_ = false;
    for (Slot& s : slots_)
        s.forget_failures();
    Action a = of_kind(Action::Kind::reload_aborted);
    a.generation = generation_;
    a.text = why;
    out.push_back(std::move(a));
}

Actions Supervisor::ttin(uint64_t now_ms)
{
    Actions out;
    if (stopping_)
        return out;
    if (!room_for_one_more()) {
        out.push_back(note(Action::Level::warn,
                           fmt::format("TTIN: already at the most workers this master can run ({})", target_)));
        return out;
    }
    if (target_ == slots_.size())
        add_slot();  // the Master has grown the listeners (needs_slot())
    // A surplus slot still draining is taken back into service.
    slots_[target_].steered_at_ms = 0;
    ++target_;
    out.push_back(steer(target_));
    out.push_back(of_kind(Action::Kind::target_changed));
    out.push_back(note(Action::Level::info, fmt::format("TTIN: {} workers", target_)));
    maintain(now_ms, out);
    return out;
}

Actions Supervisor::ttou(uint64_t now_ms)
{
    Actions out;
    if (stopping_)
        return out;
    if (target_ <= 1) {
        out.push_back(note(Action::Level::warn, "TTOU: keeping the last worker"));
        return out;
    }
    --target_;
    out.push_back(steer(target_));
    slots_[target_].steered_at_ms = now_ms;
    out.push_back(of_kind(Action::Kind::target_changed));
    out.push_back(note(Action::Level::info, fmt::format("TTOU: {} workers", target_)));
    return out;
}

Actions Supervisor::pause(uint64_t now_ms)
{
    Actions out;
    if (stopping_)
        return out;
    paused_ = true;
    for (Proc& p : procs_) {
        if (p.role != Role::retiring)
            retire(p, "SIGWINCH (workers stop until SIGHUP)", now_ms, out);
    }
    return out;
}

// Surplus slots (past the target) are drained from the last one: its
// workers are retired once no connection waits in its accept queue, and its
// sockets close once its workers are gone.
void Supervisor::drain_surplus_slots(uint64_t now_ms, const std::vector<unsigned>& queued, Actions& out)
{
    while (slots_.size() > target_) {
        Slot& slot = slots_.back();
        const std::size_t index = std::size_t(slot.index);
        const unsigned waiting = index < queued.size() ? queued[index] : 0;
        bool alive = false;
        for (Proc& p : procs_) {
            if (p.slot != slot.index)
                continue;
            alive = true;
            if (p.role != Role::retiring && now_ms - slot.steered_at_ms >= steer_settle_ms && waiting == 0)
                retire(p, "fewer workers wanted", now_ms, out);
        }
        if (alive)
            return;
        if (waiting != 0) {
            // Its worker died with connections still queued: one more
            // worker serves them, and is retired once the queue is empty.
            if (!paused_)
                spawn(slot, Role::active, now_ms, out);
            return;
        }
        out.push_back(of_kind(Action::Kind::close_last_slot));
        slots_.pop_back();
    }
}

}  // namespace forkd::master
