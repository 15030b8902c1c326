// Unit tests for stats/scoreboard.cpp: shared between processes, one line per slot.
#include <doctest/doctest.h>

#include <unistd.h>

#include <sys/wait.h>

#include "stats/scoreboard.hpp"

using namespace forkd::stats;

TEST_CASE("scoreboard slots are cache-line sized and aligned")
{
    CHECK(alignof(WorkerEntry) == 64);
    CHECK(sizeof(WorkerEntry) % 64 == 0);
    Scoreboard sb(4);
    CHECK(reinterpret_cast<uintptr_t>(&sb.entry(1)) % 64 == 0);
    CHECK(sb.entry(3).state.load() == WorkerState::empty);
}

TEST_CASE("a child's writes are visible to the parent")
{
    Scoreboard sb(2);
    sb.entry(1).reset(0, 7, 1000);
    pid_t pid = fork();
    if (pid == 0) {
        sb.entry(1).add(sb.entry(1).requests, 41);
        sb.entry(1).state.store(WorkerState::ready);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(sb.entry(1).requests.load() == 41);
    CHECK(sb.entry(1).state.load() == WorkerState::ready);
    CHECK(sb.entry(1).generation.load() == 7);
    CHECK(std::string(to_string(sb.entry(1).state.load())) == "ready");
}
