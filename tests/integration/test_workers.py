"""The master and its workers, seen from outside (DESIGN.md, "Master", signals).

Owns: several workers share the port and all of them serve; a worker killed
with SIGKILL is replaced in the same slot while clients on new connections
see no refused or reset connection; TERM drains in-flight requests and exits
0; INT and QUIT exit quickly; no worker outlives its master; a worker that
served is replaced however often it dies, and the master never gives up on it.
Signals go only to the master this test spawned and to workers that /proc
lists as its children.
"""

import os
import re
import signal
import threading
import time

import pytest

from conftest import same_process_alive, wait_for
from rawhttp import RawConnection, get_request


def distinct_workers(server, want, attempts=200):
    """{pid: served_by} of the workers seen over new connections, until
    `want` distinct ones answered (bounded in attempts)."""
    seen = {}
    for _ in range(attempts):
        served_by = server.served_by()
        seen[served_by["pid"]] = served_by
        if len(seen) >= want:
            break
    return seen


def test_every_worker_serves(forkd):
    server = forkd(config={"workers": 2})
    pids = server.wait_workers(2)
    seen = distinct_workers(server, 2)
    assert sorted(seen) == pids, f"answers came from {sorted(seen)}, workers are {pids}"
    assert sorted(s["slot"] for s in seen.values()) == [0, 1]


def test_workers_flag_overrides_the_file(forkd):
    server = forkd(config={"workers": 1}, args=["-w", "3"])
    server.wait_workers(3)


