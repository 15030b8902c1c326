"""Lifecycle under load: HUP reloads, TTIN/TTOU, recycling, the watchdog.

Each test keeps a steady client load (load.py) running while it acts, and
asserts on what the clients saw: no failed request, no connection error.
"""

import os
import re
import signal

import pytest
import time

from conftest import wait_for
from load import Load


def generation_of(server):
    return server.served_by()["generation"]


def wait_log(server, pattern, timeout=10.0, count=1):
    regex = re.compile(pattern)
    return wait_for(lambda: len(regex.findall(server.log_text())) >= count or None,
                    timeout, f"{count} log lines matching {pattern!r}")


def test_twenty_reloads_under_load_lose_nothing(forkd):
    server = forkd(config={"workers": 2, "threads": 2})
    with Load(server.host, server.port) as load:
        load.wait_ok(50)
        for i in range(20):
            server.signal_master(signal.SIGHUP)
            wait_log(server, r"reload complete: generation %d\b" % (i + 2))
            load.wait_ok(20)
    print(f"load: {load.summary()}")
    assert load.failures == [] and load.retried == 0, load.summary()
    assert load.ok > 500, load.summary()
    assert generation_of(server) == 21
    server.wait_workers(2)


def test_reload_applies_a_new_worker_count_and_threads(forkd):
    server = forkd(config={"workers": 1, "threads": 0})
    status, _, _ = server.get("/hello?mode=offload")
    assert status == 503
    text = server.config_path.read_text()
    text = text.replace("workers = 1", "workers = 3").replace("threads = 0", "threads = 2")
    server.config_path.write_text(text)
    with Load(server.host, server.port) as load:
        load.wait_ok(30)
        server.signal_master(signal.SIGHUP)
        wait_log(server, r"reload complete: generation 2 serves with 3 workers")
        load.wait_ok(30)
        server.wait_workers(3)
        status, _, body = server.get("/hello?mode=offload")
        assert (status, body) == (200, b"hello")
        # and back down: surplus slots are steered away from, then retired
        server.config_path.write_text(text.replace("workers = 3", "workers = 1"))
        server.signal_master(signal.SIGHUP)
        wait_log(server, r"reload complete: generation 3 serves with 1 workers")
        server.wait_workers(1)
        load.wait_ok(30)
    print(f"load: {load.summary()}")
    assert load.failures == [] and load.retried == 0, load.summary()


def test_a_bad_config_on_hup_changes_nothing(forkd):
    server = forkd(config={"workers": 2})
    pids = server.worker_pids()
    good = server.config_path.read_text()
    server.config_path.write_text(good + "\nworkers_typo = 3\n")
    server.allow_errors(r"reload failed")
    server.signal_master(signal.SIGHUP)
    line = wait_log(server, r"reload failed")
    assert "workers_typo" in server.log_text()
    assert re.search(r"forkd\.toml:\d+", server.log_text())
    assert server.worker_pids() == pids
    assert generation_of(server) == 1
    server.config_path.write_text(good)
    server.signal_master(signal.SIGHUP)
    wait_log(server, r"reload complete: generation 2")
    assert line


def test_ttin_ttou_cycles_under_load_lose_nothing(forkd):
    server = forkd(config={"workers": 2})
    with Load(server.host, server.port) as load:
        load.wait_ok(30)
        for _ in range(3):
            server.signal_master(signal.SIGTTIN)
            server.wait_workers(3)
            load.wait_ok(30)
            server.signal_master(signal.SIGTTOU)
            server.wait_workers(2)
            load.wait_ok(30)
        server.signal_master(signal.SIGTTOU)
        server.wait_workers(1)
        load.wait_ok(30)
    print(f"load: {load.summary()}")
    assert load.failures == [] and load.retried == 0, load.summary()


def test_max_requests_recycles_one_worker_at_a_time(forkd):
    server = forkd(config={"workers": 2, "max_requests": 100, "max_requests_jitter": 20})
    first = set(server.worker_pids())
    with Load(server.host, server.port) as load:
        wait_log(server, r"recycling worker", count=4, timeout=30)
        load.wait_ok(20)
    print(f"load: {load.summary()}")
    assert load.failures == [] and load.retried == 0, load.summary()
    assert not first & set(server.worker_pids()), "every original worker was replaced"
    # recycle_concurrency = 1: never two successors on their way at once
    log = server.log_text()
    events = re.findall(r"(recycling worker \d+|retiring worker \d+ \(pid \d+, generation \d+\): max_requests)", log)
    in_progress = 0
    for event in events:
        in_progress += 1 if event.startswith("recycling") else -1
        assert in_progress <= 1, events


