// offload/pool.hpp: one worker's offload threads and their bounded queue.
//
// Jobs come in on the loop thread (submit), run on a pool thread (Job::run),
// and complete back on the loop thread (Job::done), woken by a uv_async_t.
// A job crosses threads as a plain struct: the pool never touches what the
// job points at. Own threads rather than libuv's threadpool: the size is
// per worker and configurable, the queue is bounded, and busy/depth are
// observable. The pool's threads are created in the worker, after fork.
#pragma once

#include <cstddef>
#include <cstdint>

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

    // Start the threads. Returns 0 or a libuv error.
    int start();

    // Queue a job. false: no threads, or the queue is full (answer 503).
    bool submit(Job* job);

    // Stop: queued-but-unstarted jobs still run; threads are joined after
    // the queue is empty; the async handle is closed. Call on the loop.
    void close();

    unsigned threads() const { return threads_; }
    std::size_t depth() const;   // jobs waiting, not yet running
    unsigned busy() const;       // threads running a job now

private:
    // (private state is offload/'s to define)
    uv_loop_t* loop_;
    unsigned threads_;
    std::size_t queue_max_;
};

}  // namespace forkd::offload
