// top/http_get.cpp: URL parsing and one blocking GET (http_get.hpp).
//
// The socket is non-blocking and every wait is a poll() against one
// deadline, so a server that accepts and never answers cannot hang `top`.
#include "top/http_get.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace forkd::top {
namespace {

constexpr std::size_t max_response_bytes = 64 * 1024 * 1024;

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left > 0 ? int(left) : 0;
}

// Wait for `events` on fd until the deadline. false: timed out or failed.
bool wait_for(int fd, short events, Clock::time_point deadline, std::string& error)
{
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = poll(&p, 1, remaining_ms(deadline));
        if (n > 0)
            return true;
        if (n == 0) {
            error = "timed out";
            return false;
        }
        if (errno != EINTR) {
            error = std::strerror(errno);
            return false;
        }
        if (remaining_ms(deadline) == 0) {
            error = "timed out";
            return false;
        }
    }
}

class Socket {
public:
    explicit Socket(int fd) : fd_(fd) { }
    ~Socket()
    {
        if (fd_ >= 0)
            ::close(fd_);
    }
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    int fd() const { return fd_; }

private:
    int fd_;
};

// Connect to one resolved address, non-blocking, within the deadline.
int connect_to(const addrinfo* ai, Clock::time_point deadline, std::string& error)
{
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            error = std::strerror(errno);
            ::close(fd);
            return -1;
        }
        int so_error = 0;
        socklen_t len = sizeof so_error;
        if (!wait_for(fd, POLLOUT, deadline, error) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 ||
            so_error != 0) {
            if (so_error != 0)
                error = std::strerror(so_error);
            ::close(fd);
            return -1;
        }
    }
    return fd;
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Decode a chunked body. false if it is malformed or incomplete.
bool dechunk(std::string_view in, std::string& out)
{
    out.clear();
    for (;;) {
        const std::size_t eol = in.find("\r\n");
        if (eol == std::string_view::npos)
            return false;
        std::string_view size_text = in.substr(0, eol);
        size_text = size_text.substr(0, size_text.find(';'));
        std::size_t size = 0;
        auto [p, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size, 16);
        if (ec != std::errc() || size_text.empty())
            return false;
        in.remove_prefix(eol + 2);
        if (size == 0)
            return true;
        if (in.size() < size + 2)
            return false;
        out.append(in.substr(0, size));
        in.remove_prefix(size + 2);
    }
}

}  // namespace

bool parse_url(std::string_view text, Url& out, std::string& error)
{
    out = Url{};
    if (text.substr(0, 8) == "https://") {
        error = "https is not supported; use http://";
        return false;
    }
    if (text.substr(0, 7) == "http://")
        text.remove_prefix(7);
    const std::size_t slash = text.find('/');
    std::string_view authority = text.substr(0, slash);
    out.path = slash == std::string_view::npos ? "/stats" : std::string(text.substr(slash));
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            error = "unclosed '[' in the address";
            return false;
        }
        out.host = std::string(authority.substr(1, close - 1));
        std::string_view rest = authority.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                error = "expected ':' after ']'";
                return false;
            }
            port_text = rest.substr(1);
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = authority.substr(colon + 1);
    }
    if (out.host.empty()) {
        error = "no host in the URL";
        return false;
    }
    if (!port_text.empty()) {
        unsigned port = 0;
        auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535) {
            error = "bad port \"" + std::string(port_text) + "\"";
            return false;
        }
        out.port = uint16_t(port);
    }
    return true;
}

HttpResult parse_response(std::string_view raw)
{
    HttpResult r;
    const std::size_t head_end = raw.find("\r\n\r\n");
    if (head_end == std::string_view::npos || raw.substr(0, 5) != "HTTP/") {
        r.error = "not an HTTP response";
        return r;
    }
    std::string_view head = raw.substr(0, head_end);
    std::string_view body = raw.substr(head_end + 4);
    const std::size_t sp = head.find(' ');
    if (sp == std::string_view::npos || head.size() < sp + 4) {
        r.error = "bad status line";
        return r;
    }
    auto [p, ec] = std::from_chars(head.data() + sp + 1, head.data() + sp + 4, r.status);
    if (ec != std::errc()) {
        r.error = "bad status line";
        return r;
    }
    bool chunked = false;
    std::size_t length = std::string_view::npos;
    std::size_t pos = head.find("\r\n");
    while (pos != std::string_view::npos) {
        const std::size_t next = head.find("\r\n", pos + 2);
        std::string_view line = head.substr(pos + 2, next == std::string_view::npos ? head.npos : next - pos - 2);
        const std::size_t colon = line.find(':');
        if (colon != std::string_view::npos) {
            std::string_view name = trim(line.substr(0, colon));
            std::string_view value = trim(line.substr(colon + 1));
            if (iequals(name, "content-length"))
                std::from_chars(value.data(), value.data() + value.size(), length);
            else if (iequals(name, "transfer-encoding") && iequals(value, "chunked"))
                chunked = true;
        }
        pos = next;
    }
    if (chunked) {
        if (!dechunk(body, r.body)) {
            r.error = "incomplete chunked body";
            return r;
        }
    } else if (length != std::string_view::npos) {
        if (body.size() < length) {
            r.error = "incomplete body";
            return r;
        }
        r.body = std::string(body.substr(0, length));
    } else {
        r.body = std::string(body);
    }
    r.ok = true;
    return r;
}

HttpResult http_get(const Url& url, int timeout_ms)
{
    HttpResult r;
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(url.port);
    if (int rc = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &found); rc != 0) {
        r.error = std::string("cannot resolve ") + url.host + ": " + gai_strerror(rc);
        return r;
    }
    int fd = -1;
    for (const addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next)
        fd = connect_to(ai, deadline, r.error);
    freeaddrinfo(found);
    if (fd < 0)
        return r;
    Socket sock(fd);

    const bool v6 = url.host.find(':') != std::string::npos;
    const std::string request = "GET " + url.path + " HTTP/1.1\r\nHost: " + (v6 ? "[" + url.host + "]" : url.host) +
                                ":" + port +
                                "\r\nUser-Agent: forkd-top\r\nAccept: application/json\r\n"
                                "Connection: close\r\n\r\n";
    std::size_t sent = 0;
    while (sent < request.size()) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += std::size_t(n);
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (!wait_for(fd, POLLOUT, deadline, r.error))
                return r;
        } else {
            r.error = std::strerror(errno);
            return r;
        }
    }

    std::string raw;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            raw.append(buf, std::size_t(n));
            if (raw.size() > max_response_bytes) {
                r.error = "response too large";
                return r;
            }
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait_for(fd, POLLIN, deadline, r.error))
                return r;
        } else {
            r.error = std::strerror(errno);
            return r;
        }
    }
    return parse_response(raw);
}

}  // namespace forkd::top
