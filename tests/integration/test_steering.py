"""Busy steering: a worker whose loop is blocked costs other clients nothing.

Owns the claims of busy steering against the real binary, as order of events
and the server's own figures, never wall-clock gaps: with an inline F(n)
(the hog) blocking one of two workers, new connections are answered while the
hog's own answer has not come yet (so by the other worker: the blocked one
cannot answer anything); connections that were already queued on the busy
worker's socket before it was marked busy are taken over by its sibling
(/stats counts them); with busy_steering = false the same load waits for the
hog (so the test shows the mechanism, not luck); with every worker busy
connections go to all of them and are served once one is free.
"""

import selectors
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import calibrate_fib, wait_for
from rawhttp import fire_together, get_request, parse_response

BUSY_LINE = "is busy: new connections go to"
ALL_BUSY_LINE = "every worker is busy"


def steering_config(**extra):
    config = {"workers": 2, "threads": 2, "busy_after_ms": 20, "log": {"level": "debug"},
              "endpoints": {"fib_max_n": 50}}
    config.update(extra)
    return config


class Hog:
    """An inline F(n) on a connection of its own; records when its answer came."""

    def __init__(self, server, n):
        self.conn = server.connect(timeout=120)
        self.conn.send(get_request(f"/fib/{n}?mode=inline"))
        self.response = None
        self.done_at = None
        self.thread = threading.Thread(target=self._wait)
        self.thread.start()

    def _wait(self):
        self.response = self.conn.read_response(timeout=120)
        self.done_at = time.monotonic()

    def answered(self):
        return self.done_at is not None

    def finish(self):
        self.thread.join(130)
        self.conn.close()
        assert self.response is not None and self.response.status == 200, self.response
        return self.response


def busy_lines(server):
    return server.log_text().count(BUSY_LINE)


def hog_worker(stats):
    """The worker that ran the hog (its slowest answer took the hog's time), and the other."""
    slow = [w for w in stats["workers"] if (w["latency_ms"]["max"] or 0) >= 500]
    assert len(slow) == 1, [(w["pid"], w["latency_ms"], w["requests"]) for w in stats["workers"]]
    others = [w for w in stats["workers"] if w is not slow[0]]
    return slow[0], others


def hello_on_new_connection(server):
    status, _, body = server.get("/hello", timeout=60)
    return status, body, time.monotonic()


@pytest.fixture(scope="module")
def hog_n(module_forkd):
    """F(n) that takes about 2 s offloaded on this host (calibrated once per file)."""
    server = module_forkd(config={"workers": 1, "threads": 1, "endpoints": {"fib_max_n": 50}})
    n, _ = calibrate_fib(server, target_s=2.0, n_max=50)
    return n


def test_new_connections_avoid_the_busy_worker(forkd, hog_n):
    server = forkd(config=steering_config())
    hog = Hog(server, hog_n)
    wait_for(lambda: busy_lines(server) >= 1, 10, "the master to mark the hog's worker busy")
    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(lambda _: hello_on_new_connection(server), range(200)))
    last_hello = max(at for _, _, at in results)
    assert all((status, body) == (200, b"hello") for status, body, _ in results), results[:5]
    assert not hog.answered() or hog.done_at > last_hello, \
        "the 200 new connections were not all answered before the hog's own answer"
    hog.finish()
    status, _, stats = server.get_json("/stats")
    hogged, _ = hog_worker(stats)
    assert hogged["requests"] == 1, "the blocked worker answered more than its hog"
    busy_slots = [s for s in stats["slots"] if s["busy_episodes"] >= 1]
    assert [s["slot"] for s in busy_slots] == [hogged["slot"]], stats["slots"]
    assert busy_slots[0]["busy_ms"] > 0
    assert stats["totals"]["busy"]["episodes"] >= 1
    # The hog is over: the master clears the mark at its next check (every
    # busy_after_ms / 4), which this /stats may have come before.
    wait_for(lambda: not any(w["busy"] for w in server.get_json("/stats")[2]["workers"]), 5,
             "the master to clear the busy mark once the hog was answered")


def test_connections_queued_on_the_busy_worker_are_taken_over(forkd, hog_n):
    # A long detection window, so that connections certainly queue on the
    # blocked worker's socket before the master steers around it.
    server = forkd(config=steering_config(busy_after_ms=300))
    hog = Hog(server, hog_n)
    time.sleep(0.05)  # let the hog's worker start the computation (no event to wait on)
    assert busy_lines(server) == 0, "marked busy before the 300 ms window: the test proves nothing"
    # 20 connections, made and sent together: the kernel puts about half of
    # them in the blocked worker's queue (all of them there: 2^-20).
    results, _ = fire_together(server.host, server.port, [get_request("/hello")] * 20, timeout=60)
    hellos_done = time.monotonic()
    assert all(r.status == 200 and r.body == b"hello" for r, _ in results)
    assert not hog.answered() or hog.done_at > hellos_done, \
        "the queued connections waited for the hog instead of being taken over"
    hog.finish()
    status, _, stats = server.get_json("/stats")
    hogged, (other,) = hog_worker(stats)
    assert hogged["requests"] == 1, "the blocked worker answered more than its hog"
    assert other["taken_over"] >= 1 and hogged["taken_over"] == 0, stats["workers"]
    assert stats["totals"]["taken_over"] == other["taken_over"]
    busy = [s["slot"] for s in stats["slots"] if s["busy_episodes"] >= 1]
    assert busy == [hogged["slot"]], stats["slots"]


