// Unit tests for stats/scoreboard.cpp and labels.cpp: the shared layout,
// processes sharing it, the hot-path recording, the label tables.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stats/scoreboard.hpp"
#include "tests/unit/stats/endpoint_fixture.hpp"

using namespace forkd::stats;
using namespace endpoint_fixture;

TEST_CASE("scoreboard parts are cache-line sized and aligned")
{
    CHECK(alignof(WorkerEntry) == 64);
    CHECK(sizeof(WorkerEntry) % 64 == 0);
    CHECK(sizeof(EndpointCounters) % 64 == 0);
    CHECK(sizeof(SlotArea) % 64 == 0);
    CHECK(sizeof(MasterArea) % 64 == 0);
    Scoreboard sb(4, 2);
    CHECK(sb.size() == 4);
    CHECK(sb.slots() == 2);
    for (std::size_t i = 0; i < 4; ++i) {
        CHECK(reinterpret_cast<uintptr_t>(&sb.entry(i)) % 64 == 0);
        CHECK(reinterpret_cast<uintptr_t>(&sb.sample(i)) % 64 == 0);
        CHECK(sb.entry(i).index == i);
    }
    CHECK(reinterpret_cast<uintptr_t>(&sb.slot(1)) % 64 == 0);
    CHECK(sb.entry(3).state.load() == WorkerState::empty);
    CHECK(sb.master().master_pid.load() == getpid());
    CHECK(sb.master().started_ms.load() > 0);
    // One slot area per entry unless told otherwise.
    CHECK(Scoreboard(3).slots() == 3);
}

TEST_CASE("a worker finds the whole board from its own entry")
{
    Scoreboard sb(5, 3);
    Scoreboard view = Scoreboard::attach(sb.entry(3));
    CHECK(view.size() == 5);
    CHECK(view.slots() == 3);
    CHECK(&view.entry(0) == &sb.entry(0));
    CHECK(&view.slot(2) == &sb.slot(2));
    CHECK(&view.master() == &sb.master());
    // The view does not own the mapping: destroying it leaves sb usable.
    {
        Scoreboard other = Scoreboard::attach(sb.entry(0));
    }
    sb.entry(4).requests.store(1);
    CHECK(sb.entry(4).requests.load() == 1);
}

TEST_CASE("a child's writes are visible to the parent")
{
    Scoreboard sb(2);
    sb.entry(1).reset(0, 7, 1000);
    pid_t pid = fork();
    if (pid == 0) {
        bump(sb.entry(1).requests, 41);
        record_response(sb.entry(1), Endpoint::fib_inline, 200, 5000);
        sb.entry(1).state.store(WorkerState::ready);
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(sb.entry(1).requests.load() == 42);
    CHECK(sb.entry(1).endpoints[std::size_t(Endpoint::fib_inline)].requests() == 1);
    CHECK(sb.entry(1).state.load() == WorkerState::ready);
    CHECK(sb.entry(1).generation.load() == 7);
    CHECK(std::string(to_string(sb.entry(1).state.load())) == "ready");
}

TEST_CASE("record_response counts by endpoint, code and latency bucket")
{
    Scoreboard sb(1);
    WorkerEntry& e = sb.entry(0);
    record_response(e, Endpoint::hello_inline, 200, 4000);
    record_response(e, Endpoint::hello_inline, 200, 6000);
    record_response(e, Endpoint::other, 404, 1000);
    record_response(e, Endpoint::other, 418, 1000);
    CHECK(e.requests.load() == 4);
    const EndpointCounters& hello = e.endpoints[std::size_t(Endpoint::hello_inline)];
    CHECK(hello.responses[code_index(200)].load() == 2);
    CHECK(hello.latency_sum_ns.load() == 10000);
    CHECK(hello.latency_max_ns.load() == 6000);
    CHECK(hello.latency[hist::bucket_of(4000)].load() == 1);
    CHECK(hello.latency[hist::bucket_of(6000)].load() == 1);
    const EndpointCounters& other = e.endpoints[std::size_t(Endpoint::other)];
    CHECK(other.responses[code_index(404)].load() == 1);
    CHECK(other.responses[code_index(418)].load() == 1);  // the 4xx overflow bucket

    SUBCASE("reset clears everything for the next worker")
    {
        e.bytes_in.store(10);
        e.in_flight.store(3);
        e.reset(2, 5, 12345);
        CHECK(e.requests.load() == 0);
        CHECK(e.bytes_in.load() == 0);
        CHECK(e.in_flight.load() == 0);
        CHECK(hello.requests() == 0);
        CHECK(hello.latency_max_ns.load() == 0);
        CHECK(hello.latency[hist::bucket_of(4000)].load() == 0);
        CHECK(e.slot.load() == 2);
        CHECK(e.generation.load() == 5);
        CHECK(e.started_ms.load() == 12345);
        CHECK(e.state.load() == WorkerState::booting);
        CHECK(e.index == 0);  // the layout field survives
    }
}

TEST_CASE("sample_worker stores the gauges and reads the accept queue")
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(listen(fd, 37) == 0);

    Scoreboard sb(1);
    WorkerTick tick;
    tick.offload_threads = 4;
    tick.offload_busy = 2;
    tick.offload_queued = 9;
    const int fds[] = {fd};
    tick.listen_fds = fds;
    sample_worker(sb.entry(0), tick);
    const WorkerEntry& e = sb.entry(0);
    CHECK(e.bytes_in.load() == 0);  // counters are not the tick's: app/accounting stores them
    CHECK(e.bytes_out.load() == 0);
    CHECK(e.offload_threads.load() == 4);
    CHECK(e.offload_busy.load() == 2);
    CHECK(e.offload_queued.load() == 9);
    CHECK(e.accept_queue.load() == 0);
    CHECK(e.accept_backlog.load() == 37);
    close(fd);
}

TEST_CASE("text fields are bounded and NUL-terminated")
{
    std::atomic<char> buf[8]{};
    store_text(buf, sizeof buf, "hello", 5);
    CHECK(load_text(buf, sizeof buf) == "hello");
    store_text(buf, sizeof buf, "far too long", 12);
    CHECK(load_text(buf, sizeof buf) == "far too");
}

TEST_CASE("record_response: an endpoint past the room counts in the last set")
{
    Scoreboard sb(1);
    record_response(sb.entry(0), endpoint_count + 3, 200, 1000);
    CHECK(sb.entry(0).endpoints[endpoint_count - 1].requests() == 1);
}
