// app/accounting.hpp: what a worker's answers leave behind: scoreboard counters and access-log lines.
//
// Owns this worker's scoreboard entry on the request path (in flight, the
// request the loop is busy with, responses by endpoint, byte totals) and the
// access log, and renders /stats and /metrics from the whole board. Every
// answer is counted once, in sent(), from what http::Handler::on_response
// hands back with it. Shared by the worker's handlers (App, AdminHandler);
// the worker's tick stores the rest (heartbeat, offload gauges).
// Must not answer requests or touch sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "http/connection.hpp"
#include "log/access.hpp"
#include "stats/scoreboard.hpp"

namespace forkd::app {

// Who this worker is, for /stats ("served_by") and log lines.
struct WorkerIdentity {
    int slot = 0;
    int generation = 1;
};

// An endpoint index (app/table.hpp) as a respond() tag and back: tag 0 is
// an answer that no endpoint made (the connection's own errors): "other".
uint32_t tag_of(std::size_t endpoint);
std::size_t endpoint_of(uint32_t tag);

class Accounting {
public:
    // `entry`: this worker's scoreboard entry, through which /stats reads the
    // whole board. nullptr (tests): a private one-entry board.
    Accounting(stats::WorkerEntry* entry, WorkerIdentity identity);

    // Byte totals are those of every Context watched (the worker's main and
    // stats.bind ones): the entry holds their sum, so it never goes back.
    void watch(const http::Context& ctx);
    // Write a line per response here (nullptr: no access log).
    void set_access_log(log::AccessLog* access_log) { access_log_ = access_log; }

    // A request was taken (in flight; the loop is busy with it until loop_free()).
    void request_taken(const http::Request& request, uint64_t now_ms);
    // The loop is busy with `request` (taken earlier, deferred) until loop_free().
    void loop_busy_with(const http::Request& request, uint64_t now_ms);
    void loop_free();
    // Its answer was handed to the connection (no longer in flight).
    void request_answered();
    // A response was queued: write the access-log line, and count() it.
    void sent(const http::Connection& conn, const http::Request& request, const http::Sent& sent) noexcept;
    // Count a response for its endpoint (the tag) and store_bytes().
    void count(const http::Sent& sent) noexcept;
    // Store the byte totals of the watched Contexts: their sum only grows,
    // so it may be stored from anywhere. count() does with every response;
    // the worker's tick and its exit do too, for bytes that got no answer
    // (a partial head, a closed idle connection, a discarded body).
    void store_bytes() noexcept;

    // /stats (JSON) or /metrics (Prometheus): the whole board now.
    http::Response stats_page(bool prometheus) const;

    uint64_t requests() const { return entry_->requests.load(std::memory_order_relaxed); }
    // The host's state, as the master set it on the board (forkd drain):
    // one relaxed load, read with every answer.
    stats::HostState host_state() const { return board_->master().host_state.load(std::memory_order_relaxed); }
    bool host_draining() const { return host_state() == stats::HostState::draining; }
    const stats::WorkerEntry& entry() const { return *entry_; }
    WorkerIdentity identity() const { return identity_; }

private:
    WorkerIdentity identity_;
    std::unique_ptr<stats::Scoreboard> board_;  // the whole board (a view, or our own)
    stats::WorkerEntry* entry_;                 // ours, in board_
    log::AccessLog* access_log_ = nullptr;
    std::array<const http::Context*, 2> watched_{};
    // The request text last stored for the watchdog (entry_->request): a
    // request with the same method and target leaves it as it is.
    bool busy_stored_ = false;
    llhttp_method_t busy_method_ = HTTP_GET;
    std::string busy_target_;
};

}  // namespace forkd::app
