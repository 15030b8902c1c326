// Tests of master/control_socket.cpp on a real loop and a real Unix
// socket: the socket is 0600, a request reaches the owner as words and its
// replies reach the client; a request too long, two requests, or none in
// time are refused; close() answers whoever still waits.
#include <doctest/doctest.h>

#include <future>
#include <string>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "master/control_client.hpp"
#include "master/control_protocol.hpp"
#include "master/control_socket.hpp"

using namespace forkd::master;

namespace {

struct Harness {
    uv_loop_t loop{};
    ControlSocket control;
    std::string path = "/tmp/forkd-test-socket-" + std::to_string(getpid()) + ".ctl";
    std::vector<std::string> words;
    ControlSocket::Client last = 0;
    bool answer_now = true;

    Harness()
    {
        REQUIRE(uv_loop_init(&loop) == 0);
        std::string error;
        REQUIRE(control.open(&loop, path, &Harness::on_request, this, error) == 0);
    }
    ~Harness()
    {
        control.close(1, "closing");
        uv_run(&loop, UV_RUN_DEFAULT);
        CHECK(uv_loop_close(&loop) == 0);  // every handle closed
    }
    static void on_request(void* owner, ControlSocket::Client client, const std::vector<std::string>& words)
    {
        auto* self = static_cast<Harness*>(owner);
        self->words = words;
        self->last = client;
        if (!self->answer_now)
            return;
        self->control.progress(client, "working");
        self->control.answer(client, 0, "done: " + join_request(words));
    }
    // Run the loop until `f` is ready.
    template <class T> T run_until(std::future<T>& f)
    {
        while (f.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
            uv_run(&loop, UV_RUN_NOWAIT);
        return f.get();
    }
};

// Connect, send `bytes`, read until the master closes: what it wrote.
std::string raw_exchange(const std::string& path, const std::string& bytes)
{
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    path.copy(a.sun_path, path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return "connect failed";
    }
    if (!bytes.empty())
        (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    std::string got;
    char chunk[512];
    ssize_t n = 0;
    while ((n = ::read(fd, chunk, sizeof chunk)) > 0)
        got.append(chunk, std::size_t(n));
    ::close(fd);
    return got;
}

}  // namespace

TEST_CASE("the socket is 0600, and a request and its answer go through")
{
    Harness h;
    struct stat st { };
    REQUIRE(::stat(h.path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);

    auto reply = std::async(std::launch::async, [&] { return raw_exchange(h.path, "workers  +1\n"); });
    CHECK(h.run_until(reply) == "- working\n0 done: workers +1\n");
    CHECK(h.words == std::vector<std::string>{"workers", "+1"});
    CHECK_FALSE(h.control.connected(h.last));
}

TEST_CASE("the client of the master's protocol reads the same answer")
{
    Harness h;
    auto code = std::async(std::launch::async, [&] { return ask_master(h.path, "status", 10); });
    CHECK(h.run_until(code) == control_ok);
}

TEST_CASE("too long, two at once: refused with a usage answer")
{
    Harness h;
    auto too_long =
        std::async(std::launch::async, [&] { return raw_exchange(h.path, std::string(max_request_bytes + 10, 'x')); });
    CHECK(h.run_until(too_long).rfind("2 request longer than", 0) == 0);
    auto two = std::async(std::launch::async, [&] { return raw_exchange(h.path, "status\nstatus\n"); });
    CHECK(h.run_until(two) == "2 one request per connection\n");
    CHECK(h.words.empty());  // neither reached the owner
}

TEST_CASE("a client that hangs up before its answer is forgotten; close() answers those that wait")
{
    Harness h;
    h.answer_now = false;
    auto waiting = std::async(std::launch::async, [&] { return raw_exchange(h.path, "reload\n"); });
    while (h.words.empty())
        uv_run(&h.loop, UV_RUN_NOWAIT);
    CHECK(h.control.connected(h.last));
    h.control.close(1, "the master stopped before the outcome");
    CHECK(h.run_until(waiting) == "1 the master stopped before the outcome\n");
    CHECK(::access(h.path.c_str(), F_OK) != 0);  // its path is removed
}

TEST_CASE("a path longer than a Unix socket takes is refused, not cut short")
{
    uv_loop_t loop{};
    REQUIRE(uv_loop_init(&loop) == 0);
    ControlSocket control;
    std::string error;
    CHECK(control.open(&loop, "/tmp/" + std::string(200, 'p'), nullptr, nullptr, error) == UV_ENAMETOOLONG);
    CHECK(error.find("bytes long") != std::string::npos);
    CHECK_FALSE(control.is_open());
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
}