def test_steering_off_reproduces_the_stall(forkd, hog_n):
    server = forkd(config=steering_config(busy_steering=False))
    assert "busy steering: off (busy_steering = false)" in server.log_text()
    hog = Hog(server, hog_n)
    time.sleep(0.1)  # let the hog's worker start the computation (no event to wait on)
    results, _ = fire_together(server.host, server.port, [get_request("/hello")] * 20, timeout=60)
    assert all(r.status == 200 for r, _ in results)
    hog.finish()
    status, _, stats = server.get_json("/stats")
    # Some of the 20 were queued on the blocked worker and answered by it:
    # its loop was inside the hog, so only after the hog's answer.
    hogged, _ = hog_worker(stats)
    assert hogged["requests"] >= 2, "no /hello waited for the hog: steering is not what saved them"
    assert stats["totals"]["taken_over"] == 0
    assert stats["totals"]["busy"]["episodes"] == 0
    assert BUSY_LINE not in server.log_text()


def test_every_worker_busy_falls_back_to_all(forkd, hog_n):
    server = forkd(config=steering_config())
    first = Hog(server, hog_n)
    wait_for(lambda: busy_lines(server) >= 1, 10, "the first hog's worker to be marked busy")
    second = Hog(server, hog_n)  # steered to the other worker, which then blocks too
    wait_for(lambda: ALL_BUSY_LINE in server.log_text(), 10, "both workers to be marked busy")
    status, body, _ = hello_on_new_connection(server)
    assert (status, body) == (200, b"hello")  # served once a worker was free, not refused
    first.finish()
    second.finish()
    status, _, stats = server.get_json("/stats")
    assert [s["busy_episodes"] >= 1 for s in stats["slots"]] == [True, True], stats["slots"]


# ---------------------------------------------------------------- one worker: the loop turn

def first_to_answer(conns, timeout=60):
    """Index of the first of `conns` (RawConnection, each sent one request)
    whose complete response arrives; the others are left unread."""
    selector = selectors.DefaultSelector()
    for i, c in enumerate(conns):
        c.sock.setblocking(False)
        selector.register(c.sock, selectors.EVENT_READ, i)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            for key, _ in selector.select(timeout=deadline - time.monotonic()):
                c = conns[key.data]
                chunk = c.sock.recv(65536)
                c.buf += chunk
                if not chunk or parse_response(c.buf):
                    return key.data
    finally:
        selector.close()
        for c in conns:
            c.sock.setblocking(True)
    pytest.fail(f"no answer within {timeout} s")


@pytest.mark.parametrize("late", ["keep-alive", "new connection"])
def test_work_that_holds_the_loop_waits_for_the_rest_of_its_turn(forkd, late):
    # One worker, so nothing can steer: what is shown is the order inside its
    # loop. While /sleep?mode=block holds the loop, a hog (another blocking
    # sleep, far longer) and then a /hello arrive: the /hello on a keep-alive
    # connection (read in the same turn as the hog) or on a new connection
    # (accepted in that turn; read at accept). The hog is deferred to the
    # end of the turn, so the /hello is answered first, not after it.
    server = forkd(config={"workers": 1, "busy_after_ms": 20, "log": {"level": "debug"},
                           "endpoints": {"sleep_max_ms": 60000}})
    hog = server.connect()
    hello = server.connect() if late == "keep-alive" else None
    for c in (hog, hello):
        if c is not None:  # accepted and idle before the loop is held
            c.send(get_request("/hello"))
            assert c.read_response().status == 200
    with server.connect() as holder:
        holder.send(get_request("/sleep/1500?mode=block"))
        # Held: what comes now reaches the loop together, once it is back.
        wait_for(lambda: "worker 0 is busy" in server.log_text(), 10, "the master to see the loop held")
        hog.send(get_request("/sleep/4000?mode=block"))
        if hello is None:
            hello = server.connect()
        hello.send(get_request("/hello"))
        assert first_to_answer([hog, hello]) == 1, "the /hello waited for the hog"
        assert parse_response(hello.buf)[0].status == 200
        assert holder.read_response(timeout=60).status == 200
    hog.close()
    hello.close()
