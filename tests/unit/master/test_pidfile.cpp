// Unit tests for master/pidfile.cpp: create, rename, remove; errors as codes.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <unistd.h>

#include "master/pidfile.hpp"

using namespace forkd::master;

namespace {

std::string temp_dir()
{
    char tmpl[] = "/tmp/forkd-pidfile-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    return tmpl;
}

}  // namespace

TEST_CASE("pidfile: written, renamed and removed while it names us")
{
    const std::string dir = temp_dir();
    const std::string path = dir + "/forkd.pid";
    {
        Pidfile p;
        p.create(path, getpid());
        CHECK(read_pidfile(path) == getpid());
        CHECK(p.rename(path + ".oldbin") == 0);
        CHECK(read_pidfile(path) == 0);
        CHECK(read_pidfile(path + ".oldbin") == getpid());
        CHECK(p.rename(dir + "/no/such/dir/forkd.pid") < 0);  // stays where it was
        CHECK(read_pidfile(path + ".oldbin") == getpid());
        CHECK(p.rename(path) == 0);
        CHECK(p.remove() == 0);
        CHECK(read_pidfile(path) == 0);
    }
    rmdir(dir.c_str());
}

TEST_CASE("pidfile: a live forkd's file is refused; a stale one is replaced")
{
    const std::string dir = temp_dir();
    const std::string path = dir + "/forkd.pid";
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fprintf(f, "%d\n", 999999999);  // no such process
    std::fclose(f);
    Pidfile p;
    CHECK_NOTHROW(p.create(path, getpid()));
    CHECK(read_pidfile(path) == getpid());
    CHECK(p.remove() == 0);
    Pidfile empty;
    CHECK_NOTHROW(empty.create("", getpid()));
    CHECK(empty.remove() == 0);
    rmdir(dir.c_str());
}
