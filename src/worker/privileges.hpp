// worker/privileges.hpp: switch a worker to the configured user and group.
//
// The master keeps its privileges (it binds, and re-binds on a reload, as
// nginx's master does); each worker drops them right after fork, before it
// serves anything, so request handling never runs as root.
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
};

// Resolve names (or numeric ids) to an Identity. Throws std::runtime_error
// naming what does not exist. Empty strings: no change.
Identity resolve_identity(const std::string& user, const std::string& group);

// setgroups/setgid/setuid as resolved. Returns an error text, empty on success.
std::string drop_privileges(const Identity& identity);

}  // namespace forkd::worker
