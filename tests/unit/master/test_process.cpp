// Unit tests for master/process.cpp: fork_child() and SIGPIPE.
#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "master/process.hpp"

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
