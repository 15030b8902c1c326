// tests/unit/offload/test_pool.cpp: the offload pool against a real uv loop.
//
// Checks where jobs run and complete, the queue bound, threads == 0, real
// parallelism, close() with queued work, the ref/unref of the async handle,
// and that nothing is left on the loop afterwards (uv_loop_close() == 0).
#include "offload/pool.hpp"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <uv.h>

using forkd::offload::Job;
using forkd::offload::Pool;

namespace {

struct TestJob : Job {
    int sleep_ms = 0;
    std::thread::id ran_on;
    std::thread::id done_on;
    bool ran = false;
    int* completed = nullptr;                // incremented by done()
    std::vector<TestJob*>* order = nullptr;  // completion order, if wanted

    TestJob()
    {
        run = [](Job* j) {
            auto* self = static_cast<TestJob*>(j);
            self->ran_on = std::this_thread::get_id();
            if (self->sleep_ms > 0)
                std::this_thread::sleep_for(std::chrono::milliseconds(self->sleep_ms));
            self->ran = true;
        };
        done = [](Job* j) {
            auto* self = static_cast<TestJob*>(j);
            self->done_on = std::this_thread::get_id();
            ++*self->completed;
            if (self->order)
                self->order->push_back(self);
        };
    }
};

struct Loop {
    uv_loop_t loop;
    Loop() { REQUIRE(uv_loop_init(&loop) == 0); }
    ~Loop() { CHECK(uv_loop_close(&loop) == 0); }
};

// A gate that holds pool threads until released, to fill the queue.
struct GateJob : Job {
    std::atomic<bool>* open = nullptr;
    std::atomic<int>* started = nullptr;
    int* completed = nullptr;
    GateJob()
    {
        run = [](Job* j) {
            auto* self = static_cast<GateJob*>(j);
            self->started->fetch_add(1);
            while (!self->open->load())
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        };
        done = [](Job* j) { ++*static_cast<GateJob*>(j)->completed; };
    }
};

}  // namespace

TEST_CASE("pool: jobs run on a pool thread and complete on the loop thread")
{
    Loop l;
    Pool pool(&l.loop, 2, 16);
    REQUIRE(pool.start() == 0);
    CHECK(pool.threads() == 2);

    int completed = 0;
    std::vector<TestJob> jobs(5);
    for (auto& job : jobs) {
        job.completed = &completed;
        REQUIRE(pool.submit(&job) == 0);
    }
    // The outstanding jobs keep the loop alive: run until they are all done.
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 5);
    const auto loop_thread = std::this_thread::get_id();
    for (auto& job : jobs) {
        CHECK(job.ran);
        CHECK(job.ran_on != loop_thread);
        CHECK(job.done_on == loop_thread);
    }
    CHECK(pool.depth() == 0);
    CHECK(pool.busy() == 0);

    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(pool.closed());
}

TEST_CASE("pool: an idle pool does not keep the loop alive")
{
    Loop l;
    Pool pool(&l.loop, 1, 4);
    REQUIRE(pool.start() == 0);
    // Nothing submitted: uv_run returns at once (0: no active handles).
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(100));
    CHECK(uv_loop_alive(&l.loop) == 0);

    int completed = 0;
    TestJob job;
    job.sleep_ms = 20;
    job.completed = &completed;
    REQUIRE(pool.submit(&job) == 0);
    CHECK(uv_loop_alive(&l.loop) != 0);  // pending work holds the loop
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 1);
    CHECK(uv_loop_alive(&l.loop) == 0);  // and lets go once done

    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("pool: the queue bound is enforced")
{
    Loop l;
    Pool pool(&l.loop, 1, 2);
    REQUIRE(pool.start() == 0);

    std::atomic<bool> open{false};
    std::atomic<int> started{0};
    int completed = 0;
    std::vector<GateJob> jobs(4);
    for (auto& job : jobs) {
        job.open = &open;
        job.started = &started;
        job.completed = &completed;
    }
    // The first job occupies the only thread...
    REQUIRE(pool.submit(&jobs[0]) == 0);
    while (started.load() == 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    CHECK(pool.busy() == 1);
    CHECK(pool.depth() == 0);
    // ...so two more fill the queue, and the fourth is refused.
    CHECK(pool.submit(&jobs[1]) == 0);
    CHECK(pool.submit(&jobs[2]) == 0);
    CHECK(pool.depth() == 2);
    CHECK(pool.submit(&jobs[3]) != 0);
    CHECK(pool.depth() == 2);

    open.store(true);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 3);
    CHECK(pool.depth() == 0);
    CHECK(pool.busy() == 0);
    // Room again.
    CHECK(pool.submit(&jobs[3]) == 0);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 4);

    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("pool: threads == 0 refuses every job")
{
    Loop l;
    Pool pool(&l.loop, 0, 16);
    REQUIRE(pool.start() == 0);
    CHECK(pool.threads() == 0);
    int completed = 0;
    TestJob job;
    job.completed = &completed;
    CHECK(pool.submit(&job) != 0);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 0);
    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(pool.closed());
}

