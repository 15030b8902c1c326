// master/control_socket.hpp: the master's end of the control socket.
//
// Owns one listening Unix socket (mode 0600, next to the pidfile: whoever
// cannot write that directory cannot drive the master) and the clients
// connected to it: reads each one's request line (bounded in size and
// time), checks who sent it (SO_PEERCRED: root or the master's own user),
// hands the words to the owner, and writes the replies. It knows nothing
// of what a request means: the Master's command table does (control.cpp).
//
// Clients are named by an id, never a pointer: a reply for a client that
// has hung up meanwhile is dropped. Replies are a few short lines, written
// with uv_try_write; a client that does not take them is closed rather
// than waited for. Each client owns a uv_pipe_t and a uv_timer_t and is
// freed in the close callback of the second.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

namespace forkd::master {

class ControlSocket {
public:
    using Client = uint64_t;
    using OnRequest = void (*)(void* owner, Client client, const std::vector<std::string>& words);

    ControlSocket() = default;
    ~ControlSocket();
    ControlSocket(const ControlSocket&) = delete;
    ControlSocket& operator=(const ControlSocket&) = delete;

    // Bind `path` (replacing a stale socket there) and listen. Returns 0 or
    // a libuv error code; `error` then says what failed.
    int open(uv_loop_t* loop, const std::string& path, OnRequest on_request, void* owner, std::string& error);
    bool is_open() const { return open_; }
    const std::string& path() const { return path_; }
    // Move the socket's name (a binary upgrade's ".oldbin"). 0 or -errno.
    int rename(const std::string& path);

    // A progress line for `client`; the final answer, after which it is closed.
    void progress(Client client, std::string_view text);
    void answer(Client client, int code, std::string_view text);
    bool connected(Client client) const;

    // Stop: every client still waiting is answered `code text`, the
    // listener is closed and its path removed.
    void close(int code, std::string_view text);
    // In a forked child: close the descriptors, leave the loop alone.
    void forget();

private:
    struct Connection;
    static void on_connection(uv_stream_t* server, int status) noexcept;
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
    static void on_request_timeout(uv_timer_t* timer) noexcept;
    void accept();
    void take(Connection& c, std::string_view bytes);
    bool write(Connection& c, const std::string& line);
    void drop(Connection& c);
    Connection* find(Client client) const;

    uv_loop_t* loop_ = nullptr;
    uv_pipe_t listener_{};
    bool open_ = false;
    std::string path_;
    OnRequest on_request_ = nullptr;
    void* owner_ = nullptr;
    std::vector<Connection*> connections_;  // owned; freed in their close callbacks
    Client next_id_ = 1;
};

// At most this many clients at once; more are answered "busy" and closed.
constexpr std::size_t max_control_clients = 32;
// A client has this long to send its request line.
constexpr uint64_t control_request_timeout_ms = 5000;

}  // namespace forkd::master
