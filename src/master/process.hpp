// master/process.hpp: fork with the discipline of uv_spawn.
//
// Signals are blocked around fork() so no handler runs in the child with the
// parent's state; the child resets every disposition and its mask before it
// runs anything else, as uv_spawn does. Knows nothing about slots.
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

// Fork. In the child, `prepare(prepare_arg)` runs first with all signals
// still blocked (to drop the parent's libuv signal handles), then
// dispositions are reset to the default (SIGPIPE: ignored) and the mask is
// cleared, then
// `child(child_arg)` runs and its result is the child's exit status (via
// _exit). Returns the child's pid in the parent, or -errno.
// Ignore SIGPIPE in this process (see above). The master calls it first.
void ignore_sigpipe();

pid_t fork_child(void (*prepare)(void*), void* prepare_arg, int (*child)(void*), void* child_arg);

}  // namespace forkd::master
