// master/control_socket.cpp: listen, accept, check the peer, read the
// request line, write replies (see the header).
#include "master/control_socket.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "master/control_protocol.hpp"

namespace forkd::master {

// States: reading (the request line, under the timer) -> waiting (the
// owner has it; replies may come) -> closing (uv_close of both handles).
struct ControlSocket::Connection {
    enum class State { reading, waiting, closing };

    ControlSocket* owner = nullptr;
    Client id = 0;
    State state = State::reading;
    uv_pipe_t pipe{};
    uv_timer_t timer{};
    std::string buffer;
    char read_space[max_request_bytes + 1]{};
    int closed_handles = 0;
};

namespace {

uv_handle_t* as_handle(auto* h)
{
    return reinterpret_cast<uv_handle_t*>(h);
}

}  // namespace

ControlSocket::~ControlSocket()
{
    // The loop is closed by now: the close callbacks have freed every
    // connection that was closed; free what was never opened fully.
    for (Connection* c : connections_)
        delete c;
}

int ControlSocket::open(uv_loop_t* loop, const std::string& path, OnRequest on_request, void* owner, std::string& error)
{
    loop_ = loop;
    on_request_ = on_request;
    owner_ = owner;
    // libuv cuts a longer path short without a word: refuse it instead.
    if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
        error = fmt::format("control socket path {} is {} bytes long (at most {})", path, path.size(),
                            sizeof(sockaddr_un{}.sun_path) - 1);
        return UV_ENAMETOOLONG;
    }
    // The socket is made here, not by uv_pipe_bind(): libuv would unlink
    // the name it bound at close, which after a binary upgrade's rename is
    // the new master's socket. The name is ours to remove (close()).
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        error = fmt::format("control socket: socket: {}", std::strerror(errno));
        return -errno;
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, path.size());
    // The caller holds the pidfile: a socket left at this path is stale.
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("removing the stale control socket {}: {}", path, std::strerror(errno));
    // Created 0600 from the start: the master is single-threaded here, so
    // the umask around bind() is no race.
    const mode_t saved = ::umask(0177);
    int rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 ? 0 : -errno;
    ::umask(saved);
    const bool bound = rc == 0;
    if (rc == 0 && ::listen(fd, 16) != 0)
        rc = -errno;
    const bool initialized = rc == 0 && (rc = uv_pipe_init(loop, &listener_, 0)) == 0;
    bool adopted = false;  // from here on, closing the handle closes the descriptor
    if (initialized) {
        listener_.data = this;
        rc = uv_pipe_open(&listener_, fd);
        adopted = rc == 0;
        if (rc == 0)
            rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, &ControlSocket::on_connection);
    }
    if (rc != 0) {
        error = fmt::format("control socket {}: {}", path, uv_strerror(rc));
        if (initialized)
            uv_close(as_handle(&listener_), nullptr);
        if (!adopted)
            ::close(fd);
        if (bound)
            ::unlink(path.c_str());
        return rc;
    }
    path_ = path;
    open_ = true;
    return 0;
}

int ControlSocket::rename(const std::string& path)
{
    if (!open_)
        return 0;
    if (::rename(path_.c_str(), path.c_str()) != 0)
        return -errno;
    path_ = path;
    return 0;
}

void ControlSocket::on_connection(uv_stream_t* server, int status) noexcept
{
    auto* self = static_cast<ControlSocket*>(server->data);
    if (status != 0) {
        spdlog::warn("control socket: {}", uv_err_name(status));
        return;
    }
    self->accept();
}

void ControlSocket::accept()
{
    auto owned = std::make_unique<Connection>();
    Connection& c = *owned;
    c.owner = this;
    c.id = next_id_++;
    int rc = uv_pipe_init(loop_, &c.pipe, 0);
    if (rc != 0) {
        spdlog::error("control socket: uv_pipe_init: {}", uv_err_name(rc));
        return;
    }
    rc = uv_timer_init(loop_, &c.timer);
    if (rc != 0) {
        spdlog::error("control socket: uv_timer_init: {}", uv_err_name(rc));
        uv_close(as_handle(&c.pipe), [](uv_handle_t* h) { delete static_cast<Connection*>(h->data); });
        c.pipe.data = owned.release();
        return;
    }
    c.pipe.data = &c;
    c.timer.data = &c;
    connections_.push_back(owned.release());
    rc = uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(&c.pipe));
    if (rc != 0) {
        spdlog::warn("control socket: accept: {}", uv_err_name(rc));
        drop(c);
        return;
    }
    uv_os_fd_t fd = -1;
    uv_fileno(as_handle(&c.pipe), &fd);
    ucred peer{};
    socklen_t len = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
        spdlog::warn("control socket: SO_PEERCRED: {}", std::strerror(errno));
        drop(c);
        return;
    }
    if (peer.uid != 0 && peer.uid != ::geteuid()) {
        spdlog::warn("control socket: refused pid {} (uid {}): only root and uid {} may drive the master", peer.pid,
                     peer.uid, ::geteuid());
        answer(c.id, control_no_master, fmt::format("not allowed: uid {} is neither root nor the master's", peer.uid));
        return;
    }
    if (connections_.size() > max_control_clients) {
        answer(c.id, control_failed, "busy: too many control clients; try again");
        return;
    }
    uv_timer_start(&c.timer, &ControlSocket::on_request_timeout, control_request_timeout_ms, 0);
    rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c.pipe),
        [](uv_handle_t* h, size_t, uv_buf_t* buf) noexcept {
            auto* conn = static_cast<Connection*>(h->data);
            *buf = uv_buf_init(conn->read_space, sizeof conn->read_space);
        },
        &ControlSocket::on_read);
    if (rc != 0) {
        spdlog::warn("control socket: uv_read_start: {}", uv_err_name(rc));
        drop(c);
    }
}

