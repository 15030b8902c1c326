// worker/worker.cpp: the worker's loop and its shutdown order.
//
// Accepting is worker/acceptor.cpp's: one Acceptor per listening fd, with
// the room of its Context (worker_connections for the bind addresses,
// admin_room for stats.bind, so that monitoring answers when the main
// address is full).
//
// Shutdown order (graceful, SIGTERM): stop accepting (close this worker's
// copies of the listening sockets; the master keeps the sockets, so queued
// connections wait for the next worker in this slot), mark draining (/healthz
// answers 503, responses say Connection: close), close idle connections,
// let in-flight requests finish up to graceful_timeout, then close what is
// left, stop the offload threads, close the timers and signals, and let the
// loop end. Quick shutdown (SIGINT, SIGQUIT) flushes the log and _exits.
#include "worker/worker.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <uv.h>

#include "app/accounting.hpp"
#include "app/admin.hpp"
#include "app/app.hpp"
#include "http/connection.hpp"
#include "http/date.hpp"
#include "log/access.hpp"
#include "log/log.hpp"
#include "offload/pool.hpp"
#include "worker/acceptor.hpp"
#include "worker/privileges.hpp"
#include "worker/signal_table.hpp"
#include "worker/takeover.hpp"

namespace forkd::worker {
namespace {

// While draining, a keep-alive connection idle this long is closed.
constexpr uint64_t drain_idle_ms = 1000;
// Connections of stats.bind (monitoring) per worker: their own room, on top
// of worker_connections.
constexpr std::size_t admin_room = 64;

// The result of a libuv set-up call: false if it failed, which is logged
// here, once, with what it was ("uv_signal_start(SIGTERM): EINVAL").
bool set_up(int rc, std::string_view call, std::string_view what = {})
{
    if (rc != 0 && what.empty())
        spdlog::critical("{}: {}", call, uv_err_name(rc));
    else if (rc != 0)
        spdlog::critical("{}({}): {}", call, what, uv_err_name(rc));
    return rc == 0;
}

class Worker {
public:
    explicit Worker(const Spec& spec) : spec_(spec), settings_(*spec.settings) { }
    int run();

private:
    using Signals = SignalTable<Worker, 5>;
    static const Signals::Entries signal_table;

    int boot();
    void on_sigterm();
    void on_sigquit();
    void on_sigusr1();
    void on_sigurg();
    int start_takeover();
    void begin_drain();
    void finish_if_drained();
    void close_handles();
    std::size_t open_connections() const { return ctx_.open + admin_ctx_.open; }
    // Call fn(list) for the open connections of every Context.
    template <class Fn> void each_connection_list(Fn fn);
    void on_tick();

    static void on_connection_closed(http::Context& ctx) noexcept;
    static void on_connection_idle(http::Context& ctx) noexcept;
    void on_room(http::Context& ctx);  // the acceptors of ctx may take connections again