def test_watchdog_kills_a_blocked_worker_and_names_the_request(forkd):
    server = forkd(config={"workers": 1, "timeout": 1, "endpoints": {"fib_max_n": 60}})
    server.allow_errors(r"WORKER TIMEOUT|died after")
    [pid] = server.worker_pids()
    server.expect_death(pid)  # the watchdog's doing
    conn = server.connect()
    conn.send(b"GET /fib/55?mode=inline HTTP/1.1\r\nHost: t\r\n\r\n")  # minutes of CPU
    line = wait_log(server, r"WORKER TIMEOUT", timeout=10)
    log = server.log_text()
    assert re.search(r"WORKER TIMEOUT: worker 0 \(pid %d\) has not run its event loop for \d+\.\d s "
                     r"\(timeout 1 s\) while serving \"GET /fib/55\?mode=inline\"" % pid, log), log
    wait_log(server, r"worker 0 \(pid %d, active\) died after .*signal 6" % pid)
    server.wait_workers(1, without=[pid])
    server.assert_serves_hello()
    conn.close()
    assert line


def test_winch_stops_the_workers_and_hup_brings_them_back(forkd):
    server = forkd(config={"workers": 2})
    server.signal_master(signal.SIGWINCH)
    wait_for(lambda: server.worker_pids() == [], 10, "no workers")
    server.signal_master(signal.SIGHUP)
    server.wait_workers(2)
    wait_log(server, r"reload complete: generation 2")
    server.assert_serves_hello()


def test_usr1_reopens_the_error_log_after_a_rename(forkd, tmp_path):
    log_path = tmp_path / "error.log"
    server = forkd(config={"workers": 1, "log": {"error_log": str(log_path)}}, error_log=log_path)
    wait_for(lambda: log_path.exists() and "ready:" in log_path.read_text(), 5, "the error log")
    rotated = tmp_path / "error.log.1"
    log_path.rename(rotated)
    server.signal_master(signal.SIGUSR1)
    wait_for(lambda: log_path.exists() or None, 5, "a new error log")
    server.signal_master(signal.SIGTTIN)
    wait_for(lambda: "TTIN" in log_path.read_text() or None, 5, "the TTIN line in the new log")
    assert "TTIN" not in rotated.read_text()


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ")[-1].split()[0] != "Z"


def test_usr2_upgrade_hands_the_sockets_over_under_load(forkd, tmp_path):
    pidfile = tmp_path / "forkd.pid"
    server = forkd(config={"workers": 2, "pidfile": str(pidfile)})
    old_pid = server.pid
    assert int(pidfile.read_text()) == old_pid
    new_pid = None
    try:
        with Load(server.host, server.port) as load:
            load.wait_ok(30)
            server.signal_master(signal.SIGUSR2)
            wait_log(server, r"binary upgrade complete: taking over from master pid %d" % old_pid)
            assert server.wait_exit() == 0  # the old master retires by itself
            new_pid = int(pidfile.read_text())
            assert new_pid != old_pid and pid_alive(new_pid)
            assert not (tmp_path / "forkd.pid.oldbin").exists()
            load.wait_ok(30)
        print(f"load: {load.summary()}")
        assert load.failures == [] and load.retried == 0, load.summary()
        status, _, body = server.get("/hello")
        assert (status, body) == (200, b"hello")
    finally:
        if new_pid and pid_alive(new_pid):
            os.kill(new_pid, signal.SIGTERM)
            wait_for(lambda: not pid_alive(new_pid) or None, 10, "the new master to exit")
    assert server.log_text().count("master exiting (ok)") == 2, server.log_text()
    assert "exited: exit code 0" in server.log_text()
    server.check_log()


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_workers_drop_privileges_to_user_and_group(forkd):
    server = forkd(config={"workers": 1, "user": "nobody", "group": "nogroup"})
    [pid] = server.worker_pids()
    with open(f"/proc/{pid}/status") as f:
        ids = {line.split(":")[0]: line.split()[1:] for line in f if line.startswith(("Uid", "Gid"))}
    assert ids["Uid"] == ["65534"] * 4 and ids["Gid"] == ["65534"] * 4, ids
    assert os.stat(f"/proc/{server.pid}").st_uid == 0  # the master keeps root, to bind on reload
    server.assert_serves_hello()


def test_an_unknown_user_is_a_start_up_error(tmp_path):
    from conftest import run_forkd
    result = run_forkd("-b", "127.0.0.1:1", "-u", "no-such-user-here")
    assert result.returncode != 0
    assert "user 'no-such-user-here' does not exist" in result.stderr