void ControlSocket::on_request_timeout(uv_timer_t* timer) noexcept
{
    auto* c = static_cast<Connection*>(timer->data);
    c->owner->answer(c->id, control_usage_error, "no request line within 5 s");
}

void ControlSocket::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept
{
    auto* c = static_cast<Connection*>(stream->data);
    if (nread < 0) {
        c->owner->drop(*c);  // EOF or an error: the client has gone; its replies are dropped
        return;
    }
    c->owner->take(*c, std::string_view(buf->base, std::size_t(nread)));
}

void ControlSocket::take(Connection& c, std::string_view bytes)
{
    if (c.state != Connection::State::reading) {
        if (!bytes.empty())
            answer(c.id, control_usage_error, "one request per connection");
        return;
    }
    c.buffer.append(bytes);
    const std::size_t end = c.buffer.find('\n');
    if (end == std::string::npos) {
        if (c.buffer.size() > max_request_bytes)
            answer(c.id, control_usage_error, fmt::format("request longer than {} bytes", max_request_bytes));
        return;
    }
    if (end + 1 != c.buffer.size()) {
        answer(c.id, control_usage_error, "one request per connection");
        return;
    }
    std::string line = c.buffer.substr(0, end);
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    c.buffer.clear();
    c.state = Connection::State::waiting;
    uv_timer_stop(&c.timer);
    on_request_(owner_, c.id, split_request(line));
}

bool ControlSocket::write(Connection& c, const std::string& line)
{
    const uv_buf_t buf = uv_buf_init(const_cast<char*>(line.data()), unsigned(line.size()));
    const int rc = uv_try_write(reinterpret_cast<uv_stream_t*>(&c.pipe), &buf, 1);
    return rc == int(line.size());
}

void ControlSocket::progress(Client client, std::string_view text)
{
    Connection* c = find(client);
    if (c != nullptr && !write(*c, progress_line(text)))
        drop(*c);  // it does not read what it asked for
}

void ControlSocket::answer(Client client, int code, std::string_view text)
{
    Connection* c = find(client);
    if (c == nullptr)
        return;
    write(*c, final_line(code, text));
    drop(*c);
}

bool ControlSocket::connected(Client client) const
{
    return find(client) != nullptr;
}

ControlSocket::Connection* ControlSocket::find(Client client) const
{
    for (Connection* c : connections_) {
        if (c->id == client && c->state != Connection::State::closing)
            return c;
    }
    return nullptr;
}

void ControlSocket::drop(Connection& c)
{
    if (c.state == Connection::State::closing)
        return;
    c.state = Connection::State::closing;
    std::erase(connections_, &c);
    const auto closed = [](uv_handle_t* h) noexcept {
        auto* conn = static_cast<Connection*>(h->data);
        if (++conn->closed_handles == 2)
            delete conn;
    };
    uv_close(as_handle(&c.pipe), closed);
    uv_close(as_handle(&c.timer), closed);
}

void ControlSocket::close(int code, std::string_view text)
{
    if (!open_)
        return;
    while (!connections_.empty()) {
        Connection& c = *connections_.front();
        if (c.state == Connection::State::waiting)
            write(c, final_line(code, text));
        drop(c);
    }
    uv_close(as_handle(&listener_), nullptr);
    open_ = false;
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT)
        spdlog::warn("removing the control socket {}: {}", path_, std::strerror(errno));
}

void ControlSocket::forget()
{
    if (!open_)
        return;
    uv_os_fd_t fd = -1;
    if (uv_fileno(as_handle(&listener_), &fd) == 0)
        ::close(fd);
    for (Connection* c : connections_) {
        if (uv_fileno(as_handle(&c->pipe), &fd) == 0)
            ::close(fd);
    }
}

}  // namespace forkd::master
