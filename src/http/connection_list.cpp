// http/connection_list.cpp: the lists of a Context's connections (see
// connection_list.hpp).
//
// Owns linking, unlinking and walking, the turn queue's idle handle, and
// evict_idle(). Must not free a connection or change its state other than
// through Connection::drain(), close() and take_turn().
#include "http/connection_list.hpp"

#include <algorithm>

#include "http/connection.hpp"
#include "http/connection_detail.hpp"

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

std::size_t evict_idle(Context& ctx, std::size_t max)
{
    std::size_t closed = 0;
    for (; closed < max; ++closed) {
        Connection* oldest = ctx.idle.pop_front();
        if (oldest == nullptr)
            break;
        oldest->close();
    }
    ctx.closed.evicted += closed;
    return closed;
}

void ConnectionQueue::push_back(Connection* c)
{
    QueueLinks& l = c->*links_;
    if (l.linked)
        return;
    l.linked = true;
    l.next = nullptr;
    l.prev = last_;
    if (last_ != nullptr) {
        (last_->*links_).next = c;
    } else {
        first_ = c;
    }
    last_ = c;
    ++size_;
}

void ConnectionQueue::remove(Connection* c)
{
    QueueLinks& l = c->*links_;
    if (!l.linked)
        return;
    if (l.prev != nullptr) {
        (l.prev->*links_).next = l.next;
    } else {
        first_ = l.next;
    }
    if (l.next != nullptr) {
        (l.next->*links_).prev = l.prev;
    } else {
        last_ = l.prev;
    }
    l = QueueLinks{};
    --size_;
}

Connection* ConnectionQueue::pop_front()
{
    Connection* c = first_;
    if (c != nullptr)
        remove(c);
    return c;
}

TurnQueue::TurnQueue() : waiting_(&Connection::turn_links_)
{
}

void TurnQueue::push(uv_loop_t* loop, Connection* c)
{
    if (!initialised_) {
        uv_idle_init(loop, &idle_);  // cannot fail: it only links the handle into the loop
        idle_.data = this;
        initialised_ = true;
    }
    waiting_.push_back(c);
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_)))
        uv_idle_start(&idle_, &TurnQueue::on_idle);  // cannot fail on an initialised handle
}

// One turn for each connection that was waiting when the turn began; one
// that spends its share again queues behind the others for the next.
void TurnQueue::on_idle(uv_idle_t* idle) noexcept
{
    auto* self = static_cast<TurnQueue*>(idle->data);
    for (std::size_t n = std::min(self->waiting_.size(), detail::turns_per_loop); n > 0; --n) {
        Connection* c = self->waiting_.pop_front();
        if (c == nullptr)
            break;
        c->take_turn();
    }
    if (self->waiting_.empty())
        uv_idle_stop(idle);
}

void TurnQueue::close()
{
    if (initialised_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&idle_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
}

std::size_t ConnectionList::size() const
{
    std::size_t n = 0;
    for (const Connection* c = first_; c != nullptr; c = c->next_)
        ++n;
    return n;
}

}  // namespace forkd::http
