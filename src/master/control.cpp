// master/control.cpp: the control subcommands as the master carries them
// out: the command table, one Master method per command, and the clients
// waiting for an outcome (a reload that completes, an upgrade that takes
// over, a stop that ends).
//
// Each command does what its signal does (on_hup, on_ttin, ...), so the
// two ways in cannot drift apart; what a command adds is the answer. A
// command that ends at once answers at once; one whose outcome comes later
// leaves a Waiter, answered by the event that settles it, whichever way
// (a signal's reload answers a waiting `forkd reload` too). To add a
// command: one row in control_table and one Master method.
#include <cinttypes>
#include <csignal>

#include <spdlog/spdlog.h>

#include "log/log.hpp"
#include "master/control_protocol.hpp"
#include "master/master.hpp"

namespace forkd::master {

const Master::ControlCommand Master::control_table[] = {
    {{"reload", "re-read the config, start a new generation; wait until it serves or is refused"},
     &Master::control_reload},
    {{"stop", "stop gracefully (in-flight requests finish); wait until the master exits", "", "quick",
      "quick shutdown: workers exit at once"},
     &Master::control_stop},
    {{"status", "print the master's state and one line per worker"}, &Master::control_status},
    {{"workers", "one worker more (+1) or fewer (-1); +1 waits until it serves", "+1|-1"}, &Master::control_workers},
    {{"reopen", "reopen the log files (after logrotate)"}, &Master::control_reopen},
    {{"upgrade", "binary upgrade: start the new binary; wait until it serves"}, &Master::control_upgrade},
    {{"drain", "take the host out of a load balancer: /healthz 503, everything still served"}, &Master::control_drain},
    {{"undrain", "put a drained host back: /healthz 200"}, &Master::control_undrain},
};

std::vector<config::Subcommand> Master::control_usage()
{
    std::vector<config::Subcommand> out;
    for (const ControlCommand& c : control_table)
        out.push_back(c.usage);
    return out;
}

// Without a pidfile there is nowhere to put the socket: signals only.
void Master::open_control()
{
    if (settings_.pidfile.empty()) {
        spdlog::info("no pidfile: the control subcommands (forkd reload, ...) cannot reach this master");
        return;
    }
    std::string error;
    if (control_.open(&loop_, control_path(settings_.pidfile), &Master::on_control, this, error) != 0)
        spdlog::error("{}; the control subcommands cannot reach this master, signals still work", error);
}

void Master::on_control(void* owner, ControlSocket::Client client, const std::vector<std::string>& words)
{
    auto* self = static_cast<Master*>(owner);
    const std::string request = join_request(words);
    for (const ControlCommand& c : control_table) {
        if (!words.empty() && words[0] == c.usage.name) {
            spdlog::info("control: {}", request);
            (self->*c.run)(client, std::vector<std::string>(words.begin() + 1, words.end()));
            return;
        }
    }
    self->control_.answer(client, control_usage_error, fmt::format("unknown request \"{}\"", request));
}

bool Master::refuse_extra(ControlSocket::Client client, const std::vector<std::string>& args, std::size_t allowed)
{
    if (args.size() <= allowed)
        return false;
    control_.answer(client, control_usage_error, fmt::format("unexpected \"{}\"", args[allowed]));
    return true;
}

bool Master::refuse_if_stopping(ControlSocket::Client client)
{
    if (!supervisor_->stopping())
        return false;
    control_.answer(client, control_failed, "refused: the master is shutting down");
    return true;
}

void Master::answer(Awaits awaits, int code, const std::string& text)
{
    std::erase_if(waiters_, [&](const Waiter& w) {
        if (w.awaits != awaits)
            return false;
        control_.answer(w.client, code, text);
        return true;
    });
}

// --- the commands ------------------------------------------------------------

void Master::control_reload(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0) || refuse_if_stopping(client))
        return;
    // A reload in progress is followed by another one (as for HUP): this
    // client waits for that one.
    waiters_.push_back({client, supervisor_->reloading() ? Awaits::reload_next : Awaits::reload});
    on_hup();
}

void Master::control_stop(ControlSocket::Client client, const std::vector<std::string>& args)
{
    const bool quick = !args.empty() && args[0] == "--quick";
    if (refuse_extra(client, args, quick ? 1 : 0))
        return;
    control_.progress(client, fmt::format("{} shutdown of master pid {}", quick ? "quick" : "graceful", getpid()));
    waiters_.push_back({client, Awaits::stop});
    if (quick)
        begin_shutdown(false);
    else
        on_term();  // as TERM: shutdown_delay first
}

