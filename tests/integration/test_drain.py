"""The host-level drain: /healthz answers 503 "draining" on every worker at
once while everything is still served, keep-alive connections close after
their current response, /stats says so; TERM drains first for
shutdown_delay seconds.

Each test asserts what the server did (status codes, Connection headers,
/stats, the order of its log lines), never how long something took.
"""

import signal
from pathlib import Path

import pytest

from conftest import run_forkd, wait_for
from rawhttp import get_request

WORKERS = 3


def connections_to_every_worker(server, workers):
    """One open keep-alive connection to each worker: {pid: RawConnection},
    found by asking /stats on new connections which worker answered."""
    by_pid = {}
    for _ in range(200):
        conn = server.connect()
        conn.send(get_request("/stats"))
        answer = conn.read_response()
        assert answer.status == 200 and answer.header("Connection") == "keep-alive", answer
        pid = answer.json()["served_by"]["pid"]
        if pid in by_pid:
            conn.close()
        else:
            by_pid[pid] = conn
        if len(by_pid) == workers:
            return by_pid
    pytest.fail(f"200 connections reached only workers {sorted(by_pid)}")


def healthz_on_each(connections):
    """/healthz on each connection: [(status, body, Connection header)]."""
    out = []
    for conn in connections.values():
        conn.send(get_request("/healthz"))
        answer = conn.read_response()
        out.append((answer.status, answer.body, answer.header("Connection")))
    return out


def healthz_on_new_connections(server, count):
    """The /healthz answers of `count` new connections (spread over the
    workers by the kernel's reuseport choice)."""
    return [server.get("/healthz")[:3:2] for _ in range(count)]


def keepalive_pair(server, path="/hello"):
    """Two requests on one connection: the Connection header of the first
    answer, and whether the second one was answered on it."""
    with server.connect() as conn:
        conn.send(get_request(path))
        first = conn.read_response()
        if first.header("Connection") == "close":
            return first, None
        conn.send(get_request(path))
        return first, conn.read_response()


def test_term_drains_for_shutdown_delay_then_stops(forkd):
    server = forkd(config={"workers": WORKERS, "shutdown_delay": 2, "keepalive": 5})
    assert healthz_on_new_connections(server, 6) == [(200, b"ok")] * 6
    first, second = keepalive_pair(server)
    assert first.header("Connection") == "keep-alive" and second.status == 200

    # A connection to each worker, held open across the TERM: each one's
    # next answer says draining, and close.
    held = connections_to_every_worker(server, WORKERS)

    server.signal_master(signal.SIGTERM)
    wait_for(lambda: "before the graceful stop" in server.log_text(), 5, "the master to start draining")

    # During the delay: every worker says draining, and still serves, new
    # connections included; every answer closes its connection.
    assert healthz_on_each(held) == [(503, b"draining", "close")] * WORKERS
    for conn in held.values():
        assert conn.closed_within(5)
        conn.close()
    assert healthz_on_new_connections(server, 6) == [(503, b"draining")] * 6
    status, headers, stats = server.get_json("/stats")
    assert status == 200 and stats["server"]["state"] == "draining"
    assert stats["server"]["state_since_ms"] is not None
    assert stats["server"]["workers"]["ready"] == WORKERS  # the workers themselves are not stopping
    status, headers, body = server.get("/hello")
    assert (status, body) == (200, b"hello") and headers["Connection"] == "close"
    with server.connect() as conn:  # a new connection, during the delay
        conn.send(get_request("/sleep/10"))
        answer = conn.read_response()
        assert answer.status == 200 and answer.header("Connection") == "close"
        assert conn.closed_within(5)

    assert server.wait_exit(15) == 0
    log = server.log_text()
    # The drain came first, then the graceful stop: never the other way round.
    assert log.index("draining for 2.0 s (shutdown_delay)") < log.index("shutdown_delay is over")
    server.check_log()


def test_a_second_term_stops_at_once(forkd):
    server = forkd(config={"workers": 1, "shutdown_delay": 300})
    server.signal_master(signal.SIGTERM)
    wait_for(lambda: "before the graceful stop" in server.log_text(), 5, "the master to start draining")
    assert server.get("/healthz")[0] == 503
    server.signal_master(signal.SIGTERM)
    assert server.wait_exit(15) == 0
    assert "shutdown_delay is over" not in server.log_text()
    server.check_log()


def test_int_during_shutdown_delay_is_a_quick_stop(forkd):
    server = forkd(config={"workers": 1, "shutdown_delay": 300})
    server.signal_master(signal.SIGTERM)
    wait_for(lambda: "before the graceful stop" in server.log_text(), 5, "the master to start draining")
    server.signal_master(signal.SIGINT)
    assert server.wait_exit(15) == 0
    server.check_log()


def test_no_shutdown_delay_by_default(forkd):
    server = forkd()
    server.stop()
    assert "shutdown_delay" not in server.log_text()


@pytest.mark.parametrize("value", ["-1", '"soon"'])
def test_shutdown_delay_must_be_a_duration(tmp_path, value):
    path = tmp_path / "bad.toml"
    path.write_text(f"shutdown_delay = {value}\n")
    result = run_forkd("--check-config", "-c", path)
    assert result.returncode != 0
    assert "shutdown_delay" in result.stderr + result.stdout


# ------------------------------------------------ the drain file

def drained_server(forkd, tmp_path, **config):
    pidfile = tmp_path / "forkd.pid"
    server = forkd(config={"workers": WORKERS, "pidfile": str(pidfile), "keepalive": 5, **config})
    return server, pidfile


