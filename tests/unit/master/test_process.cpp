// Unit tests for master/process.cpp and the restart policy of master/slots.hpp.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "master/process.hpp"
#include "master/slots.hpp"

using namespace forkd::master;

TEST_CASE("fork_child: the child's result is its exit status")
{
    pid_t pid = fork_child([](void*) {}, nullptr, [](void*) { return 3; }, nullptr);
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);

    pid = fork_child([](void*) {}, nullptr,
                     [](void*) {
                         pause();
                         return 0;
                     },
                     nullptr);
    REQUIRE(pid > 0);
    kill(pid, SIGKILL);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("fork_child: the child starts with default dispositions, SIGPIPE ignored, and an empty mask")
{
    // Ignore SIGUSR2 here; the child must not inherit that.
    struct sigaction ign {
    }, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &ign, &old);
    pid_t pid = fork_child(
        [](void*) {}, nullptr,
        [](void*) {
            struct sigaction cur {
            }, pipe{};
            sigaction(SIGUSR2, nullptr, &cur);
            sigaction(SIGPIPE, nullptr, &pipe);
            sigset_t mask;
            pthread_sigmask(SIG_SETMASK, nullptr, &mask);
            return (cur.sa_handler == SIG_DFL && pipe.sa_handler == SIG_IGN && !sigismember(&mask, SIGTERM)) ? 0 : 1;
        },
        nullptr);
    sigaction(SIGUSR2, &old, nullptr);
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("backoff: immediate first restart, then doubling up to 5 s")
{
    CHECK(backoff_ms(0) == 0);
    CHECK(backoff_ms(1) == 0);
    CHECK(backoff_ms(2) == 100);
    CHECK(backoff_ms(3) == 200);
    CHECK(backoff_ms(6) == 1600);
    CHECK(backoff_ms(8) == 5000);
    CHECK(backoff_ms(100) == 5000);
}

TEST_CASE("fork_child: a write to a closed socket fails with EPIPE in the child instead of killing it")
{
    pid_t pid = fork_child([](void*) {}, nullptr,
                           [](void*) {
                               int sv[2];
                               if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
                                   return 2;
                               ::close(sv[1]);
                               const ssize_t n = ::write(sv[0], "x", 1);  // no MSG_NOSIGNAL: as libuv writes
                               return n < 0 && errno == EPIPE ? 0 : 1;
                           },
                           nullptr);
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

namespace {

Death ready_death(bool took_requests, uint64_t lived_ms)
{
    Death d;
    d.ready = true;
    d.took_requests = took_requests;
    d.lived_ms = lived_ms;
    return d;
}

}  // namespace

TEST_CASE("restart policy: workers that never became ready back off, and six in a row give up")
{
    Slot slot;
    Death never_ready;
    never_ready.lived_ms = 10;
    const uint64_t delays[] = {0, 100, 200, 400, 800};
    for (uint64_t want : delays) {
        const Restart r = slot.after_death(never_ready);
        CHECK(r.boot_failure);
        CHECK(r.delay_ms == want);
        CHECK_FALSE(r.give_up);
    }
    const Restart last = slot.after_death(never_ready);
    CHECK(last.give_up);

    // A boot failure by exit code counts even if the tick saw it ready.
    Slot other;
    Death boot;
    boot.ready = true;
    boot.boot_failed = true;
    CHECK(other.after_death(boot).boot_failure);
}

TEST_CASE("restart policy: a worker that served never stops the master, however often it dies")
{
    Slot slot;
    for (int i = 0; i < 100; ++i) {
        const Restart r = slot.after_death(ready_death(true, 50));
        CHECK_FALSE(r.give_up);
        CHECK_FALSE(r.boot_failure);
        CHECK(r.delay_ms == 0);  // it took a request: replaced at once
    }
}

TEST_CASE("restart policy: a ready worker that keeps dying by itself backs off, but never gives up")
{
    Slot slot;
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 100);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 200);
    for (int i = 0; i < 20; ++i) {
        const Restart r = slot.after_death(ready_death(false, 10));
        CHECK_FALSE(r.give_up);
        CHECK(r.delay_ms <= 5000);
    }
    // One that lived long enough, or took a request, starts the count over.
    CHECK(slot.after_death(ready_death(false, early_exit_ms)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 0);
    CHECK(slot.after_death(ready_death(false, 10)).delay_ms == 100);
    CHECK(slot.after_death(ready_death(true, 10)).delay_ms == 0);
}

TEST_CASE("restart policy: boot failures in a row only; a worker that served resets the count")
{
    Slot slot;
    Death never_ready;
    for (int i = 0; i < 5; ++i)
        CHECK_FALSE(slot.after_death(never_ready).give_up);
    CHECK_FALSE(slot.after_death(ready_death(true, 10)).give_up);
    for (int i = 0; i < 5; ++i)
        CHECK_FALSE(slot.after_death(never_ready).give_up);
    CHECK(slot.after_death(never_ready).give_up);
    slot.forget_failures();  // a reload starts over
    CHECK_FALSE(slot.after_death(never_ready).give_up);
}
