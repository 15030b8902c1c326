// http/connection_list.cpp: the list of a Context's open connections (see
// connection_list.hpp).
//
// Owns linking, unlinking and walking. Must not free a connection or change
// its state other than through Connection::drain() and close().
#include "http/connection_list.hpp"

#include "http/connection.hpp"

namespace forkd::http {

void ConnectionList::link(Connection* c)
{
    c->next_ = first_;
    if (first_ != nullptr)
        first_->prev_ = c;
    first_ = c;
}

void ConnectionList::unlink(Connection* c)
{
    if (c->prev_ != nullptr) {
        c->prev_->next_ = c->next_;
    } else if (first_ == c) {
        first_ = c->next_;
    }
    if (c->next_ != nullptr)
        c->next_->prev_ = c->prev_;
    c->next_ = c->prev_ = nullptr;
}

// fn may close a connection, but never frees one synchronously (freeing waits
// for the close callbacks), so taking next_ first is enough.
template <class Fn> void ConnectionList::each(Fn fn)
{
    for (Connection* c = first_; c != nullptr;) {
        Connection* next = c->next_;
        fn(*c);
        c = next;
    }
}

void ConnectionList::drain_all()
{
    each([](Connection& c) { c.drain(); });
}

void ConnectionList::drain_served()
{
    each([](Connection& c) {
        if (c.requests_served() > 0)
            c.drain();
    });
}

void ConnectionList::close_all()
{
    each([](Connection& c) { c.close(); });
}

std::size_t ConnectionList::size() const
{
    std::size_t n = 0;
    for (const Connection* c = first_; c != nullptr; c = c->next_)
        ++n;
    return n;
}

}  // namespace forkd::http
