"""Clients that leave before their answers arrive: no worker dies of it.

A client pipelines requests whose answers come later (a timer, an offload
job, inline work behind another answer), then closes (FIN) or resets (RST,
SO_LINGER 0) without reading. The server's writes to such a connection fail
with EPIPE; with SIGPIPE at its default action they would kill the worker,
and the master used to count those deaths as a crash loop and give up: any
client could stop forkd in four seconds. Each test here repeats the attack,
then asserts that every worker pid is unchanged, the master still serves,
and (at stop, through the harness) that the log has no `died` line.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess

import pytest

from conftest import SOURCE_ROOT, wait_for
from rawhttp import get_request

ROUNDS = 50

# Requests whose answers the server writes after the client has gone.
DEFERRED = {
    "timer": "/sleep/1",
    "offload": "/hello?mode=offload",
    "inline-fib": "/fib/20?mode=inline",
    "offload-fib": "/fib/20",
}


def leave(server, payload, reset, send_timeout=5.0):
    """Connect, send payload (as much as the server takes within the
    timeout), then close without reading anything: FIN, or RST if reset."""
    sock = socket.create_connection((server.host, server.port), timeout=send_timeout)
    try:
        try:
            sock.sendall(payload)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading (its output is full) or went first
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        sock.close()


def workers_by_pid(server, count):
    """{pid: starttime} of the master's workers once it has `count` of them."""
    server.wait_workers(count)
    return dict(server.remember_workers())


def endpoint_responses(server, route):
    status, _, doc = server.get_json("/stats")
    assert status == 200, doc
    merged = {}
    for e in doc["endpoints"]:
        if e["route"] == route:
            for code, n in e["responses"].items():
                merged[code] = merged.get(code, 0) + n
    return doc["totals"]["requests"], merged


def assert_unharmed(server, before):
    """Every worker is the very process it was, and the master serves."""
    after = workers_by_pid(server, len(before))
    assert after == before, f"workers changed: before {before}, after {after}"
    assert " died after " not in server.log_text()
    server.assert_serves_hello()


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("kind", sorted(DEFERRED))
def test_pipelined_deferred_answers_to_a_gone_client(forkd, kind, close):
    server = forkd(config={"workers": 2, "threads": 2})
    before = workers_by_pid(server, 2)
    requests_before, _ = endpoint_responses(server, "/stats")
    payload = get_request(DEFERRED[kind]) * 2
    for _ in range(ROUNDS):
        leave(server, payload, reset=close == "rst")
    # The attack reached the server: the workers took its requests (with
    # FIN most answers are written before the reset comes back and counted).
    if close == "fin":
        wait_for(lambda: endpoint_responses(server, "/stats")[0] >= requests_before + ROUNDS, 10,
                 "the workers to answer the gone clients' first requests")
    assert_unharmed(server, before)


@pytest.mark.parametrize("close", ["fin", "rst"])
@pytest.mark.parametrize("path", ["/hello", "/metrics"])
def test_two_thousand_pipelined_requests_then_gone(forkd, path, close):
    server = forkd(config={"workers": 1, "threads": 2})
    before = workers_by_pid(server, 1)
    payload = get_request(path) * 2000
    for _ in range(5):
        leave(server, payload, reset=close == "rst", send_timeout=2.0)
    assert_unharmed(server, before)
    # An answer to a gone client is not a client error: the peer address is
    # known from the accept, so a /metrics handled after the client left is
    # never refused as if it came from a stranger.
    _, responses = endpoint_responses(server, path)
    assert "403" not in responses, responses


def test_stats_pipelined_after_the_client_left_is_not_a_403(forkd):
    server = forkd(config={"workers": 1, "threads": 2})
    before = workers_by_pid(server, 1)
    # /stats waits behind a timer, so it is handled once the client is gone.
    payload = get_request("/sleep/20") + get_request("/stats") * 3
    for _ in range(20):
        leave(server, payload, reset=False)
    for _ in range(20):
        leave(server, payload, reset=True)
    # Each FIN client's first /stats is answered in the same loop turn as
    # its /sleep, before the reset that write provokes comes back.
    responses = wait_for(lambda: (lambda r: r if r.get("200", 0) >= 20 else None)(
        endpoint_responses(server, "/stats")[1]), 10, "the pipelined /stats to be answered")
    assert "403" not in responses, responses
    assert_unharmed(server, before)
    _, responses = endpoint_responses(server, "/stats")
    assert "403" not in responses, responses


@pytest.mark.parametrize("path", ["/fib/20", "/sleep/1"])
def test_wrk_pipelining_sixteen_deep_kills_no_worker(forkd, path):
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (conf/packages, purpose bench)")
    server = forkd(config={"workers": 2, "threads": 2})
    before = workers_by_pid(server, 2)
    script = SOURCE_ROOT / "bench" / "lua" / "pipeline.lua"
    # wrk closes its 50 connections at the end with pipelined answers still
    # on their way: each of those writes meets a closed socket.
    result = subprocess.run([wrk, "-t2", "-c50", "-d2s", "-s", str(script), server.url(path), "--", "16"],
                            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                            env={**os.environ, "LC_ALL": "C"})
    assert result.returncode == 0, result.stderr
    assert "requests in" in result.stdout, result.stdout
    assert_unharmed(server, before)


def test_sigpipe_itself_is_ignored_by_every_worker(forkd):
    """The disposition, checked directly: a SIGPIPE delivered to a worker
    (as a failed write would raise it) does nothing."""
    server = forkd(config={"workers": 2})
    before = workers_by_pid(server, 2)
    for pid in before:
        with open(f"/proc/{pid}/status") as f:
            ignored = int(next(l for l in f if l.startswith("SigIgn:")).split()[1], 16)
        assert ignored & (1 << (signal.SIGPIPE - 1)), f"worker {pid} does not ignore SIGPIPE"
        server.kill_worker(pid, signal.SIGPIPE)
    with open(f"/proc/{server.pid}/status") as f:
        ignored = int(next(l for l in f if l.startswith("SigIgn:")).split()[1], 16)
    assert ignored & (1 << (signal.SIGPIPE - 1)), "the master does not ignore SIGPIPE"
    assert_unharmed(server, before)
