// offload/pool.hpp: one worker's offload threads and their bounded queue.
//
// Jobs come in on the loop thread (submit), run on a pool thread (Job::run),
// and complete back on the loop thread (Job::done), woken by a uv_async_t.
// A job crosses threads as a plain struct: the pool never touches what the
// job points at. Own threads rather than libuv's threadpool: the size is
// per worker and configurable, the queue is bounded, and busy/depth are
// observable. The pool's threads are created in the worker, after fork.
//
// Errors: a call that can fail returns 0 or a negative libuv error code
// (uv_err_name() names it), as the loop's own calls do, and never throws.
// A fault (a thread or the async handle cannot be made) is logged here,
// once, where it happens; a refusal that is load, not a fault (the queue is
// full), is left to the caller, who answers it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

namespace forkd::offload {

struct Job {
    void (*run)(Job* job) = nullptr;   // on a pool thread; must not touch the loop
    void (*done)(Job* job) = nullptr;  // on the loop thread; owns the job from here (frees it)
    Job* next = nullptr;               // the pool's queue link
};

class Pool {
public:
    // `threads` may be 0: then submit() always refuses.
    Pool(uv_loop_t* loop, unsigned threads, std::size_t queue_max);
    ~Pool();  // requires close() to have completed
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Start the threads. 0, or a libuv error (logged).
    int start();

    // Queue a job. 0: queued, done() will run; UV_EAGAIN: the queue is full
    // (answer 503); UV_ENOTSUP: no threads, not started, or closing.
    int submit(Job* job);

    // Stop: queued-but-unstarted jobs still run; threads are joined after
    // the queue is empty; the async handle is closed. Call on the loop.
    void close();

    unsigned threads() const { return threads_; }
    std::size_t depth() const;               // jobs waiting, not yet running
    unsigned busy() const;                   // threads running a job now
    bool closed() const { return closed_; }  // close()'s uv_close has completed

private:
    // A FIFO of jobs linked through Job::next.
    struct JobList {
        Job* head = nullptr;
        Job* tail = nullptr;
        void push(Job* job);
        Job* pop();
    };

    void thread_main() noexcept;      // one pool thread
    void on_async() noexcept;         // the loop thread: run completions
    void complete_on_loop(Job* job);  // done() one job and account for it
    void stop_threads();              // ask the threads to finish, join them
    void update_ref();                // ref the async handle iff work is outstanding

    friend struct PoolCallbacks;  // the libuv trampolines (pool.cpp)

    uv_loop_t* loop_;
    unsigned threads_;
    std::size_t queue_max_;

    // Shared with the pool threads, under mutex_.
    std::mutex mutex_;
    std::condition_variable wake_;  // a job was queued, or stopping_
    JobList queue_;                 // submitted, not yet running
    bool stopping_ = false;

    // Finished jobs waiting for the loop, under done_mutex_ (a separate lock so
    // that a thread handing back a result does not contend with submit()).
    std::mutex done_mutex_;
    JobList completions_;

    // Readable from any thread without the lock (statistics).
    std::atomic<std::size_t> depth_{0};
    std::atomic<unsigned> busy_{0};

    // The loop thread only.
    std::vector<std::thread> workers_;
    uv_async_t async_;
    std::size_t outstanding_ = 0;  // submitted, done() not yet called
    bool async_ready_ = false;     // async_ initialised, not yet closing
    bool ref_ = true;              // async_ is ref'd (libuv's initial state)
    bool closing_ = false;         // close() was called
    bool closed_ = false;          // async_'s close callback ran (or never opened)
};

}  // namespace forkd::offload
