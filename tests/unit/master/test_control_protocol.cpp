// Tests of master/control_protocol.cpp: request words, reply lines, and
// replies a master would never write.
#include <doctest/doctest.h>

#include "master/control_protocol.hpp"

using namespace forkd::master;

TEST_CASE("the control socket sits beside the pidfile")
{
    CHECK(control_path("/run/forkd/forkd.pid") == "/run/forkd/forkd.pid.ctl");
}

TEST_CASE("a request is its words; runs of spaces do not make empty words")
{
    CHECK(split_request("workers +1") == std::vector<std::string>{"workers", "+1"});
    CHECK(split_request("  stop   --quick ") == std::vector<std::string>{"stop", "--quick"});
    CHECK(split_request("").empty());
    CHECK(join_request({"workers", "-1"}) == "workers -1");
}

TEST_CASE("reply lines: progress, final with its exit code, one line each")
{
    CHECK(progress_line("reloading") == "- reloading\n");
    CHECK(final_line(0, "reloaded: generation 2") == "0 reloaded: generation 2\n");
    CHECK(final_line(0, "") == "0\n");
    CHECK(final_line(1, "bad\nconfig") == "1 bad config\n");

    const auto progress = parse_reply("- started pid 12");
    REQUIRE(progress);
    CHECK_FALSE(progress->final);
    CHECK(progress->text == "started pid 12");

    const auto refused = parse_reply("1 reload refused: f.toml:3: key 'workers': ...");
    REQUIRE(refused);
    CHECK(refused->final);
    CHECK(refused->code == 1);
    CHECK(refused->text == "reload refused: f.toml:3: key 'workers': ...");

    const auto bare = parse_reply("0");
    REQUIRE(bare);
    CHECK(bare->final);
    CHECK(bare->code == 0);
    CHECK(bare->text.empty());
}

TEST_CASE("lines a master never writes are not taken for an answer")
{
    CHECK_FALSE(parse_reply(""));
    CHECK_FALSE(parse_reply("ok"));
    CHECK_FALSE(parse_reply("0x1 hex"));
    CHECK_FALSE(parse_reply("-1 negative"));
    CHECK_FALSE(parse_reply("300 too big"));
    CHECK_FALSE(parse_reply("-no space"));
}
