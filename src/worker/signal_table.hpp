// worker/signal_table.hpp: a process's handled signals as one table of
// libuv signal handles, for the master and for each worker.
//
// Signal handlers only record; the loop acts: libuv's handler writes to the
// loop's pipe, and the member the table names runs on the loop, after a
// "handling SIGHUP" line at the entry's level. Must not know what a signal
// means to its owner: that is the owner's table.
//
// Closing: once the last handle of a signal is closed, libuv restores its
// default action, and a second TERM would kill a process that is exiting
// cleanly. close() blocks the table's signals first; they stay pending, and
// the process ends before they matter.
#pragma once

#include <array>
#include <csignal>
#include <cstddef>
#include <exception>

#include <spdlog/spdlog.h>
#include <uv.h>

namespace forkd::worker {

template <class Owner, std::size_t N> class SignalTable {
public:
    struct Entry {
        int signum;
        const char* name;
        void (Owner::*handler)();
        spdlog::level::level_enum level = spdlog::level::info;  // of the "handling" line
    };
    using Entries = std::array<Entry, N>;

    explicit SignalTable(const Entries& entries) : entries_(entries) { }
    SignalTable(const SignalTable&) = delete;
    SignalTable& operator=(const SignalTable&) = delete;

    // One started handle per entry on `loop`, each calling owner->*handler.
    // Returns 0, or the libuv error, logged once with the call and the signal.
    int start(uv_loop_t* loop, Owner* owner)
    {
        owner_ = owner;
        for (std::size_t i = 0; i < N; ++i) {
            int rc = uv_signal_init(loop, &handles_[i]);
            if (rc != 0)
                return failed("uv_signal_init", i, rc);
            handles_[i].data = this;
            initialized_ = i + 1;
            rc = uv_signal_start(&handles_[i], &SignalTable::on_signal, entries_[i].signum);
            if (rc != 0)
                return failed("uv_signal_start", i, rc);
        }
        return 0;
    }

    // In a child forked from this process: stop the inherited handles, so
    // that a signal meant for the child is not written to our loop's pipe.
    void forget() noexcept
    {
        for (std::size_t i = 0; i < initialized_; ++i)
            uv_signal_stop(&handles_[i]);
    }

    // Block the table's signals, then close the handles (see above).
    void close() noexcept
    {
        sigset_t mask;
        sigemptyset(&mask);
        for (const Entry& e : entries_)
            sigaddset(&mask, e.signum);
        pthread_sigmask(SIG_BLOCK, &mask, nullptr);
        for (std::size_t i = 0; i < initialized_; ++i) {
            auto* h = reinterpret_cast<uv_handle_t*>(&handles_[i]);
            if (!uv_is_closing(h))
                uv_close(h, nullptr);
        }
    }

private:
    static void on_signal(uv_signal_t* handle, int) noexcept
    {
        auto* self = static_cast<SignalTable*>(handle->data);
        const Entry& e = self->entries_[std::size_t(handle - self->handles_.data())];
        spdlog::log(e.level, "handling {}", e.name);
        try {
            (self->owner_->*e.handler)();
        } catch (const std::exception& ex) {
            spdlog::error("handling {}: {}", e.name, ex.what());
        }
    }

    int failed(const char* call, std::size_t i, int rc)
    {
        spdlog::critical("{}({}): {}", call, entries_[i].name, uv_err_name(rc));
        return rc;
    }

    const Entries& entries_;
    Owner* owner_ = nullptr;
    std::array<uv_signal_t, N> handles_{};
    std::size_t initialized_ = 0;  // handles_[0, initialized_) were initialised: close them
};

}  // namespace forkd::worker
