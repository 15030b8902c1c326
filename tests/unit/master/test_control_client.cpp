// Tests of master/control_client.cpp: ask_master() against a stand-in
// master on a real Unix socket (a thread): the answer's code is kept, and
// no socket, silence, a hang-up or a line no master writes each give their
// own exit code. run_control() without a way to find the master says so.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "config/cli.hpp"
#include "master/control_client.hpp"
#include "master/control_protocol.hpp"

using namespace forkd::master;

namespace {

// A one-connection server: reads the request line, then writes `reply`
// (or nothing and holds the connection while `hold` says so).
struct StandIn {
    std::string path = "/tmp/forkd-test-client-" + std::to_string(getpid()) + ".ctl";
    int listener = -1;
    std::string request;
    std::thread thread;

    explicit StandIn(std::string reply, bool hang_up_at_once = false)
    {
        ::unlink(path.c_str());
        listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path.copy(a.sun_path, path.size());
        REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener, 1) == 0);
        thread = std::thread([this, reply, hang_up_at_once] {
            const int fd = ::accept(listener, nullptr, nullptr);
            if (fd < 0)
                return;
            char c = 0;
            while (!hang_up_at_once && ::read(fd, &c, 1) == 1 && c != '\n')
                request += c;
            if (!reply.empty())
                (void)!::write(fd, reply.data(), reply.size());
            char rest[64];
            if (reply.empty() && !hang_up_at_once)
                (void)!::read(fd, rest, sizeof rest);  // silent until the client gives up
            ::close(fd);
        });
    }
    ~StandIn()
    {
        thread.join();
        ::close(listener);
        ::unlink(path.c_str());
    }
};

}  // namespace

TEST_CASE("the master's answer and its code come through, after the progress lines")
{
    int code = -1;
    {
        StandIn master("- reloading: generation 2\n1 reload refused: f.toml:3: key 'workers': expected...\n");
        code = ask_master(master.path, "reload", 10);
        master.thread.join();
        CHECK(master.request == "reload");
        master.thread = std::thread([] {});
    }
    CHECK(code == control_failed);
    {
        StandIn master("0 reloaded: generation 2, 1/1 workers ready in 0.10 s\n");
        CHECK(ask_master(master.path, "reload", 10) == control_ok);
    }
}

TEST_CASE("an answer split across reads is still one line")
{
    StandIn master("- a\n- b\n0");
    CHECK(ask_master(master.path, "status", 10) == control_failed);  // no newline: never finished
}

TEST_CASE("no socket: no master")
{
    CHECK(ask_master("/tmp/forkd-test-no-such.ctl", "status", 1) == control_no_master);
}

TEST_CASE("silence past the timeout is control_timeout")
{
    StandIn master("");
    CHECK(ask_master(master.path, "reload", 0.2) == control_timeout);
}

TEST_CASE("a hang-up without an answer, and a line no master writes, fail")
{
    {
        StandIn master("", true);
        CHECK(ask_master(master.path, "status", 10) == control_failed);
    }
    {
        StandIn master("OK fine\n");
        CHECK(ask_master(master.path, "status", 10) == control_failed);
    }
}

TEST_CASE("without a pidfile or with a stale one, run_control says there is no master")
{
    forkd::config::CommandLine cmd;
    cmd.control = {"status"};
    CHECK(run_control(cmd) == control_no_master);
    cmd.pidfile = "/tmp/forkd-test-no-such.pid";
    CHECK(run_control(cmd) == control_no_master);
}
