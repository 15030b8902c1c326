// worker/privileges.hpp: switch a worker to the configured user and group.
//
// The master keeps its privileges (it binds, and re-binds on a reload, as
// nginx's master does); each worker drops them right after fork, before it
// serves anything, so request handling never runs as root. The master
// resolves the names too, at start-up and on every reload, so that a user
// who does not exist is a configuration error and not a crash loop.
//
// Errors are returned as text, never thrown, by both functions: the master
// calls resolve_identity() from its loop (on SIGHUP), where nothing may
// throw, and the worker decides itself what a failure means (it exits
// before it is ready). Owns no state and touches nothing but the process's
// credentials.
#pragma once

#include <string>
#include <sys/types.h>

namespace forkd::worker {

struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user;  // for initgroups(); empty: keep the supplementary groups
    bool change_user = false;
    bool change_group = false;
    std::string error;  // why the names could not be resolved; empty: resolved
};

// Resolve names (or numeric ids) to an Identity. Empty strings: no change.
// A user or group that does not exist is named in `error`.
Identity resolve_identity(const std::string& user, const std::string& group);

// setgroups/setgid/setuid as resolved. Returns an error text, empty on
// success; an identity that was not resolved returns its `error` and
// changes nothing.
std::string drop_privileges(const Identity& identity);

}  // namespace forkd::worker