    const Spec& spec_;
    const config::Settings& settings_;
    uv_loop_t loop_{};
    std::unique_ptr<log::AccessLog> access_log_;
    std::unique_ptr<offload::Pool> pool_;
    std::unique_ptr<app::Accounting> accounting_;
    std::unique_ptr<app::App> app_;
    std::unique_ptr<app::AdminHandler> admin_;
    http::Context ctx_;        // connections of the bind addresses
    http::Context admin_ctx_;  // connections of stats.bind (if any)
    ReserveFd reserve_fd_;     // refuses connections when out of descriptors
    std::vector<std::unique_ptr<Acceptor>> acceptors_;
    std::unique_ptr<Takeover> takeover_;  // busy steering: siblings' sockets (set at boot)
    Signals signals_{signal_table};
    uv_timer_t tick_{};              // once a second: Date, heartbeat, parent check
    uv_timer_t graceful_timer_{};    // drain deadline
    uv_timer_t drain_idle_timer_{};  // drain: when idle keep-alive connections close
    // The one record of "draining": the handlers read it (/healthz), the
    // Contexts get a copy for http/'s keep-alive decisions.
    bool draining_ = false;
    bool closing_ = false;
    uint64_t max_requests_ = 0;  // 0: never recycled for its request count
};

const Worker::Signals::Entries Worker::signal_table = {{
    {SIGTERM, "SIGTERM", &Worker::on_sigterm, spdlog::level::debug},
    {SIGINT, "SIGINT", &Worker::on_sigquit, spdlog::level::debug},
    {SIGQUIT, "SIGQUIT", &Worker::on_sigquit, spdlog::level::debug},
    {SIGUSR1, "SIGUSR1", &Worker::on_sigusr1, spdlog::level::debug},
    {SIGURG, "SIGURG", &Worker::on_sigurg, spdlog::level::trace},  // the master: busy slots changed
}};

int Worker::boot()
{
    // Die with the master: no orphan keeps the port. PDEATHSIG covers a master
    // that dies from now on; the getppid() check covers one that died before.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != spec_.master_pid)
        return exit_boot_failed;

    try {
        // Logs first, as the master's user (the files may be root's), then
        // drop privileges before anything a client sends is looked at.
        log::setup(settings_.log, "worker " + std::to_string(spec_.slot));
        access_log_ = log::AccessLog::open(settings_.log);
        const std::string failed = drop_privileges(resolve_identity(settings_.user, settings_.group));
        if (!failed.empty())
            throw std::runtime_error("cannot drop privileges: " + failed);
    } catch (const std::exception& e) {
        // The master's logger is still ours (inherited): say why and give up.
        spdlog::critical("worker {}: {}", spec_.slot, e.what());
        return exit_boot_failed;
    }

    fit_nofile(std::size_t(settings_.worker_connections), spec_.admin_fds.empty() ? 0 : admin_room);
    if (!set_up(uv_loop_init(&loop_), "uv_loop_init"))
        return exit_boot_failed;
    pool_ = std::make_unique<offload::Pool>(&loop_, unsigned(settings_.threads), std::size_t(settings_.offload_queue));
    if (pool_->start() != 0)
        return exit_boot_failed;  // logged by the pool
    accounting_ =
        std::make_unique<app::Accounting>(spec_.scoreboard, app::WorkerIdentity{spec_.slot, spec_.generation});
    accounting_->set_access_log(access_log_.get());
    app_ = std::make_unique<app::App>(&loop_, settings_, *pool_, *accounting_, draining_);
    admin_ = std::make_unique<app::AdminHandler>(&loop_, settings_, *accounting_, draining_);
    for (http::Context* ctx : {&ctx_, &admin_ctx_}) {
        ctx->loop = &loop_;
        ctx->limits = http::Limits::from(settings_);
        ctx->owner = this;
        ctx->on_closed = &Worker::on_connection_closed;
        ctx->on_idle = &Worker::on_connection_idle;
        ctx->on_opened = [](http::Context& c) noexcept {
            auto* self = static_cast<Worker*>(c.owner);
            self->spec_.scoreboard->connections.store(uint32_t(self->open_connections()), std::memory_order_relaxed);
        };
        accounting_->watch(*ctx);
    }
    ctx_.handler = app_.get();
    admin_ctx_.handler = admin_.get();

    if (signals_.start(&loop_, this) != 0)
        return exit_boot_failed;

    http::date::refresh();
    for (uv_timer_t* timer : {&tick_, &graceful_timer_, &drain_idle_timer_}) {
        if (!set_up(uv_timer_init(&loop_, timer), "uv_timer_init"))
            return exit_boot_failed;
        timer->data = this;
    }
    const uint64_t every_ms = tick_ms(settings_.timeout);
    const int rc = uv_timer_start(
        &tick_, [](uv_timer_t* t) noexcept { static_cast<Worker*>(t->data)->on_tick(); }, every_ms, every_ms);
    if (!set_up(rc, "uv_timer_start", "tick"))
        return exit_boot_failed;
    max_requests_ = recycle_after(settings_.max_requests, settings_.max_requests_jitter,
                                  unsigned(getpid()) ^ unsigned(uv_hrtime()));

    std::vector<std::pair<int, http::Context*>> adopt;
    for (int fd : spec_.listen_fds)
        adopt.emplace_back(fd, &ctx_);
    for (int fd : spec_.admin_fds)
        adopt.emplace_back(fd, &admin_ctx_);
    for (auto [fd, ctx] : adopt) {
        const std::size_t room = ctx == &ctx_ ? std::size_t(settings_.worker_connections) : admin_room;
        auto a = std::make_unique<Acceptor>(&loop_, fd, *ctx, room, reserve_fd_);
        if (a->start() != 0)
            return exit_boot_failed;  // logged by the acceptor
        acceptors_.push_back(std::move(a));
    }
    if (start_takeover() != 0)
        return exit_boot_failed;
    spec_.scoreboard->heartbeat_ms.store(uv_now(&loop_), std::memory_order_relaxed);
    spec_.scoreboard->state.store(stats::WorkerState::ready, std::memory_order_release);
    spdlog::debug("ready (pid {}, generation {})", getpid(), spec_.generation);
    return exit_ok;
}

int Worker::start_takeover()
{
    std::vector<Takeover::Socket> sockets;  // none: nothing to take over, every call a no-op
    for (auto [slot, fd] : spec_.sibling_fds)
        sockets.push_back({slot, fd});
    const Takeover::Target target{&ctx_, std::size_t(settings_.worker_connections), &draining_, spec_.scoreboard};
    takeover_ = std::make_unique<Takeover>(std::move(sockets), stats::Scoreboard::attach(*spec_.scoreboard), target);
    return takeover_->start();
}

void Worker::on_connection_closed(http::Context& ctx) noexcept
{
    auto* self = static_cast<Worker*>(ctx.owner);
    self->spec_.scoreboard->connections.store(uint32_t(self->open_connections()), std::memory_order_relaxed);
    if (self->draining_) {
        self->finish_if_drained();
        return;
    }
    self->on_room(ctx);
}

void Worker::on_connection_idle(http::Context& ctx) noexcept
{
    auto* self = static_cast<Worker*>(ctx.owner);
    if (self->draining_)
        return;
    self->on_room(ctx);
}

void Worker::on_room(http::Context& ctx)
{
    for (auto& a : acceptors_) {
        if (&a->context() == &ctx)
            a->on_room();
    }
    if (&ctx == &ctx_)
        takeover_->refresh();  // room again: resume taking over if paused
}

void Worker::on_tick()
{
    http::date::refresh();
    spec_.scoreboard->heartbeat_ms.store(uv_now(&loop_), std::memory_order_relaxed);
    const uint64_t served = accounting_->requests();
    // Requests and bytes are counted as they are answered (app/accounting);
    // once a second the gauges (offload threads, accept queue) and the bytes
    // of connections that got no answer since.
    accounting_->store_bytes();
    stats::WorkerTick tick;
    tick.offload_threads = pool_->threads();
    tick.offload_busy = pool_->busy();
    tick.offload_queued = uint32_t(pool_->depth());
    if (!draining_)
        tick.listen_fds = spec_.listen_fds;  // closed once draining
    stats::sample_worker(*spec_.scoreboard, tick);
    stats::store_connection_counts(*spec_.scoreboard, connection_counts({&ctx_, &admin_ctx_}, acceptors_));
    for (auto& a : acceptors_) {
        a->report(uv_now(&loop_));
        a->on_room();  // one stopped without a spare descriptor tries again
    }
    if (!draining_)
        takeover_->refresh();  // in case a SIGURG was missed
    if (max_requests_ != 0 && served >= max_requests_ &&
        spec_.scoreboard->recycle_wanted.exchange(1, std::memory_order_relaxed) == 0)
        spdlog::info("served {} requests (max_requests {}): asking to be recycled", served, max_requests_);
    if (getppid() != spec_.master_pid && !draining_) {
        spdlog::warn("master {} is gone; shutting down", spec_.master_pid);
        begin_drain();
    }
}

void Worker::on_sigterm()
{
    if (!draining_)
        begin_drain();
}

void Worker::on_sigquit()
{
    log::flush();
    _exit(exit_ok);
}

void Worker::on_sigusr1()
{
    log::reopen();
    if (access_log_)
        access_log_->reopen();
}

void Worker::on_sigurg()
{
    takeover_->refresh();
}

void Worker::begin_drain()
{
    draining_ = true;
    takeover_->close();
    spec_.scoreboard->state.store(stats::WorkerState::draining, std::memory_order_release);
    spdlog::debug("draining {} connections", open_connections());
    for (auto& a : acceptors_)
        a->close();
    ctx_.draining = admin_ctx_.draining = true;  // http/'s copy: responses say Connection: close
    // Keep-alive connections are not closed at once: a client may be
    // sending its next request on one right now, and would see the close
    // instead of an answer. Every response from now on says
    // "Connection: close", so busy connections end cleanly; those still
    // idle after drain_idle_ms are closed then. A connection that has not
    // sent its first request yet is on its way: it was accepted for a
    // request, so that request is served (or header_timeout ends it).
    int rc = uv_timer_start(
        &drain_idle_timer_,
        [](uv_timer_t* t) noexcept {
            static_cast<Worker*>(t->data)->each_connection_list([](http::ConnectionList& l) { l.drain_served(); });
        },
        std::min<uint64_t>(drain_idle_ms, uint64_t(settings_.keepalive * 1000)), 0);
    if (rc != 0)
        spdlog::error("uv_timer_start(drain idle): {}; idle connections close at graceful_timeout", uv_err_name(rc));
    rc = uv_timer_start(
        &graceful_timer_,
        [](uv_timer_t* t) noexcept {
            auto* self = static_cast<Worker*>(t->data);
            spdlog::warn("graceful_timeout: closing {} connections still open", self->open_connections());
            // Requests still waiting on a timer are answered (503) now rather than
            // when their timer fires; jobs already running on a thread cannot be.
            self->app_->cancel_timers();
            self->each_connection_list([](http::ConnectionList& l) { l.close_all(); });
            self->finish_if_drained();
        },
        uint64_t(settings_.graceful_timeout * 1000), 0);
    if (rc != 0)
        spdlog::error("uv_timer_start(graceful): {}; connections are not cut at graceful_timeout", uv_err_name(rc));
    finish_if_drained();
}

void Worker::finish_if_drained()
{
    if (open_connections() == 0 && !closing_)
        close_handles();
}

// The connections closed by the server's limits, and refused, for /stats.
template <class Fn> void Worker::each_connection_list(Fn fn)
{
    for (http::Context* ctx : {&ctx_, &admin_ctx_})
        fn(ctx->connections);
}

void Worker::close_handles()
{
    closing_ = true;
    takeover_->close();
    pool_->close();
    ctx_.turns.close();
    admin_ctx_.turns.close();
    signals_.close();  // blocked first: a finishing worker keeps them pending
    uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&graceful_timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&drain_idle_timer_), nullptr);
}

int Worker::run()
{
    int rc = boot();
    if (rc != exit_ok)
        return rc;
    uv_run(&loop_, UV_RUN_DEFAULT);
    accounting_->store_bytes();  // the last bytes, before the master folds our counters
    stats::store_connection_counts(*spec_.scoreboard, connection_counts({&ctx_, &admin_ctx_}, acceptors_));
    spec_.scoreboard->state.store(stats::WorkerState::exited, std::memory_order_release);
    rc = uv_loop_close(&loop_);
    if (rc != 0)
        spdlog::warn("uv_loop_close: {} (a handle was left open)", uv_err_name(rc));
    spdlog::debug("exiting after {} requests", accounting_->requests());
    access_log_.reset();  // writes what is queued: we leave by _exit, no destructors run
    log::flush();
    return exit_ok;
}

}  // namespace

int run(const Spec& spec)
{
    Worker w(spec);
    return w.run();
}

}  // namespace forkd::worker
