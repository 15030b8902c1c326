// app/jobs.hpp: an endpoint's work as a job on the offload pool.
//
// Owns WorkJob (an offload::Job with the inputs and the result, freed by its
// done()) and what its completion does on the loop: answer, or start the
// timer that answers (a row that waits on a timer after its work, such as
// /fibo_sleep par). The work itself is the table row's handler; which rows
// go to the pool is the table's Place column, nowhere else.
// Must not touch the connection except to answer through the Responder.
#pragma once

#include <cstddef>
#include <cstdint>

#include "app/timers.hpp"
#include "http/connection.hpp"
#include "offload/pool.hpp"

namespace forkd::app {

// Run row `endpoint` of the table for `conn` on the pool. true: answer `now`
// at once (no threads, the queue is full, out of memory); false: the job
// answers through `responder`, or through `timers` after the row's wait.
bool submit_job(offload::Pool& pool, Responder& responder, Timers& timers, http::Connection& conn, std::size_t endpoint,
                uint64_t param, http::Response& now);

}  // namespace forkd::app
