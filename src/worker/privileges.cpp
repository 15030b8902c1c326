// worker/privileges.cpp: getpwnam/getgrnam, initgroups, setgid, setuid
// (privileges.hpp). Errors come back as text, never as exceptions.
#include "worker/privileges.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace forkd::worker {
namespace {

bool all_digits(const std::string& s)
{
    return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Identity resolve_identity(const std::string& user, const std::string& group)
{
    Identity id;
    if (!user.empty()) {
        const struct passwd* pw =
            all_digits(user) ? getpwuid(uid_t(std::strtoul(user.c_str(), nullptr, 10))) : getpwnam(user.c_str());
        if (pw == nullptr) {
            id.error = "user '" + user + "' does not exist";
            return id;
        }
        id.uid = pw->pw_uid;
        id.gid = pw->pw_gid;  // the user's primary group unless `group` says otherwise
        id.user = pw->pw_name;
        id.change_user = id.change_group = true;
    }
    if (!group.empty()) {
        const struct group* gr =
            all_digits(group) ? getgrgid(gid_t(std::strtoul(group.c_str(), nullptr, 10))) : getgrnam(group.c_str());
        if (gr == nullptr) {
            id.error = "group '" + group + "' does not exist";
            return id;
        }
        id.gid = gr->gr_gid;
        id.change_group = true;
    }
    return id;
}

std::string drop_privileges(const Identity& id)
{
    if (!id.error.empty())
        return id.error;
    // Order matters: groups first, while we still may change them.
    if (id.change_group) {
        const int rc = id.user.empty() ? setgroups(0, nullptr) : initgroups(id.user.c_str(), id.gid);
        if (rc != 0 && getuid() == 0)
            return std::string("setgroups: ") + std::strerror(errno);
        if (setgid(id.gid) != 0)
            return "setgid(" + std::to_string(id.gid) + "): " + std::strerror(errno);
    }
    if (id.change_user && setuid(id.uid) != 0)
        return "setuid(" + std::to_string(id.uid) + "): " + std::strerror(errno);
    return {};
}

}  // namespace forkd::worker