@pytest.mark.parametrize("fmt", ["combined", "json"])
def test_access_log_lines_and_usr1_reopen(forkd, tmp_path, fmt):
    access = tmp_path / "access.log"
    server = forkd(config={"workers": 2, "log": {"access_log": str(access), "access_log_format": fmt}})
    for i in range(10):
        assert server.get(f"/hello?i={i}", headers={"User-Agent": 'probe "x"'})[0] == 200
    wait_for(lambda: access.exists() and access.read_text().count("\n") >= 10 or None, 5, "10 access lines")
    lines = access.read_text().splitlines()
    if fmt == "json":
        import json
        records = [json.loads(line) for line in lines]
        assert {r["target"] for r in records} == {f"/hello?i={i}" for i in range(10)}
        assert all(r["status"] == 200 and r["user_agent"] == 'probe "x"' for r in records)
    else:
        assert all(re.match(r'127\.0\.0\.1 - - \[[^\]]+\] "GET /hello\?i=\d HTTP/1\.1" 200 \d+ "-" '
                            r'"probe \\x22x\\x22" \d+\.\d{6}$', line) for line in lines), lines
    # logrotate: rename, USR1, and the next lines go to a new file
    access.rename(tmp_path / "access.log.1")
    server.signal_master(signal.SIGUSR1)
    wait_for(lambda: access.exists() or None, 5, "a new access log")
    assert server.get("/hello?after=rotate")[0] == 200
    wait_for(lambda: "after=rotate" in access.read_text() or None, 5, "the line in the new file")
    assert "after=rotate" not in (tmp_path / "access.log.1").read_text()


def test_a_crash_loop_stops_the_master_with_a_clear_error(tmp_path):
    """Workers that cannot boot (their access log cannot be opened) are
    restarted with backoff, then the master gives up with exit code 1."""
    from conftest import DEFAULT_CONFIG, FORKD_BIN, free_port, merge_config, render_config
    import subprocess
    (tmp_path / "a-file").write_text("")  # a path through a file can never be opened
    config = merge_config(DEFAULT_CONFIG, {"workers": 1, "bind": [f"127.0.0.1:{free_port()}"],
                                           "log": {"access_log": str(tmp_path / "a-file/access.log")}})
    (tmp_path / "forkd.toml").write_text(render_config(config))
    started = time.monotonic()
    result = subprocess.run([FORKD_BIN, "-c", str(tmp_path / "forkd.toml")], capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert "cannot open access_log" in result.stderr
    assert re.search(r"worker 0 exited 6 times in a row before it was ready \(last: exit code 3\); giving up", result.stderr)
    # backed off (0 + 0.1 + 0.2 + 0.4 + 0.8 s between the six boots), not spinning
    assert 1.0 < elapsed < 20, elapsed
    assert result.stderr.count("spawned worker 0") == 6


def test_a_reload_whose_workers_cannot_boot_keeps_the_old_generation(forkd, tmp_path):
    server = forkd(config={"workers": 2})
    pids = server.worker_pids()
    good = server.config_path.read_text()
    (tmp_path / "a-file").write_text("")
    bad = good.replace("[log]", f'[log]\naccess_log = "{tmp_path}/a-file/access.log"')
    assert bad != good
    server.config_path.write_text(bad)
    server.allow_errors(r"cannot open access_log|died after|reload failed|before it was ready")
    server.expect_boot_failures()
    with Load(server.host, server.port) as load:
        load.wait_ok(20)
        server.signal_master(signal.SIGHUP)
        wait_log(server, r"reload failed: worker \d exited 6 times in a row before it was ready", timeout=30)
        load.wait_ok(20)
    assert load.failures == [] and load.retried == 0, load.summary()
    assert server.worker_pids() == pids  # the old generation never stopped serving
    assert generation_of(server) == 1
    status, _, doc = server.get_json("/stats")  # the server's own figure, not the worker's
    assert status == 200 and doc["server"]["generation"] == 1, doc["server"]


def test_max_worker_rss_recycles_a_worker_past_the_limit(forkd):
    # Every worker is past 1 MiB: each is recycled (successor first), one at a time.
    server = forkd(config={"workers": 1, "max_worker_rss": 1})
    first = int(re.search(r"spawned worker 0 \(pid (\d+)", server.log_text()).group(1))
    wait_log(server, r"recycling worker 0 \(pid %d\): max_worker_rss exceeded" % first, timeout=10)
    wait_log(server, r"retiring worker 0 \(pid %d, generation 1\): max_worker_rss exceeded" % first, timeout=10)
    server.assert_serves_hello()
