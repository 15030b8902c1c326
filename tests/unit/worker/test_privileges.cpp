// Unit tests for worker/privileges.cpp: resolving names; errors as text.
#include <doctest/doctest.h>

#include <unistd.h>

#include "worker/privileges.hpp"

using namespace forkd::worker;

TEST_CASE("resolve_identity: names and numeric ids; empty strings change nothing")
{
    const Identity none = resolve_identity("", "");
    CHECK(none.error.empty());
    CHECK_FALSE(none.change_user);
    CHECK_FALSE(none.change_group);
    CHECK(drop_privileges(none).empty());  // nothing to change, nothing fails

    const Identity root = resolve_identity("root", "");
    CHECK(root.error.empty());
    CHECK(root.change_user);
    CHECK(root.uid == 0);
    CHECK(root.user == "root");

    const Identity by_id = resolve_identity("0", "0");
    CHECK(by_id.error.empty());
    CHECK(by_id.user == "root");
    CHECK(by_id.gid == 0);
}

TEST_CASE("resolve_identity: a name that does not exist is an error text, and drop_privileges changes nothing")
{
    const Identity user = resolve_identity("forkd-no-such-user", "");
    CHECK(user.error == "user 'forkd-no-such-user' does not exist");
    const Identity group = resolve_identity("", "forkd-no-such-group");
    CHECK(group.error == "group 'forkd-no-such-group' does not exist");
    const uid_t before = getuid();
    CHECK(drop_privileges(user) == user.error);
    CHECK(getuid() == before);
}