TEST_CASE("pool: submit before start() or after close() refuses")
{
    Loop l;
    Pool pool(&l.loop, 2, 16);
    int completed = 0;
    TestJob job;
    job.completed = &completed;
    CHECK(pool.submit(&job) != 0);
    REQUIRE(pool.start() == 0);
    pool.close();
    CHECK(pool.submit(&job) != 0);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 0);
}

TEST_CASE("pool: close() without start() is harmless")
{
    Loop l;
    Pool pool(&l.loop, 2, 16);
    pool.close();
    CHECK(pool.closed());
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("pool: jobs run in parallel")
{
    Loop l;
    Pool pool(&l.loop, 2, 16);
    REQUIRE(pool.start() == 0);
    int completed = 0;
    std::vector<TestJob> jobs(2);
    for (auto& job : jobs) {
        job.sleep_ms = 200;
        job.completed = &completed;
    }
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(pool.submit(&jobs[0]) == 0);
    REQUIRE(pool.submit(&jobs[1]) == 0);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    CHECK(completed == 2);
    CHECK(elapsed >= std::chrono::milliseconds(200));
    CHECK(elapsed < std::chrono::milliseconds(350));
    CHECK(jobs[0].ran_on != jobs[1].ran_on);
    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("pool: close() with queued jobs completes them, in order")
{
    Loop l;
    Pool pool(&l.loop, 1, 16);
    REQUIRE(pool.start() == 0);
    int completed = 0;
    std::vector<TestJob*> order;
    std::vector<TestJob> jobs(6);
    for (auto& job : jobs) {
        job.sleep_ms = 10;
        job.completed = &completed;
        job.order = &order;
        REQUIRE(pool.submit(&job) == 0);
    }
    // No uv_run: close() itself runs the queued jobs and their done().
    pool.close();
    CHECK(completed == 6);
    REQUIRE(order.size() == 6);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        CHECK(order[i] == &jobs[i]);  // one thread: FIFO
        CHECK(jobs[i].done_on == std::this_thread::get_id());
    }
    CHECK(pool.depth() == 0);
    CHECK_FALSE(pool.closed());  // the close callback needs the loop
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(pool.closed());
}

TEST_CASE("pool: done() may submit the next job")
{
    struct ChainJob : Job {
        Pool* pool = nullptr;
        int remaining = 0;
        int* completed = nullptr;
        ChainJob()
        {
            run = [](Job*) {};
            done = [](Job* j) {
                auto* self = static_cast<ChainJob*>(j);
                ++*self->completed;
                if (--self->remaining > 0)
                    REQUIRE(self->pool->submit(self) == 0);
            };
        }
    };
    Loop l;
    Pool pool(&l.loop, 2, 4);
    REQUIRE(pool.start() == 0);
    int completed = 0;
    ChainJob job;
    job.pool = &pool;
    job.remaining = 10;
    job.completed = &completed;
    REQUIRE(pool.submit(&job) == 0);
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 10);
    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}

TEST_CASE("pool: many jobs from many threads coalesce into few wake-ups")
{
    Loop l;
    Pool pool(&l.loop, 4, 1000);
    REQUIRE(pool.start() == 0);
    int completed = 0;
    std::vector<TestJob> jobs(500);
    for (auto& job : jobs) {
        job.completed = &completed;
        REQUIRE(pool.submit(&job) == 0);
    }
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
    CHECK(completed == 500);
    pool.close();
    CHECK(uv_run(&l.loop, UV_RUN_DEFAULT) == 0);
}