class NewConnectionClient(threading.Thread):
    """Sends /hello on a new connection again and again, recording every
    failure. pause() returns once no connection of it is open."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.failures = []
        self.served = 0
        self.stop_event = threading.Event()
        self.may_run = threading.Event()  # cleared: pause between requests
        self.may_run.set()
        self.paused = threading.Event()

    def run(self):
        deadline = time.monotonic() + 60  # bounded even if the test forgets to stop it
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            if not self.may_run.is_set():
                self.paused.set()
                self.may_run.wait(0.05)
                continue
            self.paused.clear()
            try:
                with RawConnection(self.server.host, self.server.port, timeout=15) as conn:
                    conn.send(get_request("/hello", extra="Connection: close\r\n"))
                    response = conn.read_response(timeout=15)
                if response.status != 200 or response.body != b"hello":
                    self.failures.append(f"answer {response!r}")
                self.served += 1
            except (OSError, AssertionError) as e:
                self.failures.append(f"{type(e).__name__}: {e}")

    def pause(self):
        self.paused.clear()
        self.may_run.clear()
        assert self.paused.wait(20), "the client did not pause"

    def resume(self):
        self.may_run.set()

    def finish(self):
        self.stop_event.set()
        self.resume()
        self.join(20)
        assert not self.is_alive()


def test_killed_worker_is_replaced_in_its_slot_without_failed_connections(forkd):
    server = forkd(config={"workers": 2})
    pids = server.wait_workers(2)
    slots = {pid: s["slot"] for pid, s in distinct_workers(server, 2).items()}
    victim = pids[0]
    victim_start = server.seen_workers[victim]
    server.allow_errors(rf"\(pid {victim}, active\) died after")  # "worker 0 (pid N, active) died after ..."

    clients = [NewConnectionClient(server) for _ in range(3)]
    for client in clients:
        client.start()
    try:
        wait_for(lambda: all(c.served > 5 for c in clients), 10, "the clients to get going")
        # Connections the victim had already accepted die with it: that is
        # not what this test is about. So the clients pause (holding no
        # connection), the worker is killed, and they resume at once: what
        # they send while the slot has no worker must wait for the new one.
        # (Once SIGKILL is sent the victim never returns to user space, so it
        # accepts none of these connections.)
        for client in clients:
            client.pause()
        served_before = sum(c.served for c in clients)
        server.kill_worker(victim, signal.SIGKILL)
        for client in clients:
            client.resume()
        wait_for(lambda: not same_process_alive(victim, victim_start), 5, "the worker to die")
        new_pids = server.wait_workers(2, without=[victim])
        replacement = (set(new_pids) - set(pids)).pop()
        wait_for(lambda: sum(c.served for c in clients) > served_before + 50, 20,
                 "requests after the restart")
        # The replacement took over the victim's slot.
        seen = {}
        for _ in range(200):
            served_by = server.served_by()
            seen[served_by["pid"]] = served_by
            if replacement in seen:
                break
        assert replacement in seen, f"the replacement {replacement} never answered: {seen}"
        assert seen[replacement]["slot"] == slots[victim]
    finally:
        for client in clients:
            client.finish()
    failures = [f for c in clients for f in c.failures]
    assert failures == [], f"{len(failures)} failed requests, e.g. {failures[:5]}"


def test_term_finishes_in_flight_requests_then_exits_0(forkd):
    server = forkd(config={"workers": 1, "graceful_timeout": 10})
    worker = server.wait_workers(1)[0]
    with server.connect() as conn:
        # /hello first: once its answer is back the worker has this
        # connection and the pipelined /sleep/1000 right behind it.
        conn.send(get_request("/hello") + get_request("/sleep/1000"))
        started = time.monotonic()
        assert conn.read_response().body == b"hello"
        time.sleep(0.1)  # let the loop start the timer (no event to wait on from outside)
        server.signal_master(signal.SIGTERM)
        response = conn.read_response(timeout=15)
        elapsed = time.monotonic() - started
        assert response.status == 200 and response.json() == {"slept_ms": 1000}
        assert elapsed >= 0.99
        assert conn.closed_within(5), "the drained connection stayed open"
    assert server.stop(expect_rc=(0,)) == 0
    assert not same_process_alive(worker, server.seen_workers[worker])


def test_term_with_idle_keep_alive_connection_exits_promptly(forkd):
    server = forkd(config={"workers": 1, "graceful_timeout": 10})
    with server.connect() as conn:
        conn.send(get_request("/hello"))
        assert conn.read_response().status == 200
        started = time.monotonic()
        server.signal_master(signal.SIGTERM)
        # An idle connection has nothing in flight: it is closed at once,
        # not kept until graceful_timeout.
        assert conn.closed_within(5)
        assert server.stop() == 0
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGQUIT])
def test_int_and_quit_exit_quickly(forkd, sig):
    server = forkd(config={"workers": 2, "graceful_timeout": 30})
    server.wait_workers(2)
    with server.connect() as conn:
        conn.send(get_request("/sleep/5000"))
        assert conn.silent_for(0.2)  # the request is in flight
        started = time.monotonic()
        server.signal_master(sig)
        # Quick: neither the 5 s request nor the 30 s graceful timeout is waited for.
        server.stop(expect_rc=(0, -sig), timeout=4)
        assert time.monotonic() - started < 4
        data = conn.read_until_close(timeout=2)
        assert b"slept_ms" not in data


def test_workers_die_with_a_killed_master(forkd):
    server = forkd(config={"workers": 2})
    server.wait_workers(2)
    server.signal_master(signal.SIGKILL)
    # stop() checks that every worker seen is gone within its bound.
    server.stop(expect_rc=(-signal.SIGKILL,))


def test_a_worker_that_served_is_replaced_however_often_it_dies(forkd):
    """Deaths of workers that became ready never stop the master (only boot
    failures do: test_lifecycle's crash loop); one that took a request is
    replaced at once, with no backoff, in its own slot."""
    server = forkd(config={"workers": 1})
    [pid] = server.worker_pids()
    killed = []
    for _ in range(20):
        served_by = server.served_by()  # this worker took a request
        assert served_by["pid"] == pid and served_by["slot"] == 0, served_by
        server.kill_worker(pid, signal.SIGKILL)
        killed.append(pid)
        [pid] = server.wait_workers(1, without=killed)
    assert server.running
    server.assert_serves_hello()
    def restarts():  # the master samples its own figures once a second
        status, _, doc = server.get_json("/stats")
        assert status == 200, doc
        return doc["slots"][0] if doc["slots"][0]["restarts"] == 20 else None
    slot = wait_for(restarts, 5, "/stats to count 20 restarts")
    assert slot["exits"] == 20 and slot["last_exit"]["signal"] == 9, slot
    log = server.log_text()
    for victim in killed:
        assert re.search(r"worker 0 \(pid %d, active\) died after [\d.]+ s: signal 9 \(Killed\); restarting$"
                         % victim, log, re.M), f"no immediate restart of {victim}:\n{log}"
    assert "giving up" not in log


def test_the_harness_fails_a_test_on_a_death_it_did_not_cause(forkd):
    """The check every test relies on (conftest's DIED_LINE) can fail: a
    worker killed behind the harness's back shows up as a bad log line."""
    server = forkd(config={"workers": 1})
    [pid] = server.worker_pids()
    os.kill(pid, signal.SIGKILL)  # not through kill_worker, on purpose
    server.wait_workers(1, without=[pid])
    wait_for(lambda: server.bad_log_lines(), 5, "the died line")
    assert any(f"(pid {pid}, active) died after" in line for line in server.bad_log_lines())
    server.expect_death(pid)  # now the test says so, and stop() passes
    assert server.bad_log_lines() == []
