// Unit tests for stats/procfs.cpp: /proc parsing from captured lines, this
// process's own figures, and a listening socket's accept queue.
#include <doctest/doctest.h>

#include "tests/unit/loopback.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats/procfs.hpp"

using namespace forkd::stats;

TEST_CASE("parse_proc_stat adds utime and stime, counted after the command name")
{
    // A command name with spaces and a ')' must not shift the fields.
    const char* line = "4242 (forkd: worker) 1)) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 130 0 0 20 0 5 0 "
                       "123456 10000000 900 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0\n";
    uint64_t cpu_ms = 0;
    REQUIRE(parse_proc_stat(line, 100, cpu_ms));
    CHECK(cpu_ms == (250 + 130) * 10);
    REQUIRE(parse_proc_stat(line, 1000, cpu_ms));
    CHECK(cpu_ms == 380);

    CHECK_FALSE(parse_proc_stat("4242 forkd S 1 2 3", 100, cpu_ms));    // no ')'
    CHECK_FALSE(parse_proc_stat("4242 (forkd) S 1 2 3", 100, cpu_ms));  // too short
    CHECK_FALSE(parse_proc_stat("4242 (forkd) S 1 2 3 4 5 6 7 8 9 x 130", 100, cpu_ms));
    CHECK_FALSE(parse_proc_stat(line, 0, cpu_ms));
}

TEST_CASE("parse_proc_statm reads the resident pages")
{
    uint64_t rss = 0;
    REQUIRE(parse_proc_statm("5000 1234 300 10 0 800 0\n", 4096, rss));
    CHECK(rss == 1234ull * 4096);
    CHECK_FALSE(parse_proc_statm("5000", 4096, rss));
    CHECK_FALSE(parse_proc_statm("5000 abc 3", 4096, rss));
}

TEST_CASE("read_proc_usage of this process")
{
    ProcUsage u;
    REQUIRE(read_proc_usage(getpid(), u));
    CHECK(u.rss_bytes > 1024 * 1024);  // a doctest binary is bigger than 1 MiB resident
    // A pid that does not exist (pid_max is at most 2^22).
    CHECK_FALSE(read_proc_usage(pid_t(1 << 23), u));
}

TEST_CASE("read_accept_queue counts connections the kernel completed")
{
    uint16_t port = 0;
    const int listener = forkd::test::listen_loopback(16, &port);
    REQUIRE(listener >= 0);

    AcceptQueue q;
    REQUIRE(read_accept_queue(listener, q));
    CHECK(q.queued == 0);
    CHECK(q.backlog == 16);

    int clients[3];
    for (int& c : clients) {
        c = forkd::test::connect_loopback(port);
        REQUIRE(c >= 0);
    }
    REQUIRE(read_accept_queue(listener, q));
    CHECK(q.queued == 3);

    int accepted = accept(listener, nullptr, nullptr);
    REQUIRE(accepted >= 0);
    REQUIRE(read_accept_queue(listener, q));
    CHECK(q.queued == 2);

    // Not a listening socket.
    CHECK_FALSE(read_accept_queue(clients[0], q));
    CHECK_FALSE(read_accept_queue(-1, q));
    close(accepted);
    for (int c : clients)
        close(c);
    close(listener);
}
