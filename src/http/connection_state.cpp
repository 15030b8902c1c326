// http/connection_state.cpp: the state machine of one connection (see
// connection.hpp for the states).
//
// Owns the decisions: when a request goes to the handler, what an answer
// does to the connection (keep alive, close, drain), back-pressure, which
// timer runs, when to finish. process() is the only place that feeds the
// parser; settle() makes reading, the timer and finishing match the state
// after every event.
// Must not call libuv itself (connection_io.cpp does) and must not know
// routes: a complete request goes to ctx_.handler.
//
// Re-entrancy: a handler may call respond() inside on_request. respond()
// called while process() runs only queues the response, and process() goes
// on with the next pipelined request. llhttp is never re-entered.
//
// Transitions. "closed" is orphaned or closing; any state that is not closed
// goes to closing on a read, write or shutdown error or on close() (orphaned
// instead while an answer is pending), and ignores events once closed.
//
//   state      event                                 next       action
//   ---------  ------------------------------------  ---------  ------------------------------------------
//   opening    accepted, peer address read           reading    start reading, arm the first-byte timer
//   opening    a set-up step failed                  closing    uv_close what was initialised
//   reading    bytes, request not complete yet       reading    buffer; head timer runs on, body restarts
//   reading    bytes complete a request              answering  parser paused; handler.on_request()
//   reading    the parser finds an error             finishing  queue the 4xx/505 with Connection: close
//   reading    head or body timer                    finishing  queue a 408 with Connection: close
//   reading    first-byte or keep-alive timer        closing    nothing to answer
//   reading    evict_idle(), waiting for a request   closing    (a full worker admits a new client)
//   reading    output backlog >= max_backlog_out     blocked    stop reading, arm the write timer
//   reading    share of the turn spent, more buffered queued     into ctx.turns; buffer what arrives
//   reading    peer EOF                              finishing  (a partial request is dropped)
//   reading    drain(), idle, nothing to write       closing
//   reading    drain(), idle, output in flight       finishing
//   answering  bytes                                 answering  buffer; stop reading at max_buffered_in
//   answering  peer EOF                              answering  stop reading; finish after the answers
//   answering  drain()                               answering  the answer will say Connection: close
//   answering  respond(), keep-alive                 reading    queue the answer, parse what is buffered
//   answering  respond(), not keep-alive             finishing  queue the answer with Connection: close
//   answering  error or close()                      orphaned   uv_close; the object waits for respond()
//   queued     its turn (TurnQueue)                  reading    parse what is buffered, a new share
//   queued     bytes                                 queued     buffer; stop reading at max_buffered_in
//   queued     error or close()                      closing    out of ctx.turns
//   blocked    a write completed                     reading    parse what is buffered
//   blocked    send_timeout without progress         closing    the peer does not read
//   blocked    drain(), nothing buffered             finishing
//   finishing  bytes                                 finishing  read and discard
//   finishing  everything written                    lingering  uv_shutdown, read and discard, linger timer
//   finishing  everything written, peer EOF          closing    nothing unread: closing keeps our data
//   finishing  send_timeout without progress         closing    the peer does not read
//   lingering  bytes                                 lingering  discard
//   lingering  peer EOF or linger timer              closing
//   lingering  drain(), parser idle                  closing    (as for any idle connection)
//   orphaned   respond()                             closing    drop the answer; freed if handles closed
//   closing    the last close callback               (freed)    delete; ctx.on_closed()
//
// Draining (drain(), ctx.draining, or a Response with close set by the
// handler) changes no state by itself: a response
// then says Connection: close unless more pipelined requests are already
// buffered (those are answered too, the last one closes).
#include "http/connection.hpp"

#include <spdlog/spdlog.h>

#include "http/connection_detail.hpp"

