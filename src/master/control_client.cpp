// master/control_client.cpp: find the master, ask, relay the answer.
//
// Blocking sockets with poll() under one deadline: a client process does
// one thing and has no loop to share. Every failure to reach the master is
// control_no_master with the reason; the master's own answer keeps its code.
#include "master/control_client.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "config/load.hpp"
#include "config/locate.hpp"
#include "master/control_protocol.hpp"
#include "master/pidfile.hpp"

namespace forkd::master {
namespace {

using Clock = std::chrono::steady_clock;

int fail(int code, const std::string& text)
{
    std::fprintf(stderr, "forkd: %s\n", text.c_str());
    return code;
}

// One reply line: progress to stdout; the answer to stdout or stderr.
// Returns the exit code for a final line, -1 to read on.
int relay(std::string_view line)
{
    const std::optional<ReplyLine> reply = parse_reply(line);
    if (!reply)
        return fail(control_failed, fmt::format("unexpected reply from the master: \"{}\"", line));
    if (!reply->final) {
        std::printf("%s\n", reply->text.c_str());
        std::fflush(stdout);
        return -1;
    }
    if (reply->code == control_ok) {
        if (!reply->text.empty())
            std::printf("%s\n", reply->text.c_str());
        return control_ok;
    }
    return fail(reply->code, reply->text);
}

}  // namespace

int ask_master(const std::string& path, const std::string& request, double timeout_s)
{
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof address.sun_path)
        return fail(control_no_master, fmt::format("control socket path {} is too long", path));
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(control_no_master, fmt::format("socket: {}", std::strerror(errno)));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        const int error = errno;
        return fail(control_no_master,
                    error == ENOENT
                        ? fmt::format("no control socket {} (is the master running, with this pidfile?)", path)
                        : fmt::format("cannot reach the master at {}: {}", path, std::strerror(error)));
    }
    const std::string line = request + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) {
        // A master that refuses a client answers and closes at once, maybe
        // before the request is sent: its answer is still there to read.
        const int error = errno;
        char answer[512];
        const ssize_t got = ::recv(fd, answer, sizeof answer - 1, MSG_DONTWAIT);
        const std::string_view text(answer, got > 0 ? std::size_t(got) : 0);
        if (const std::size_t end = text.find('\n'); end != std::string_view::npos) {
            if (const std::optional<ReplyLine> reply = parse_reply(text.substr(0, end)); reply && reply->final)
                return relay(text.substr(0, end));
        }
        // Connected, so a master was there: it hung up before the request.
        return fail(control_failed, fmt::format("the master closed the connection before the request was sent ({}: "
                                                "{}; see its log)",
                                                path, std::strerror(error)));
    }

    const Clock::time_point deadline =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
    std::string buffer;
    for (;;) {
        for (std::size_t end = buffer.find('\n'); end != std::string::npos; end = buffer.find('\n')) {
            const int code = relay(std::string_view(buffer).substr(0, end));
            if (code >= 0)
                return code;
            buffer.erase(0, end + 1);
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p{fd, POLLIN, 0};
        const int ready = left > 0 ? ::poll(&p, 1, int(std::min<long long>(left, 1000))) : 0;
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return fail(control_failed, fmt::format("poll: {}", std::strerror(errno)));
        if (ready == 0) {
            if (left > 1000)
                continue;
            return fail(control_timeout, fmt::format("no outcome of \"{}\" within {} s; the master may still complete "
                                                     "it (see its log)",
                                                     request, timeout_s));
        }
        char chunk[4096];
        const ssize_t got = ::recv(fd, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return fail(control_failed, "the master closed the connection without an answer (see its log)");
        buffer.append(chunk, std::size_t(got));
    }
}

int run_control(const config::CommandLine& cmd)
{
    std::string pidfile;
    try {
        pidfile = config::locate_pidfile(cmd);
    } catch (const config::ConfigError& e) {
        return fail(control_no_master, e.what());
    }
    if (pidfile.empty())
        return fail(control_no_master, "no pidfile to find the master by: set `pidfile` in the config (-c FILE) or "
                                       "pass --pid FILE");
    const pid_t pid = read_pidfile(pidfile);
    if (pid <= 0)
        return fail(control_no_master, fmt::format("no master: {} does not exist or holds no pid", pidfile));
    if (::kill(pid, 0) != 0 && errno == ESRCH)
        return fail(control_no_master, fmt::format("no master: pid {} (from {}) is not running", pid, pidfile));
    return ask_master(control_path(pidfile), join_request(cmd.control), cmd.control_timeout_s);
}

}  // namespace forkd::master
