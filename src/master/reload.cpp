// master/reload.cpp: HUP (reload), TTIN / TTOU (one worker more / fewer),
// WINCH (no workers until the next HUP): what these signals need from
// outside the policy, the new configuration and the sockets for it.
//
// A reload parses and validates the whole new configuration first, and
// binds what it adds; a bad one changes nothing. Only then does the
// Supervisor start a new generation (supervisor_target.cpp). Sockets for
// kept addresses stay open, so nothing queued is lost; groups the new
// configuration drops are closed once the reload completes.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "config/load.hpp"
#include "log/log.hpp"
#include "master/master.hpp"
#include "master/notify.hpp"
#include "worker/privileges.hpp"

namespace forkd::master {

void Master::on_hup()
{
    if (const std::string why = begin_reload(); !why.empty())
        reload_refused(why);
}

// Returns why the reload was refused, or "" when a new generation started
// (or will, after the one in progress).
std::string Master::begin_reload()
{
    if (supervisor_->stopping())
        return "the master is shutting down";
    if (supervisor_->reloading()) {
        spdlog::info("reload already in progress; will reload again when it completes");
        supervisor_->reload_later();
        return {};
    }
    const auto refuse = [](const std::string& why) {
        spdlog::error("reload failed, still serving with the current configuration: {}", why);
        return why;
    };
    config::Settings next;
    try {
        next = config::load(command_line_);
    } catch (const std::exception& e) {
        return refuse(e.what());
    }
    const worker::Identity identity = worker::resolve_identity(next.user, next.group);
    if (!identity.error.empty())
        return refuse(identity.error);
    const std::size_t next_target = std::size_t(next.resolved_workers());
    if (!supervisor_->room_for(next_target))
        return refuse(fmt::format("at most {} workers can run (scoreboard size)", scoreboard_->size() / 2 - 1));
    try {
        listeners_.open(next, std::max(next_target, supervisor_->slots().size()));
        listeners_.steer(next_target);
    } catch (const std::exception& e) {
        return refuse(e.what());
    }
    try {
        log::setup(next.log, "master");
    } catch (const std::exception& e) {
        spdlog::error("reload: {}; keeping the current error log", e.what());
        next.log.error_log = settings_.log.error_log;
    }
    notify::reloading();
    reload_started_ns_ = uv_hrtime();
    previous_settings_ = settings_;
    settings_ = std::move(next);
    const uint64_t now = uv_now(&loop_);
    carry_out(supervisor_->reload(next_target, limits(), now));
    spdlog::info("reloading: generation {}, {} workers, {} offload threads each, listening on {}",
                 supervisor_->generation(), supervisor_->target(), settings_.threads, listeners_.describe());
    carry_out(supervisor_->maintain(now));
    return {};
}

void Master::reload_complete(const Action& a)
{
    listeners_.close_dropped();
    spdlog::info("reload complete: generation {} serves with {} workers", a.generation, a.count);
    notify::ready();
    reload_answered(a, true);
    if (a.again)
        on_hup();
}

// The Supervisor has gone back to the previous generation: so do the
// settings its workers are forked with.
void Master::reload_aborted(const Action& a)
{
    settings_ = previous_settings_;
    set_server();  // /stats names the generation that serves, not the abandoned one
    try {
        log::setup(settings_.log, "master");
    } catch (const std::exception& e) {
        spdlog::error("reload: {}; keeping the current error log", e.what());
    }
    notify::ready();
    reload_answered(a, false);
}

void Master::on_ttin()
{
    if (supervisor_->stopping())
        return;
    if (supervisor_->needs_slot()) {
        try {
            listeners_.resize(supervisor_->target() + 1);
        } catch (const std::exception& e) {
            spdlog::error("TTIN: {}", e.what());
            return;
        }
    }
    carry_out(supervisor_->ttin(uv_now(&loop_)));
}

void Master::on_ttou()
{
    carry_out(supervisor_->ttou(uv_now(&loop_)));
}

void Master::on_winch()
{
    carry_out(supervisor_->pause(uv_now(&loop_)));
}

}  // namespace forkd::master
