"""The seeds' lessons, measured against the real binary.

Owns the timing claims of the modes: a timer sleep does not hold the event
loop (seed 002's fix), a blocking sleep on the loop serialises the worker
(seed 002's mistake), offloaded Fibonacci runs in parallel on the offload
threads while the loop keeps answering (seed 000's "par", FastAPI's plain
`def`), inline Fibonacci blocks the loop; threads = 0 makes offload modes
answer 503, and a full offload queue answers 503 with Retry-After.
Bounds are generous: CI has two noisy cores. Every request set is connected
first and sent together (conftest.fire_together), so the clock measures the
server, not Python threads starting up.
"""

import time

import pytest

from conftest import calibrate_fib, wait_for
from rawhttp import fire_together, get_request


def test_timer_sleeps_overlap_on_one_worker(forkd):
    server = forkd(config={"workers": 1, "threads": 0})
    results, total = fire_together(server.host, server.port,
                                   [get_request("/sleep/200")] * 20)
    for response, elapsed in results:
        assert response.status == 200 and response.json() == {"slept_ms": 200}
        assert elapsed >= 0.195  # libuv timers count whole milliseconds from a cached now
    assert total < 0.38, f"20 concurrent 200 ms timer sleeps took {total:.3f} s"


def test_blocking_sleeps_serialise_one_worker(forkd):
    server = forkd(config={"workers": 1, "threads": 0})
    results, total = fire_together(server.host, server.port,
                                   [get_request("/sleep/200?mode=block")] * 5)
    assert all(r.status == 200 and r.json() == {"slept_ms": 200} for r, _ in results)
    # One at a time: the k-th answer cannot come before k x 200 ms.
    done = sorted(elapsed for _, elapsed in results)
    for k, elapsed in enumerate(done, start=1):
        assert elapsed >= 0.2 * k - 0.002, f"answer {k} came after {elapsed:.3f} s: {done}"
    assert total >= 0.998


def test_offload_modes_answer_503_without_threads(forkd):
    server = forkd(config={"workers": 1, "threads": 0})
    for path in ["/hello?mode=offload", "/sleep/10?mode=offload", "/fib/10?mode=offload",
                 "/fibo_sleep/10?mode=par", "/fibo_sleep/10?mode=offload"]:
        status, headers, body = server.get_json(path)
        assert status == 503, (path, body)
        assert body["status"] == 503
        assert "threads" in body["error"], body
    # Modes that need no thread still work.
    for path in ["/hello?mode=inline", "/sleep/10?mode=timer", "/sleep/10?mode=block",
                 "/fib/10?mode=inline", "/fibo_sleep/10?mode=async",
                 "/fibo_sleep/10?mode=baseline"]:
        status, _, body = server.get(path)
        assert status == 200, (path, body)


@pytest.fixture
def fib_server(forkd):
    return forkd(config={"workers": 1, "threads": 2, "endpoints": {"fib_max_n": 50}})


def offload_gauges(server):
    """(busy offload threads, requests in flight) of the only worker, as its
    last tick (once a second) stored them."""
    status, _, doc = server.get_json("/stats")
    assert status == 200, doc
    [worker] = doc["workers"]
    return worker["offload"]["busy"], worker["in_flight"]


def test_offloaded_fibs_overlap(fib_server):
    """Two offloaded F(n) run at once on the two threads: the worker's own
    gauge shows both threads busy together. (One after the other, a tick
    could only ever see one.) The speed-up on two free cores is
    test_parallelism.py's; this asserts what the server did, not how long a
    shared machine took."""
    server = fib_server
    n, single = calibrate_fib(server, target_s=1.5)  # outlasts a tick of the worker
    with server.connect() as a, server.connect() as b:
        a.send(get_request(f"/fib/{n}?mode=offload"))
        b.send(get_request(f"/fib/{n}?mode=offload"))
        # The loop is free meanwhile, so /stats answers at once.
        wait_for(lambda: offload_gauges(server) == (2, 3), 2 * single + 10,
                 "a tick with both offload threads busy (and /stats itself in flight)")
        for conn in (a, b):
            response = conn.read_response(timeout=60)
            assert response.status == 200 and response.json()["n"] == n


def test_loop_answers_while_fib_is_offloaded(fib_server):
    """While an offloaded F(n) runs (the worker's gauge says one thread is
    busy), /hello is answered, and before F(n): the order of the answers."""
    server = fib_server
    n, single = calibrate_fib(server, target_s=1.5)
    with server.connect() as fib_conn, server.connect() as hello_conn:
        fib_conn.send(get_request(f"/fib/{n}?mode=offload"))
        wait_for(lambda: offload_gauges(server)[0] == 1, single + 10, "the offloaded F(n) to be running")
        hello_conn.send(get_request("/hello"))
        hello = hello_conn.read_response()
        assert hello.body == b"hello"
        fib_conn.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            fib_conn.sock.recv(1)  # F(n)'s answer has not come yet
        fib_conn.sock.setblocking(True)
        fib = fib_conn.read_response(timeout=60)
    assert fib.status == 200 and fib.json()["n"] == n


def test_inline_fib_blocks_the_loop(fib_server):
    server = fib_server
    n, single = calibrate_fib(server)
    with server.connect() as fib_conn, server.connect() as hello_conn:
        fib_conn.send(get_request(f"/fib/{n}?mode=inline"))
        # Give the loop time to read the Fibonacci request first (a bounded
        # wait for something with no observable event: the loop is busy).
        time.sleep(0.1)
        hello_conn.send(get_request("/hello"))
        hello = hello_conn.read_response(timeout=60)
        hello_done = time.monotonic()
        fib = fib_conn.read_response(timeout=60)
        fib_done = time.monotonic()
    assert hello.body == b"hello" and fib.status == 200
    # The loop computes inline, so /hello can only be answered once F(n) is:
    # by the time /hello's answer is read, F(n)'s answer is already here.
    assert fib_done - hello_done < 0.05, "the /hello answer came long before F(n)'s"
    assert float(fib.header("X-Process-Time")) >= 0.5 * single


def test_inline_fibs_serialise(fib_server):
    server = fib_server
    n, _ = calibrate_fib(server)
    results, total = fire_together(server.host, server.port,
                                   [get_request(f"/fib/{n}?mode=inline")] * 2, timeout=60)
    assert all(r.status == 200 for r, _ in results)
    # Computed one after the other on the loop: the wall time covers both
    # computations as the server itself measured them.
    busy = sum(float(r.header("X-Process-Time")) for r, _ in results)
    assert total >= 0.95 * busy, f"total {total:.3f} s < the two computations {busy:.3f} s"


def test_full_offload_queue_answers_503(forkd):
    server = forkd(config={"workers": 1, "threads": 1, "offload_queue": 1})
    # One thread busy, one job queued: of four at once, at most two fit.
    results, _ = fire_together(server.host, server.port,
                               [get_request("/sleep/500?mode=offload")] * 4)
    statuses = sorted(r.status for r, _ in results)
    assert 200 in statuses and 503 in statuses, statuses
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) <= 2, statuses
    for response, _ in results:
        if response.status == 503:
            assert response.header("Retry-After") is not None
            assert response.json()["status"] == 503
    # Once the queue drains the worker offloads again.
    status, _, body = server.get("/sleep/10?mode=offload")
    assert status == 200, body
