"""`forkd top`, a live view of a running forkd (DESIGN.md, "Parts": top/).

Owns: one frame printed to a pipe (--once, or any stdout that is not a
terminal) with a real row per worker; exit codes for a bad URL and an
unreachable server; and, when tmux is installed, the interactive view in a
real terminal: it draws within the pane, redraws at a new size, and quits on
'q', leaving the terminal as it found it. tmux runs on a private socket in
the test's directory (-S), which this test creates and kills; no other tmux
server is touched.
"""

import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import FORKD_BIN, wait_for


def run_top(*args, timeout=15):
    return subprocess.run([FORKD_BIN, "top", *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def once_args():
    """`--once` where the command line has it; a pipe is enough otherwise."""
    help_text = run_top("--help").stdout
    return ["--once"] if "--once" in help_text else []


def test_top_prints_a_frame_with_every_worker(forkd):
    server = forkd(config={"workers": 2})
    for _ in range(10):
        server.assert_serves_hello()
    pids = server.wait_workers(2)
    result = run_top(*once_args(), server.url("/stats"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("forkd "), result.stdout
    assert f"master {server.pid}" in lines[0]
    assert any(l.startswith("SLOT") and "PID" in l and "REQ/S" in l and "P95" in l for l in lines)
    for pid in pids:
        row = next((l for l in lines if re.match(rf"^\s+[01]\s+{pid} ready\b", l)), None)
        assert row is not None, f"no row for worker {pid}:\n{result.stdout}"
    assert any(re.match(r"^/hello\s+inline\s+\d+", l) for l in lines), result.stdout
    assert all(len(l) <= 80 for l in lines), result.stdout


def test_top_exit_codes():
    result = run_top("https://127.0.0.1:1/stats")
    assert result.returncode == 2
    assert "https" in result.stderr
    # Nothing listens on this port: bind it, learn it, close it.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run_top(*once_args(), f"http://127.0.0.1:{port}/stats")
    assert result.returncode == 1
    assert "cannot read" in result.stderr


class Tmux:
    """A private tmux server (its own socket, in the test's directory) for one test."""

    def __init__(self, socket_path):
        self.base = ["tmux", "-S", str(socket_path), "-f", "/dev/null"]

    def __call__(self, *args, check=True):
        return subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=10,
                              check=check)

    def screen(self):
        return self("capture-pane", "-p", "-t", "top").stdout

    def screen_if(self, predicate):
        """The pane's text if predicate(text) holds, else None (for wait_for)."""
        text = self.screen()
        return text if predicate(text) else None

    def alive(self):
        return self("has-session", "-t", "top", check=False).returncode == 0

    def kill(self):
        self("kill-server", check=False)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_top_in_a_terminal_redraws_resizes_and_quits(forkd, tmp_path):
    server = forkd(config={"workers": 2})
    server.assert_serves_hello()
    pids = server.wait_workers(2)
    tmux = Tmux(tmp_path / "tmux.sock")
    marker = tmp_path / "exit-status"
    try:
        # The shell records top's exit status, then keeps the pane open a
        # moment so that the restored screen can be captured.
        command = f"{FORKD_BIN} top {server.url('/stats')}; echo $? > {marker}; sleep 5"
        tmux("new-session", "-d", "-s", "top", "-x", "80", "-y", "24", command)
        screen = wait_for(lambda: tmux.screen_if(lambda s: "SLOT" in s and "q quit" in s),
                          10, "the first frame")
        for pid in pids:
            assert re.search(rf"\b{pid} ready\b", screen), screen
        assert all(len(l) <= 80 for l in screen.splitlines())

        # Live: requests show up in a later frame.
        for _ in range(20):
            server.assert_serves_hello()
        def requests_shown(text):
            m = re.search(r"^requests (\d+)", text, re.M)
            return m is not None and int(m.group(1)) >= 21
        wait_for(lambda: tmux.screen_if(requests_shown), 5, "a redraw with the new requests")

        # Smaller: every line fits the new width, the worker table stays.
        tmux("resize-window", "-t", "top", "-x", "60", "-y", "14")
        small = wait_for(lambda: tmux.screen_if(lambda s: "SLOT" in s and "total" in s and
                                                all(len(l) <= 60 for l in s.splitlines())),
                         5, "a redraw at 60x14")
        assert len(small.splitlines()) <= 14
        # Cut to the width, not wrapped: a worker row follows the header directly.
        lines = small.splitlines()
        header = next(i for i, l in enumerate(lines) if l.startswith("SLOT"))
        assert re.match(r"^\s+[01]\s+\d+ ready", lines[header + 1]), small

        tmux("send-keys", "-t", "top", "q")
        wait_for(lambda: marker.exists() and marker.read_text().strip() != "", 5, "top to quit on q")
        assert marker.read_text().strip() == "0"
        # Back on the main screen, cursor shown: top's frame is gone.
        time.sleep(0.2)
        after = tmux.screen()
        assert "SLOT" not in after, after
    finally:
        tmux.kill()