void Master::control_status(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0))
        return;
    const char* state = supervisor_->stopping()                             ? "stopping"
                        : supervisor_->reloading()                          ? "reloading"
                        : upgrade_child_ != 0                               ? "upgrading"
                        : host_drain_->state() != HostDrain::State::serving ? "draining"
                                                                            : "serving";
    control_.progress(client, fmt::format("master pid {}, {}, generation {}, {}/{} workers serving, listening on {}",
                                          getpid(), state, supervisor_->generation(), supervisor_->serving(),
                                          supervisor_->target(), listeners_.describe()));
    control_.progress(client, fmt::format("config {}", settings_.config_path.empty() ? "(built-in defaults)"
                                                                                     : settings_.config_path));
    for (const Proc& p : supervisor_->procs()) {
        const Slot& slot = supervisor_->slots().at(std::size_t(p.slot));
        control_.progress(client,
                          fmt::format("worker {}: pid {}, generation {}, {}, {}, {} restarts", p.slot, p.pid,
                                      p.generation, to_string(p.role), p.ready ? "ready" : "starting", slot.restarts));
    }
    control_.answer(client, control_ok, "");
}

void Master::control_workers(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 1) || refuse_if_stopping(client))
        return;
    const std::string step = args.empty() ? std::string() : args[0];
    if (step != "+1" && step != "-1") {
        control_.answer(client, control_usage_error, fmt::format("workers: expected +1 or -1, got \"{}\"", step));
        return;
    }
    const std::size_t before = supervisor_->target();
    if (step == "+1")
        on_ttin();
    else
        on_ttou();
    const std::size_t after = supervisor_->target();
    if (after == before) {
        control_.answer(client, control_failed,
                        step == "+1" ? fmt::format("workers +1 refused: {} is the most this master can run", before)
                                     : std::string("workers -1 refused: keeping the last worker"));
    } else if (after < before) {
        control_.answer(
            client, control_ok,
            fmt::format("workers: {} (was {}); worker {} retires once its queue is empty", after, before, after));
    } else {
        waiters_.push_back({client, Awaits::workers});
        check_waiters();
    }
}

void Master::control_reopen(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0))
        return;
    on_usr1();
    control_.answer(
        client, control_ok,
        fmt::format("reopened the master's log files; {} workers reopen theirs", supervisor_->procs().size()));
}

void Master::control_upgrade(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0) || refuse_if_stopping(client))
        return;
    if (upgrade_child_ != 0 || upgrade_from_ != 0) {
        control_.answer(client, control_failed, "upgrade refused: a binary upgrade is already in progress");
        return;
    }
    on_usr2();
    if (upgrade_child_ == 0) {
        control_.answer(client, control_failed, "upgrade failed: could not start the new master (see the log)");
        return;
    }
    control_.progress(client, fmt::format("started {} as pid {}", exe_path_, upgrade_child_));
    waiters_.push_back({client, Awaits::upgrade});
}

// --- outcomes that come later ------------------------------------------------

// Every tick: `forkd workers +1` is answered once the target's workers serve.
void Master::check_waiters()
{
    const std::size_t target = supervisor_->target();
    if (supervisor_->serving() >= target)
        answer(Awaits::workers, control_ok, fmt::format("workers: {}/{} serving", supervisor_->serving(), target));
    std::erase_if(waiters_, [&](const Waiter& w) { return !control_.connected(w.client); });
}

void Master::reload_refused(const std::string& why)
{
    answer(Awaits::reload, control_failed, "reload refused: " + why);
}

void Master::reload_answered(const Action& a, bool completed)
{
    if (completed) {
        const double seconds = double(uv_hrtime() - reload_started_ns_) / 1e9;
        answer(Awaits::reload, control_ok,
               fmt::format("reloaded: generation {}, {}/{} workers ready in {:.2f} s", a.generation,
                           supervisor_->serving(), a.count, seconds));
    } else {
        const std::string text = fmt::format("reload abandoned: {}; generation {} still serving", a.text, a.generation);
        answer(Awaits::reload, control_failed, text);
        answer(Awaits::reload_next, control_failed, text);
    }
    for (Waiter& w : waiters_) {
        if (w.awaits == Awaits::reload_next)
            w.awaits = Awaits::reload;
    }
}

// The host drain (host_drain.hpp): answered at once, the outcome says
// what changed; an undrain while the host stops (TERM) is refused.
void Master::control_drain(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0))
        return;
    const HostDrain::Outcome o = drain_host();
    control_.answer(client, o.refused ? control_failed : control_ok, o.text);
}

void Master::control_undrain(ControlSocket::Client client, const std::vector<std::string>& args)
{
    if (refuse_extra(client, args, 0))
        return;
    const HostDrain::Outcome o = undrain_host();
    control_.answer(client, o.refused ? control_failed : control_ok, o.text);
}

}  // namespace forkd::master
