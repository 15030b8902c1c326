// master/process.hpp: fork with the discipline of uv_spawn.
//
// Signals are blocked around fork() so no handler runs in the child with the
// parent's state; the child resets every disposition and its mask before it
// runs anything else, as uv_spawn does. Knows nothing about slots or
// workers, and touches no handle of the master's loop itself (the caller's
// `prepare` does what the child must undo).
//
// One disposition is never the default in a forkd process: SIGPIPE. libuv
// writes to clients with write()/writev(), and a write to a connection the
// peer has reset raises SIGPIPE, whose default action kills the process: any
// client could kill a worker by closing before its answers arrive. Ignored,
// the write fails with EPIPE, which the connection handles. An ignored
// signal stays ignored across exec, so a binary upgrade keeps it too.
#pragma once

#include <sys/types.h>

namespace forkd::master {

// Ignore SIGPIPE in this process (see above). The master calls it first.
void ignore_sigpipe();

// Fork. In the child, `prepare(prepare_arg)` runs first with all signals
// still blocked (to drop the parent's libuv signal handles), then
// dispositions are reset to the default (SIGPIPE: ignored) and the mask is
// cleared, then `child(child_arg)` runs and its result is the child's exit
// status (via _exit). Returns the child's pid in the parent, or a negative
// error code.
//
// Error codes in master/: a call that can fail once the loop runs returns
// 0 (or a pid, a count) or a negative errno, which on Linux is exactly
// libuv's UV_E* code, so that uv_err_name() and uv_strerror() name it. The
// caller logs it once, with what it was doing. Exceptions are for start-up
// (binding, the pidfile, the configuration) and for a reload's validation.
pid_t fork_child(void (*prepare)(void*), void* prepare_arg, int (*child)(void*), void* child_arg);

}  // namespace forkd::master
