// Unit tests for worker/signal_table.hpp: signals recorded by libuv and
// handled on the loop by the member the table names; after close() they
// stay pending instead of taking their default action.
#include <doctest/doctest.h>

#include <csignal>
#include <ctime>

#include <uv.h>

#include "worker/signal_table.hpp"

namespace {

struct Owner {
    int usr1 = 0;
    int usr2 = 0;
    void on_usr1() { ++usr1; }
    void on_usr2() { ++usr2; }

    using Signals = forkd::worker::SignalTable<Owner, 2>;
    static const Signals::Entries table;
};

const Owner::Signals::Entries Owner::table = {{
    {SIGUSR1, "SIGUSR1", &Owner::on_usr1, spdlog::level::debug},
    {SIGUSR2, "SIGUSR2", &Owner::on_usr2, spdlog::level::debug},
}};

}  // namespace

TEST_CASE("signal table: each signal runs its member on the loop; after close() it waits, pending")
{
    uv_loop_t loop;
    REQUIRE(uv_loop_init(&loop) == 0);
    Owner owner;
    Owner::Signals signals(Owner::table);
    REQUIRE(signals.start(&loop, &owner) == 0);

    raise(SIGUSR2);
    CHECK(owner.usr2 == 0);  // the handler only recorded it
    for (int i = 0; i < 100 && owner.usr2 == 0; ++i)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(owner.usr2 == 1);
    raise(SIGUSR1);
    for (int i = 0; i < 100 && owner.usr1 == 0; ++i)
        uv_run(&loop, UV_RUN_NOWAIT);
    CHECK(owner.usr1 == 1);
    CHECK(owner.usr2 == 1);

    signals.close();
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);  // the handles closed
    CHECK(uv_loop_close(&loop) == 0);

    // libuv has put SIGUSR2's default action (terminate) back: blocked, the
    // signal waits instead of ending the process. Take it, then unblock.
    raise(SIGUSR2);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    const timespec zero{0, 0};
    CHECK(sigtimedwait(&mask, nullptr, &zero) == SIGUSR2);
    sigaddset(&mask, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &mask, nullptr);
}
