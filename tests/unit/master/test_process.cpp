// Unit tests for master/process.cpp and the backoff policy of master/slots.hpp.
#include <doctest/doctest.h>

#include <csignal>
#include <unistd.h>

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

    pid = fork_child([](void*) {}, nullptr, [](void*) { pause(); return 0; }, nullptr);
    REQUIRE(pid > 0);
    kill(pid, SIGKILL);
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("fork_child: the child starts with default dispositions and an empty mask")
{
    // Ignore SIGUSR2 here; the child must not inherit that.
    struct sigaction ign{}, old{};
    ign.sa_handler = SIG_IGN;
    sigaction(SIGUSR2, &ign, &old);
    pid_t pid = fork_child([](void*) {}, nullptr, [](void*) {
        struct sigaction cur{};
        sigaction(SIGUSR2, nullptr, &cur);
        sigset_t mask;
        pthread_sigmask(SIG_SETMASK, nullptr, &mask);
        return (cur.sa_handler == SIG_DFL && !sigismember(&mask, SIGTERM)) ? 0 : 1;
    }, nullptr);
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
