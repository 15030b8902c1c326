"""systemd integration without systemd as PID 1: the notify protocol over a
NOTIFY_SOCKET the test listens on, socket activation with LISTEN_FDS set the
way systemd sets it, and `systemd-analyze verify` on the shipped units."""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import FORKD_BIN, SOURCE_ROOT, free_port, render_config, wait_for, DEFAULT_CONFIG, merge_config


def receive_notifications(sock, until, timeout=10.0):
    """Datagrams from forkd, split into KEY=VALUE lines, until `until` is seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while until not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {until} within {timeout} s; got {seen}"
        sock.settimeout(remaining)
        seen.extend(sock.recv(4096).decode().splitlines())
    return seen


def test_notify_ready_reloading_stopping_in_order(forkd, tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    server = forkd(config={"workers": 2})
    seen = receive_notifications(sock, "READY=1")
    assert any(line.startswith("STATUS=") for line in seen), seen
    server.signal_master(signal.SIGHUP)
    seen = receive_notifications(sock, "READY=1")
    assert "RELOADING=1" in seen
    assert seen.index("RELOADING=1") < seen.index("READY=1")
    server.stop()
    seen = receive_notifications(sock, "STOPPING=1")
    sock.close()


def test_socket_activation_adopts_listen_fds(tmp_path):
    port = free_port()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    config = merge_config(DEFAULT_CONFIG, {"workers": 2, "bind": [f"127.0.0.1:{port}"]})
    (tmp_path / "forkd.toml").write_text(render_config(config))
    log_path = tmp_path / "forkd.out"
    fd = listener.fileno()

    # systemd sets LISTEN_PID to the service's pid; a shell that execs forkd
    # keeps its pid, so it can name itself.
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            ["/bin/bash", "-c", f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" 3<&{fd} {fd}<&-', FORKD_BIN,
             "-c", str(tmp_path / "forkd.toml")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, pass_fds=(fd,))
    try:
        wait_for(lambda: "ready:" in log_path.read_text() or proc.poll() is not None, 10, "ready")
        text = log_path.read_text()
        assert proc.poll() is None, text
        assert "adopted 1 listening sockets" in text, text
        listener.close()  # only forkd holds it now

        def stats_via_socket():
            """/stats from whichever worker accepts; None if that one does not
            answer within a second (it is the blocked one: try again)."""
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(b"GET /stats HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                c.settimeout(1)
                data = b""
                try:
                    while chunk := c.recv(65536):
                        data += chunk
                except socket.timeout:
                    return None
            head, _, body = data.partition(b"\r\n\r\n")
            assert b" 200 " in head.split(b"\r\n")[0], data
            return json.loads(body)

        # Whichever worker takes this connection is stuck in a blocking
        # sleep; a connection made meanwhile can only be served by the other
        # one. /stats from that one shows both: itself serving and its
        # sibling with the blocked request in flight. The sleep is far longer
        # than the wait, so the condition holds for the whole wait however
        # slow the machine; a /stats connection the blocked worker took
        # (accepted in the same turn as the blocked one) is abandoned.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as blocked:
            blocked.sendall(b"GET /sleep/20000?mode=block HTTP/1.1\r\nHost: t\r\n\r\n")

            def both_served():
                doc = stats_via_socket()
                if doc is None:
                    return None
                others = [w for w in doc["workers"] if w["pid"] != doc["served_by"]["pid"]]
                return doc if any(w["in_flight"] >= 1 for w in others) else None
            doc = wait_for(both_served, 15, "a /stats answer while the other worker is blocked")
        assert len(doc["workers"]) == 2, doc["workers"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0, log_path.read_text()
    assert "[error]" not in log_path.read_text()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_pass_systemd_analyze_verify(tmp_path):
    for name in ("forkd.service", "forkd.socket"):
        text = (SOURCE_ROOT / "systemd" / name).read_text()
        # verify checks that the binary exists: point it at the one we built
        (tmp_path / name).write_text(text.replace("/usr/local/bin/forkd", FORKD_BIN))
    result = subprocess.run(["systemd-analyze", "verify", "--man=no",
                             str(tmp_path / "forkd.service"), str(tmp_path / "forkd.socket")],
                            capture_output=True, text=True, timeout=60)
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if "forkd" in line]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
