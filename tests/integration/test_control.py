"""The control subcommands: `forkd reload|stop|status|workers|reopen|upgrade`.

Each test drives a real master through its control socket (beside the
pidfile) with the real binary as the client, and asserts what the client
reported together with what the server did: its log, its workers' pids, its
generation in /stats, its exit. Hostile clients of the socket (silent,
flooding, two requests, a stranger's uid) get a refusal and change nothing.
"""

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile

import pytest

from conftest import FORKD_BIN, wait_for


def control(*args, timeout=60, user=None):
    """Run `forkd <args>` to completion: (exit code, stdout, stderr)."""
    kwargs = {}
    if user is not None:
        kwargs["user"] = user
    r = subprocess.run([FORKD_BIN, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)
    return r.returncode, r.stdout, r.stderr


def start(forkd, tmp_path, **config):
    pidfile = tmp_path / "forkd.pid"
    config.setdefault("workers", 2)
    server = forkd(config={**config, "pidfile": str(pidfile)})
    return server, pidfile


def generation_of(server):
    status, _, doc = server.get_json("/stats")
    assert status == 200, doc
    return doc["server"]["generation"]


def raw_request(path, data, timeout=10):
    """Send bytes to the control socket; return what comes back until it closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(path))
        if data:
            s.sendall(data)
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass  # the master closed with our surplus unread: a reset after its answer
        return got.decode()


def test_reload_exits_0_once_the_new_generation_serves(forkd, tmp_path):
    server, _ = start(forkd, tmp_path)
    old = server.worker_pids()
    rc, out, err = control("reload", "-c", server.config_path)
    assert rc == 0, err
    assert re.fullmatch(r"reloaded: generation 2, 2/2 workers ready in \d+\.\d\d s\n", out), out
    # By the time the client returned, the master had logged the completion
    # and the new generation answers.
    assert "reload complete: generation 2 serves with 2 workers" in server.log_text()
    assert generation_of(server) == 2
    assert server.log_text().index("control: reload") < server.log_text().index("reload complete: generation 2")
    server.wait_workers(2, without=old)


def test_reload_of_a_bad_config_is_refused_with_file_line_key(forkd, tmp_path):
    server, _ = start(forkd, tmp_path)
    pids = server.worker_pids()
    good = server.config_path.read_text()
    server.config_path.write_text(good.replace("workers = 2", 'workers = "four"'))
    server.allow_errors(r"reload failed")
    rc, out, err = control("reload", "-c", server.config_path)
    assert rc == 1, (out, err)
    line = next(i for i, l in enumerate(good.splitlines(), 1) if l.startswith("workers ="))
    assert f"reload refused: {server.config_path}:{line}:" in err, err
    assert "key 'workers'" in err, err
    assert server.worker_pids() == pids and generation_of(server) == 1

    # A file that does not even parse: the client still finds the master by
    # the pidfile line, and the master's answer names the problem.
    server.config_path.write_text(good + "\nthreads = = 3\n")
    rc, _, err = control("reload", "-c", server.config_path)
    assert rc == 1 and f"reload refused: {server.config_path}:" in err, err
    assert server.worker_pids() == pids and generation_of(server) == 1


def test_reload_whose_workers_cannot_boot_is_abandoned(forkd, tmp_path):
    server, _ = start(forkd, tmp_path)
    pids = server.worker_pids()
    (tmp_path / "a-file").write_text("")
    text = server.config_path.read_text()
    server.config_path.write_text(text.replace("[log]", f'[log]\naccess_log = "{tmp_path}/a-file/access.log"'))
    server.allow_errors(r"cannot open access_log|died after|reload failed|before it was ready")
    server.expect_boot_failures()
    # The master backs off between boots (>= 3 s in all): a short --timeout
    # ends the wait, not the reload.
    rc, _, err = control("reload", "--timeout", "0.5", "-c", server.config_path)
    assert rc == 4 and "no outcome" in err, err
    wait_for(lambda: "reload failed: worker" in server.log_text(), 30, "the first reload to be abandoned")
    rc, _, err = control("reload", "-c", server.config_path)
    assert rc == 1, err
    assert re.search(r"reload abandoned: worker \d exited 6 times in a row before it was ready "
                     r"\(last: exit code 3\); generation 1 still serving", err), err
    assert server.worker_pids() == pids and generation_of(server) == 1


def test_workers_plus_one_waits_until_it_serves_and_minus_one_keeps_the_last(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    rc, out, err = control("workers", "+1", "--pid", pidfile)
    assert (rc, out) == (0, "workers: 3/3 serving\n"), err
    assert len(server.worker_pids()) == 3
    rc, out, err = control("workers", "-1", "--pid", pidfile)
    assert rc == 0 and out.startswith("workers: 2 (was 3)"), (out, err)
    server.wait_workers(2)
    rc, out, _ = control("workers", "-1", "--pid", pidfile)
    assert rc == 0
    server.wait_workers(1)
    rc, _, err = control("workers", "-1", "--pid", pidfile)
    assert rc == 1 and "keeping the last worker" in err, err
    rc, _, err = control("workers", "+2", "--pid", pidfile)
    assert rc == 2 and 'expected +1 or -1, got "+2"' in err, err
    server.assert_serves_hello()


def test_status_names_the_master_and_each_worker(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    rc, out, err = control("status", "-c", server.config_path)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"master pid {server.pid}, serving, generation 1, 2/2 workers serving"), out
    listed = sorted(int(m) for m in re.findall(r"^worker \d: pid (\d+), generation 1, active, ready", out, re.M))
    assert listed == server.worker_pids(), out


def test_stop_waits_until_the_master_exits(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    workers = server.worker_pids()
    rc, out, err = control("stop", "--pid", pidfile)
    assert rc == 0, err
    assert out == f"graceful shutdown of master pid {server.pid}\nstopped: master pid {server.pid} exits\n"
    assert server.stop() == 0  # it exits by itself, cleanly
    assert not pidfile.exists() and not (tmp_path / "forkd.pid.ctl").exists()
    assert all(not os.path.exists(f"/proc/{p}") or open(f"/proc/{p}/stat").read().split()[2] == "Z"
               for p in workers)


def test_stop_quick(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    rc, out, err = control("stop", "--quick", "--pid", pidfile)
    assert rc == 0 and "quick shutdown" in out and "stopped:" in out, (out, err)
    assert "quick shutdown of 2 workers" in server.log_text()
    assert server.stop() == 0


def test_reopen_reopens_the_error_log(forkd, tmp_path):
    log = tmp_path / "error.log"
    pidfile = tmp_path / "forkd.pid"
    server = forkd(config={"workers": 2, "pidfile": str(pidfile), "log": {"error_log": str(log)}},
                   error_log=log)
    log.rename(tmp_path / "error.log.1")
    rc, out, err = control("reopen", "--pid", pidfile)
    assert rc == 0 and out.startswith("reopened the master's log files"), err
    wait_for(log.exists, 5, "a new error log")
    assert control("status", "--pid", pidfile)[0] == 0
    wait_for(lambda: "control: status" in log.read_text(), 5, "the next line in the new file")
    assert "control: status" not in (tmp_path / "error.log.1").read_text()


def test_upgrade_waits_until_the_new_master_serves(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    old = server.pid
    new = None
    try:
        rc, out, err = control("upgrade", "--pid", pidfile)
        assert rc == 0, err
        new = int(pidfile.read_text())
        assert new != old
        assert out.endswith(f"upgraded: new master pid {new} serves; old master pid {old} retires\n"), out
        assert server.wait_exit() == 0
        # The new master answers under the same pidfile.
        rc, out, err = control("status", "--pid", pidfile)
        assert rc == 0 and out.startswith(f"master pid {new}, serving"), (out, err)
        rc, out, err = control("stop", "--pid", pidfile)
        assert rc == 0 and f"stopped: master pid {new} exits" in out, err
        wait_for(lambda: not os.path.exists(f"/proc/{new}"), 10, "the new master to exit")
        new = None
    finally:
        if new is not None and os.path.exists(f"/proc/{new}"):
            os.kill(new, signal.SIGTERM)
    server.check_log()


def test_no_master_is_exit_3_with_the_reason(tmp_path):
    rc, _, err = control("status")
    assert rc == 3 and "no pidfile" in err, err
    rc, _, err = control("status", "--pid", tmp_path / "none.pid")
    assert rc == 3 and "does not exist" in err, err
    (tmp_path / "stale.pid").write_text("999999999\n")
    rc, _, err = control("reload", "--pid", tmp_path / "stale.pid")
    assert rc == 3, err


def test_the_socket_is_0600_and_hostile_clients_change_nothing(forkd, tmp_path):
    server, pidfile = start(forkd, tmp_path)
    path = tmp_path / "forkd.pid.ctl"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    pids = server.worker_pids()
    assert raw_request(path, b"launch missiles\n") == '2 unknown request "launch missiles"\n'
    assert raw_request(path, b"status\nstop\n") == "2 one request per connection\n"
    assert raw_request(path, b"x" * 5000).startswith("2 request longer than 256 bytes")
    assert raw_request(path, b"", timeout=15) == "2 no request line within 5 s\n"
    # A client that asks and hangs up at once: the master carries on.
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(str(path))
        s.sendall(b"status\n")
    assert server.worker_pids() == pids and server.running
    assert control("status", "--pid", pidfile)[0] == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_another_user_cannot_drive_the_master(forkd):
    # A directory others may enter (pytest's own are 0700), so that the
    # socket's mode and the master's peer check are what stop a stranger.
    public = tempfile.mkdtemp(prefix="forkd-control-", dir="/tmp")
    try:
        os.chmod(public, 0o755)
        pidfile = os.path.join(public, "forkd.pid")
        server = forkd(config={"workers": 1, "pidfile": pidfile})
        rc, _, err = control("reload", "--pid", pidfile, user="nobody")
        assert rc == 3 and "Permission denied" in err, err
        os.chmod(pidfile + ".ctl", 0o666)  # past a loosened mode, the peer check still refuses
        rc, _, err = control("reload", "--pid", pidfile, user="nobody")
        assert rc == 3 and "not allowed: uid 65534" in err, err
        assert generation_of(server) == 1
        assert "control socket: refused pid" in server.log_text()
        server.stop()
    finally:
        shutil.rmtree(public, ignore_errors=True)