namespace forkd::http {

using detail::release_if_large;

void Connection::respond(Response&& response, uint32_t tag)
{
    if (!answer_pending()) {
        spdlog::error("http: respond() without a pending request (answered twice?)");
        return;
    }
    if (state_ == State::orphaned) {  // the peer went away meanwhile: drop the answer
        state_ = State::closing;
        free_when_done(this);
        return;
    }
    state_ = State::reading;
    const Request& request = parser_.request();
    uint64_t duration_ns = uv_hrtime() - request.start_ns;
    // While draining, a response says "Connection: close", unless more
    // requests the client pipelined are already here: those are answered
    // too (the last one closes), so a drain never leaves requests unanswered
    // that the client had already sent.
    const bool more_buffered = in_.size() > dispatch_pos_;
    const bool draining = draining_ || ctx_.draining || response.close;
    bool keep_alive = request.keep_alive && ctx_.limits.keepalive_ms > 0 && (!draining || more_buffered);
    ++requests_served_;
    queue(response, keep_alive, duration_ns, tag);
    if (keep_alive) {
        parser_.next();
    } else {
        finish_after_write();
    }
    if (!dispatching_)
        process();
}

void Connection::drain()
{
    draining_ = true;
    if (closed() || !idle())
        return;  // the current response will say close
    if (!write_in_flight() && out_.empty()) {
        close();
    } else {
        finish_after_write();
        settle();
    }
}

// The last response is queued (or nothing more will be answered): stop
// handling requests and shut down once everything is written.
void Connection::finish_after_write()
{
    if (state_ == State::reading || state_ == State::blocked)
        state_ = State::finishing;
}

// Feed buffered bytes to the parser and hand out complete requests, one at a
// time, until one is pending, more bytes are needed, or the connection ends.
void Connection::process()
{
    dispatching_ = true;
    if (state_ == State::blocked)
        state_ = State::reading;
    std::size_t pos = 0;
    // This connection's share of the loop turn: past it, with requests still
    // buffered, it waits for its next turn (TurnQueue) so that one client's
    // pipeline cannot hold the worker while the others wait.
    const std::size_t out_before = ctx_.bytes_out;
    unsigned answered = 0;
    while (state_ == State::reading) {
        if (pos < in_.size() &&
            (answered >= detail::turn_requests || ctx_.bytes_out - out_before + pos >= detail::turn_bytes)) {
            state_ = State::queued;
            ctx_.turns.push(ctx_.loop, this);
            break;
        }
        if (backlog() >= detail::max_backlog_out) {
            flush();
            if (closed())
                break;
            if (backlog() >= detail::max_backlog_out) {
                state_ = State::blocked;  // on_write resumes
                break;
            }
        }
        std::size_t used = 0;
        Parser::Event event = parser_.feed(in_.data() + pos, in_.size() - pos, used);
        pos += used;
        if (parser_.take_continue()) {
            out_ += detail::continue_100;
            ctx_.bytes_out += detail::continue_100.size();  // sent, though no response counts it
        }
        if (event == Parser::Event::request) {
            // Whatever the timer waited for has come: the next wait (keepalive
            // above all) starts afresh once this one is answered, and the
            // connection leaves the idle queue (it goes to its back then).
            arm(Wait::none);
            Request& request = parser_.request();
            request.start_ns = uv_hrtime();
            state_ = State::answering;
            dispatch_pos_ = pos;  // in_ beyond this is not parsed yet (respond() looks)
            ++answered;
            ctx_.handler->on_request(*this, request);  // may call respond() right here
            continue;
        }
        if (event == Parser::Event::error)
            answer_error(parser_.error_status(), parser_.error_message());
        break;  // need_more, error or done
    }
    dispatching_ = false;
    if (pos >= in_.size()) {
        in_.clear();
        release_if_large(in_);
    } else if (pos > 0) {
        in_.erase(0, pos);
    }
    dispatch_pos_ = 0;
    flush();
    settle();
}

// The TurnQueue's call: this connection's next share of a loop turn.
void Connection::take_turn()
{
    if (state_ != State::queued)
        return;
    state_ = State::reading;
    process();
}

// Make reading, the timer and finishing match the state; called after every
// event that is not handled completely where it happens.
void Connection::settle()
{
    if (closed())
        return;
    if (state_ == State::reading && peer_eof_)
        state_ = State::finishing;  // every complete request was answered and nothing more will arrive
    if (state_ == State::finishing || state_ == State::lingering) {
        if (!write_in_flight() && out_.empty()) {
            shutdown_and_linger();
        } else {
            arm(Wait::write);
        }
        return;
    }
    // Answering or waiting for its turn, what arrives is buffered, up to a bound.
    const bool buffering = state_ == State::answering || state_ == State::queued;
    set_reading(!peer_eof_ && state_ != State::blocked && !(buffering && in_.size() >= detail::max_buffered_in));
    if (buffering) {
        arm(Wait::none);
    } else if (state_ == State::blocked) {
        arm(Wait::write);
    } else {
        switch (parser_.phase()) {
        case Parser::Phase::idle: arm(requests_served_ == 0 ? Wait::first : Wait::idle); break;
        case Parser::Phase::head: arm(Wait::head); break;
        case Parser::Phase::body: arm(Wait::body); break;
        default: arm(Wait::none); break;
        }
    }
}

// Serialise one response into out_ and report it to the handler.
void Connection::queue(const Response& response, bool keep_alive, uint64_t duration_ns, uint32_t tag)
{
    const Request& request = parser_.request();
    HeadOptions options;
    options.keep_alive = keep_alive;
    options.head_only = request.is_head();
    options.process_time_s = static_cast<double>(duration_ns) / 1e9;
    std::size_t before = out_.size();
    serialize(response, options, out_);
    std::size_t bytes = out_.size() - before;
    ctx_.bytes_out += bytes;
    ctx_.handler->on_response(*this, request, Sent{response.status, bytes, duration_ns, tag});
}

// The connection answers a bad or late request itself, then closes.
void Connection::answer_error(int status, std::string_view message)
{
    finish_after_write();
    uint64_t start_ns = parser_.request().start_ns;
    queue(error_response(status, message), false, start_ns != 0 ? uv_hrtime() - start_ns : 0);
}

}  // namespace forkd::http
