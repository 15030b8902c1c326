// offload/pool.cpp: the per-worker offload threads, their bounded FIFO and
// the hand-back of finished jobs to the loop.
//
// Owns the threads, the queue (mutex + condition variable), the completions
// list and the one uv_async_t that wakes the loop for them. Never looks inside
// a job beyond Job's three fields, and never touches the loop from a pool
// thread except through uv_async_send(), the one libuv call that is
// thread-safe.
#include "offload/pool.hpp"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <system_error>

#include <pthread.h>

namespace forkd::offload {

void Pool::JobList::push(Job* job)
{
    job->next = nullptr;
    if (tail)
        tail->next = job;
    else
        head = job;
    tail = job;
}

Job* Pool::JobList::pop()
{
    Job* job = head;
    if (job) {
        head = job->next;
        if (!head)
            tail = nullptr;
        job->next = nullptr;
    }
    return job;
}

// libuv calls C function pointers; these reach the members and let no
// exception cross back into libuv.
struct PoolCallbacks {
    static void on_async(uv_async_t* handle) noexcept { static_cast<Pool*>(handle->data)->on_async(); }
    static void on_close(uv_handle_t* handle) noexcept { static_cast<Pool*>(handle->data)->closed_ = true; }
};

Pool::Pool(uv_loop_t* loop, unsigned threads, std::size_t queue_max)
    : loop_(loop), threads_(threads), queue_max_(queue_max)
{
}

Pool::~Pool()
{
    // close() should have run and its callback completed. If it did not (an
    // error path during start-up), at least do not let std::thread's
    // destructor terminate the process: stop and join the threads.
    stop_threads();
}

int Pool::start()
{
    if (async_ready_ || closing_) {
        spdlog::critical("offload pool: start() twice or after close()");
        return UV_EINVAL;
    }
    int rc = uv_async_init(loop_, &async_, &PoolCallbacks::on_async);
    if (rc != 0) {
        spdlog::critical("offload pool: uv_async_init: {}", uv_err_name(rc));
        return rc;
    }
    async_.data = this;
    async_ready_ = true;
    // Idle: the pool must not keep the worker's loop alive by itself.
    ref_ = true;
    update_ref();

    // Pool threads must never take the worker's process-directed signals:
    // those belong to the loop's uv_signal_t handles. Threads inherit the
    // creator's mask, so block asynchronous signals around their creation.
    // The synchronous ones (faults) stay unblocked so a crash still reports.
    sigset_t all, old;
    sigfillset(&all);
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP, SIGSYS})
        sigdelset(&all, sig);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = 0;
    try {
        workers_.reserve(threads_);
        for (unsigned i = 0; i < threads_; ++i)
            workers_.emplace_back([this] { thread_main(); });
    } catch (const std::system_error& e) {
        rc = e.code().value() > 0 ? -e.code().value() : UV_EAGAIN;
    } catch (...) {
        rc = UV_ENOMEM;
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (rc != 0) {
        spdlog::critical("offload pool: cannot start {} threads: {}", threads_, uv_err_name(rc));
        stop_threads();
    }  // submit() refuses from now on; close() still closes async_
    return rc;
}

int Pool::submit(Job* job)
{
    if (threads_ == 0 || !async_ready_ || closing_)
        return UV_ENOTSUP;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (stopping_)
            return UV_ENOTSUP;
        if (depth_.load(std::memory_order_relaxed) >= queue_max_)
            return UV_EAGAIN;
        queue_.push(job);
        depth_.fetch_add(1, std::memory_order_relaxed);
    }
    wake_.notify_one();
    ++outstanding_;
    update_ref();
    return 0;
}

void Pool::thread_main() noexcept
{
    // 15 characters at most (the kernel's comm limit); shows in top -H and ps.
    pthread_setname_np(pthread_self(), "forkd-offload");
    for (;;) {
        Job* job = nullptr;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [this] { return queue_.head != nullptr || stopping_; });
            job = queue_.pop();
            if (!job)
                return;  // stopping, and nothing is left to run
            depth_.fetch_sub(1, std::memory_order_relaxed);
            busy_.fetch_add(1, std::memory_order_relaxed);
        }
        job->run(job);
        // Not busy any more before the loop can see the completion, so that a
        // done() callback reading busy() sees this thread as free.
        busy_.fetch_sub(1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(done_mutex_);
            completions_.push(job);
        }
        // Coalescing: many sends before the loop wakes give one callback,
        // which drains the whole list. On Unix this cannot fail; a failure
        // would leave the job parked until the next send or close().
        if (const int rc = uv_async_send(&async_); rc != 0)
            spdlog::error("offload pool: uv_async_send: {}", uv_err_name(rc));
    }
}

void Pool::on_async() noexcept
{
    JobList batch;
    {
        std::lock_guard<std::mutex> lock(done_mutex_);
        batch = completions_;
        completions_ = JobList{};
    }
    while (Job* job = batch.pop())
        complete_on_loop(job);
    update_ref();
}

void Pool::complete_on_loop(Job* job)
{
    --outstanding_;
    job->done(job);  // the job is done()'s from here: may free it or submit another
}

void Pool::stop_threads()
{
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_)
        if (t.joinable())
            t.join();
    workers_.clear();
}

void Pool::close()
{
    if (closing_)
        return;
    closing_ = true;  // submit() refuses from here, also from a done() below
    // The threads run what is still queued, then exit. This blocks the loop
    // for as long as the queued jobs take: the worker calls close() only when
    // it is going away.
    stop_threads();
    on_async();  // the completions the async callback has not seen yet
    if (async_ready_) {
        async_ready_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&async_), &PoolCallbacks::on_close);
    } else {
        closed_ = true;
    }
}

std::size_t Pool::depth() const
{
    return depth_.load(std::memory_order_relaxed);
}

unsigned Pool::busy() const
{
    return busy_.load(std::memory_order_relaxed);
}

void Pool::update_ref()
{
    if (!async_ready_)
        return;
    bool want = outstanding_ > 0;
    if (want == ref_)
        return;
    if (want)
        uv_ref(reinterpret_cast<uv_handle_t*>(&async_));
    else
        uv_unref(reinterpret_cast<uv_handle_t*>(&async_));
    ref_ = want;
}

}  // namespace forkd::offload
