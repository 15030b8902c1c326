// http/connection_list.hpp: the lists of one Context's connections.
//
// Owns the intrusive lists (each Connection holds its links): every open
// connection (ConnectionList: drain, close, count), the idle keep-alive ones
// oldest first (ConnectionQueue: the ones a full worker closes to admit new
// clients), and the ones waiting for their next turn of the loop (TurnQueue:
// a connection that used its share of a loop turn yields to the others).
// Must not decide anything for one connection: each operation only calls
// that connection's public drain() or close(), or its turn.
#pragma once

#include <cstddef>

#include <uv.h>

namespace forkd::http {

class Connection;

// The open connections of one Context (intrusive: each Connection holds its
// links). Only http/ links and unlinks them; the worker acts on all of them at
// once. An operation may close connections as it walks the list; none is
// freed before its close callbacks run, so the walk stays valid.
class ConnectionList {
public:
    ConnectionList() = default;
    ConnectionList(const ConnectionList&) = delete;
    ConnectionList& operator=(const ConnectionList&) = delete;

    // Drain every connection (see Connection::drain).
    void drain_all();
    // Drain only the connections that have answered a request: one that has
    // not sent its first request yet was accepted for that request.
    void drain_served();
    // Close every connection now (see Connection::close).
    void close_all();
    bool empty() const { return first_ == nullptr; }
    std::size_t size() const;

private:
    friend class Connection;  // links itself in its constructor, out in its destructor
    void link(Connection* c);
    void unlink(Connection* c);
    template <class Fn> void each(Fn fn);

    Connection* first_ = nullptr;
};

// A connection's links in one ConnectionQueue.
struct QueueLinks {
    Connection* next = nullptr;
    Connection* prev = nullptr;
    bool linked = false;
};

// A first-in first-out list of connections through one of their QueueLinks
// (intrusive: no allocation; remove() is O(1) and harmless when not linked).
class ConnectionQueue {
public:
    explicit ConnectionQueue(QueueLinks Connection::*links) : links_(links) { }
    ConnectionQueue(const ConnectionQueue&) = delete;
    ConnectionQueue& operator=(const ConnectionQueue&) = delete;

    void push_back(Connection* c);
    void remove(Connection* c);
    Connection* pop_front();  // nullptr when empty
    bool empty() const { return first_ == nullptr; }
    std::size_t size() const { return size_; }

private:
    QueueLinks Connection::*links_;
    Connection* first_ = nullptr;
    Connection* last_ = nullptr;
    std::size_t size_ = 0;
};

// Connections that spent their share of one loop turn with requests still
// buffered. Each loop turn (a uv_idle_t, which also keeps the loop from
// blocking in poll while someone waits) gives the longest-waiting of them
// (at most turns_per_loop) one more share, in order; the sockets of everyone
// else are polled in between.
class TurnQueue {
public:
    TurnQueue();
    TurnQueue(const TurnQueue&) = delete;
    TurnQueue& operator=(const TurnQueue&) = delete;

    // Queue `c` for its next turn on `loop` (the handle is set up on first use).
    void push(uv_loop_t* loop, Connection* c);
    void remove(Connection* c) { waiting_.remove(c); }
    std::size_t size() const { return waiting_.size(); }
    // Close the handle (the worker's shutdown, once no connection is open).
    void close();

private:
    static void on_idle(uv_idle_t* idle) noexcept;

    ConnectionQueue waiting_;
    uv_idle_t idle_{};
    bool initialised_ = false;
};

}  // namespace forkd::http