def host_state(server):
    return server.get_json("/stats")[2]["server"]["state"]


def drain(server, pidfile):
    """`touch <pidfile>.drain`; the master looks every 100 ms."""
    Path(f"{pidfile}.drain").touch()
    wait_for(lambda: host_state(server) == "draining", 5, "the master to see the drain file")


def undrain(server, pidfile):
    Path(f"{pidfile}.drain").unlink()
    wait_for(lambda: host_state(server) == "serving", 5, "the master to see the drain file gone")


def test_drain_and_undrain(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path)
    held = connections_to_every_worker(server, WORKERS)

    drain(server, pidfile)
    # Every worker at once: each held connection's next /healthz says
    # draining and closes the connection after it.
    assert healthz_on_each(held) == [(503, b"draining", "close")] * WORKERS
    for conn in held.values():
        assert conn.closed_within(5)
        conn.close()
    # Still serving, new connections included; each answer closes.
    status, headers, body = server.get("/sleep/10")
    assert status == 200 and headers["Connection"] == "close"
    status, _, stats = server.get_json("/stats")
    assert stats["server"]["state_since_ms"] is not None
    assert stats["server"]["workers"]["ready"] == WORKERS

    undrain(server, pidfile)
    held = connections_to_every_worker(server, WORKERS)
    assert healthz_on_each(held) == [(200, b"ok", "keep-alive")] * WORKERS
    for conn in held.values():
        conn.close()

    server.stop()
    log = server.log_text()
    assert (log.index("drain file") < log.index("host draining") < log.index("removed")
            < log.index("host serving again"))


def test_in_flight_requests_finish_across_a_drain(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path)
    with server.connect() as conn:
        # Pipelined: the first is in flight when the drain comes, the second
        # is queued behind it. Both are answered; the last one closes.
        conn.send(get_request("/sleep/500") + get_request("/hello"))
        # In flight: the sleep, and the /stats request that asks.
        wait_for(lambda: server.get_json("/stats")[2]["totals"]["in_flight"] >= 2, 5, "the sleep in flight")
        drain(server, pidfile)
        first, second = conn.read_response(), conn.read_response()
        assert (first.status, second.status, second.body) == (200, 200, b"hello")
        assert second.header("Connection") == "close"
        assert conn.closed_within(5)


def test_a_drain_survives_a_reload(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path)
    drain(server, pidfile)
    generation = server.get_json("/stats")[2]["server"]["generation"]
    server.signal_master(signal.SIGHUP)
    wait_for(lambda: "reload complete" in server.log_text(), 10, "the reload")
    stats = server.get_json("/stats")[2]
    assert stats["server"]["generation"] == generation + 1 and stats["server"]["state"] == "draining"
    # Every worker of the new generation: /stats and /healthz pipelined on
    # new connections (the first answer names the worker; both are answered,
    # the last one closes) until each worker has answered.
    healthz = {}
    for _ in range(200):
        with server.connect() as conn:
            conn.send(get_request("/stats") + get_request("/healthz"))
            who, answer = conn.read_response(), conn.read_response()
            healthz[who.json()["served_by"]["pid"]] = (answer.status, answer.body, answer.header("Connection"))
        if len(healthz) == WORKERS:
            break
    assert sorted(healthz) == sorted(w["pid"] for w in stats["workers"] if w["generation"] == generation + 1)
    assert list(healthz.values()) == [(503, b"draining", "close")] * WORKERS


def test_term_after_a_drain_and_no_undrain_while_stopping(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path, shutdown_delay=300)
    drain(server, pidfile)
    server.signal_master(signal.SIGTERM)
    wait_for(lambda: "before the graceful stop" in server.log_text(), 5, "the master to start the delay")
    Path(f"{pidfile}.drain").unlink()
    wait_for(lambda: "cannot undrain: the host is stopping" in server.log_text(), 5, "the refusal")
    assert server.get("/healthz")[0] == 503
    server.stop()  # a second TERM: now


# ------------------------------------------------ forkd drain / undrain

def command(*args):
    result = run_forkd(*args)
    return result.returncode, result.stdout + result.stderr


def test_drain_and_undrain_commands(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path)
    held = connections_to_every_worker(server, WORKERS)
    rc, out = command("drain", "--pid", pidfile)
    assert rc == 0 and "draining" in out, out
    # Answered once the board says so: every worker drains at once.
    assert healthz_on_each(held) == [(503, b"draining", "close")] * WORKERS
    for conn in held.values():
        conn.close()
    rc, out = command("status", "--pid", pidfile)
    assert rc == 0 and "draining" in out, out
    rc, out = command("drain", "--pid", pidfile)
    assert rc == 0 and "already draining" in out, out
    rc, out = command("undrain", "--pid", pidfile)
    assert rc == 0 and "serving again" in out, out
    assert host_state(server) == "serving"
    rc, out = command("undrain", "--pid", pidfile)
    assert rc == 0 and "not draining" in out, out


def test_undrain_command_is_refused_while_stopping(forkd, tmp_path):
    server, pidfile = drained_server(forkd, tmp_path, shutdown_delay=300)
    server.signal_master(signal.SIGTERM)
    wait_for(lambda: "before the graceful stop" in server.log_text(), 5, "the master to start the delay")
    rc, out = command("undrain", "--pid", pidfile)
    assert rc == 1 and "stopping" in out, out
    assert server.get("/healthz")[0] == 503
    server.stop()  # a second TERM: now
