// master/process.hpp: fork with the discipline of uv_spawn.
//
// Signals are blocked around fork() so no handler runs in the child with the
// parent's state; the child resets every disposition and its mask before it
// runs anything else (STYLE.md habit 4). Knows nothing about slots.
#pragma once

#include <sys/types.h>

namespace forkd::master {

// Fork. In the child, `prepare(prepare_arg)` runs first with all signals
// still blocked (to drop the parent's libuv signal handles), then
// dispositions are reset to the default and the mask is cleared, then
// `child(child_arg)` runs and its result is the child's exit status (via
// _exit). Returns the child's pid in the parent, or -errno.
pid_t fork_child(void (*prepare)(void*), void* prepare_arg, int (*child)(void*), void* child_arg);

}  // namespace forkd::master
