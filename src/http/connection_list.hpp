// http/connection_list.hpp: the open connections of one Context.
//
// Owns the intrusive list (each Connection holds its links) and the
// operations the worker needs on all connections at once: drain, close,
// count. Must not decide anything for one connection: each operation only
// calls that connection's public drain() or close().
#pragma once

#include <cstddef>

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

}  // namespace forkd::http
