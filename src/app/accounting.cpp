// app/accounting.cpp: scoreboard writes on the request path and the access log (accounting.hpp).
//
// The hot path of the statistics: a few relaxed stores, no lock, no
// allocation, no system call (see stats/scoreboard.hpp). Each counter is
// stored here, where it changes, and nowhere else; the byte totals are
// stored from one function, store_bytes(), whoever calls it.
#include "app/accounting.hpp"

#include <unistd.h>

#include "app/access_record.hpp"
#include "app/endpoints.hpp"
#include "app/table.hpp"
#include "stats/snapshot.hpp"

namespace forkd::app {

uint32_t tag_of(std::size_t endpoint)
{
    return uint32_t(endpoint) + 1;
}

std::size_t endpoint_of(uint32_t tag)
{
    return tag == 0 || tag > other_endpoint ? other_endpoint : std::size_t(tag - 1);
}

Accounting::Accounting(stats::WorkerEntry* entry, WorkerIdentity identity)
    : identity_(identity), board_(entry ? std::make_unique<stats::Scoreboard>(stats::Scoreboard::attach(*entry))
                                        : std::make_unique<stats::Scoreboard>(1)),
      entry_(entry ? entry : &board_->entry(0))
{
}

void Accounting::watch(const http::Context& ctx)
{
    for (const http::Context*& slot : watched_) {
        if (slot == nullptr || slot == &ctx) {
            slot = &ctx;
            return;
        }
    }
}

void Accounting::request_taken(const http::Request& request, uint64_t now_ms)
{
    entry_->in_flight.store(entry_->in_flight.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    loop_busy_with(request, now_ms);
}

void Accounting::loop_busy_with(const http::Request& request, uint64_t now_ms)
{
    // Tell the master's watchdog what the loop is doing until it returns to
    // the loop (inline work, a blocking sleep): the request it will name.
    // The text stays in the entry between requests (loop_free() clears only
    // the time), so a keep-alive client asking for the same target again
    // finds it there already: only the time is stored then.
    if (busy_stored_ && request.method == busy_method_ && request.target == busy_target_) {
        entry_->request_started_ms.store(now_ms, std::memory_order_relaxed);
        return;
    }
    stats::loop_busy_with(*entry_, request.method_name(), request.target, now_ms);
    try {
        busy_target_.assign(request.target);  // capacity kept: bounded by limit_request_line
        busy_method_ = request.method;
        busy_stored_ = true;
    } catch (...) {
        busy_stored_ = false;  // out of memory: store the text every time instead
    }
}

void Accounting::loop_free()
{
    stats::loop_busy_done(*entry_);
}

void Accounting::request_answered()
{
    entry_->in_flight.store(entry_->in_flight.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
}

void Accounting::sent(const http::Connection& conn, const http::Request& request, const http::Sent& sent) noexcept
{
    if (access_log_ != nullptr)
        write_access_record(*access_log_, conn, request, sent, identity_.slot);
    count(sent);
}

void Accounting::count(const http::Sent& sent) noexcept
{
    stats::record_response(*entry_, endpoint_of(sent.tag), sent.status, sent.duration_ns);
    store_bytes();
}

void Accounting::store_bytes() noexcept
{
    // The sum of every watched Context, so the stored figure only grows.
    uint64_t bytes_in = 0;
    uint64_t bytes_out = 0;
    for (const http::Context* ctx : watched_) {
        if (ctx == nullptr)
            continue;
        bytes_in += ctx->bytes_in;
        bytes_out += ctx->bytes_out;
    }
    entry_->bytes_in.store(bytes_in, std::memory_order_relaxed);
    entry_->bytes_out.store(bytes_out, std::memory_order_relaxed);
}

// The whole board as it is now (rendering is the only place where
// percentiles are computed).
http::Response Accounting::stats_page(bool prometheus) const
{
    const stats::Snapshot snap = stats::take_snapshot(*board_);
    if (prometheus)
        return metrics_response(snap);
    return stats_response(snap, stats::ServedBy{long(getpid()), identity_.slot, identity_.generation});
}

}  // namespace forkd::app
