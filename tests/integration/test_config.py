"""Configuration and command line, seen from outside (DESIGN.md, "Configuration").

Owns: --check-config prints the effective config as TOML and exits 0; a bad
config exits non-zero naming file:line and the key, and starts nothing; flags
override the file; several bind addresses; pidfile, --error-log, --version,
--help; a port already taken is a clear start-up error.
IPv6 binds are in test_ipv6.py (so that meson shows them as skipped on a host
without ::1).
"""

import os
import re
import socket
import tomllib

import pytest

from conftest import SOURCE_ROOT, free_port, render_config, run_forkd, wait_for

DEFAULT_CONF = SOURCE_ROOT / "conf" / "forkd.toml"

# Every key DESIGN.md names, by table ("" is the top level).
DESIGN_KEYS = {
    "": {"bind", "workers", "threads", "offload_queue", "reuse_port", "backlog",
         "worker_connections", "max_requests", "max_requests_jitter", "max_worker_rss",
         "recycle_concurrency", "timeout", "graceful_timeout", "keepalive", "header_timeout",
         "send_timeout",
         "limit_request_line", "limit_request_fields", "limit_request_field_size",
         "max_body_size", "pidfile", "user", "group", "umask"},
    "log": {"level", "error_log", "access_log", "access_log_format"},
    "stats": {"interval", "allow", "bind"},
    "endpoints": {"fib_max_n", "sleep_max_ms", "hello_mode", "sleep_mode", "fib_mode",
                  "fibo_sleep_mode"},
}


def check_config(*args):
    result = run_forkd("--check-config", *args)
    assert result.returncode == 0, result.stderr
    return tomllib.loads(result.stdout)


def assert_has_design_keys(effective):
    for table, keys in DESIGN_KEYS.items():
        section = effective[table] if table else effective
        missing = keys - set(section)
        assert not missing, f"[{table or 'top level'}] lacks {sorted(missing)}"


def test_check_config_prints_the_shipped_config():
    assert DEFAULT_CONF.exists(), f"{DEFAULT_CONF} is missing"
    effective = check_config("-c", DEFAULT_CONF)
    assert_has_design_keys(effective)
    shipped = tomllib.loads(DEFAULT_CONF.read_text())
    for key in ("workers", "threads", "timeout", "graceful_timeout", "keepalive"):
        if key in shipped:
            assert effective[key] == shipped[key], key
    if "bind" in shipped:
        bind = shipped["bind"]
        assert effective["bind"] == ([bind] if isinstance(bind, str) else bind)


def test_shipped_config_mentions_every_key():
    text = DEFAULT_CONF.read_text()
    for table, keys in DESIGN_KEYS.items():
        if table:
            assert re.search(rf"^#?\s*\[{table}\]", text, re.M), f"no [{table}] in {DEFAULT_CONF}"
        for key in keys:
            assert re.search(rf"^#?\s*{key}\s*=", text, re.M), f"{key} is not in {DEFAULT_CONF}"


def test_check_config_without_a_file_prints_the_defaults():
    effective = check_config()
    assert_has_design_keys(effective)
    assert effective["bind"] == ["127.0.0.1:8000"]
    assert effective["workers"] == 0 and effective["threads"] == 4
    assert effective["endpoints"]["fib_max_n"] == 40
    assert effective["endpoints"]["sleep_max_ms"] == 60000
    assert effective["endpoints"]["fib_mode"] == "offload"
    assert effective["endpoints"]["sleep_mode"] == "timer"


def test_flags_override_the_file(tmp_path):
    config = tmp_path / "forkd.toml"
    config.write_text(render_config({"bind": "127.0.0.1:7000", "workers": 2, "threads": 3,
                                     "timeout": 5, "keepalive": 2, "log": {"level": "info"}}))
    effective = check_config("-c", config, "-b", "127.0.0.1:9999", "-b", "[::1]:9998",
                             "-w", "3", "--threads", "0", "-t", "7", "--graceful-timeout", "9",
                             "--keepalive", "11", "--max-requests", "100",
                             "--log-level", "debug", "-p", tmp_path / "x.pid")
    assert effective["bind"] == ["127.0.0.1:9999", "[::1]:9998"]
    assert (effective["workers"], effective["threads"]) == (3, 0)
    assert (effective["timeout"], effective["graceful_timeout"], effective["keepalive"]) == \
        (7, 9, 11)
    assert effective["max_requests"] == 100
    assert effective["log"]["level"] == "debug"
    assert effective["pidfile"] == str(tmp_path / "x.pid")


def test_single_bind_string_and_integer_or_float_durations(tmp_path):
    config = tmp_path / "forkd.toml"
    config.write_text('bind = "127.0.0.1:7001"\ntimeout = 3\ngraceful_timeout = 2.5\n'
                      '[endpoints]\nfib_max_n = 30\nfib_mode = "inline"\n')
    effective = check_config("-c", config)
    assert effective["bind"] == ["127.0.0.1:7001"]
    assert (effective["timeout"], effective["graceful_timeout"]) == (3, 2.5)
    assert effective["endpoints"]["fib_max_n"] == 30
    assert effective["endpoints"]["fib_mode"] == "inline"


# (file text, line of the error, key named in the message)
BAD_CONFIGS = {
    "unknown-key": ("workers = 1\nwrokers = 2\n", 2, "wrokers"),
    "wrong-type": ('# a comment\n\nworkers = "four"\n', 3, "workers"),
    "out-of-range": ("threads = 2\nworkers = -1\n", 2, "workers"),
    "unknown-key-in-table": ("[endpoints]\nfib_max = 3\n", 2, "fib_max"),
    "unknown-table": ("workers = 1\n[nosuch]\nx = 1\n", 2, "nosuch"),
    "unknown-mode": ('[endpoints]\nfib_mode = "timer"\n', 2, "fib_mode"),
    "bad-bind": ('bind = ["127.0.0.1:notaport"]\n', 1, "bind"),
    "bool-for-duration": ("timeout = true\n", 1, "timeout"),
    "bad-log-level": ('[log]\nlevel = "loud"\n', 2, "level"),
}


def assert_names_file_line_key(stderr, path, line, key):
    # "<file>:<line>: key '<key>': ..." or "<file>:<line>: unknown key '<table>.<key>'"
    pattern = rf"{re.escape(str(path))}:{line}: .*'([\w.]*\.)?{re.escape(key)}'"
    assert re.search(pattern, stderr), f"expected {pattern!r} in stderr:\n{stderr}"


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_check_config_rejects_a_bad_config(tmp_path, name):
    text, line, key = BAD_CONFIGS[name]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = run_forkd("--check-config", "-c", config)
    assert result.returncode != 0, result.stdout
    assert_names_file_line_key(result.stderr, config, line, key)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("workers = 1\nthreads = = 2\n")
    result = run_forkd("--check-config", "-c", config)
    assert result.returncode != 0
    assert f"{config}:2" in result.stderr, result.stderr


@pytest.mark.parametrize("name", ["unknown-key", "wrong-type", "unknown-mode"])
def test_a_bad_config_starts_nothing(tmp_path, name):
    text, line, key = BAD_CONFIGS[name]
    port = free_port()
    config = tmp_path / "bad.toml"
    # A first line binds a free port, so the error moves one line down.
    config.write_text(f'bind = ["127.0.0.1:{port}"]\n' + text)
    result = run_forkd("-c", config)
    assert result.returncode != 0
    assert_names_file_line_key(result.stderr, config, line + 1, key)
    assert "ready:" not in result.stderr + result.stdout
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_missing_config_file_is_an_error(tmp_path):
    result = run_forkd("--check-config", "-c", tmp_path / "nope.toml")
    assert result.returncode != 0
    assert "nope.toml" in result.stderr


def test_unknown_flag_is_an_error():
    result = run_forkd("--no-such-flag")
    assert result.returncode != 0
    assert "no-such-flag" in result.stderr + result.stdout


def test_version_and_help():
    version = re.search(r"version\s*:\s*'([^']+)'", (SOURCE_ROOT / "meson.build").read_text())
    result = run_forkd("--version")
    assert result.returncode == 0, result.stderr
    assert version and version.group(1) in result.stdout
    result = run_forkd("--help")
    assert result.returncode == 0, result.stderr
    for flag in ("--check-config", "--bind", "--workers", "--threads"):
        assert flag in result.stdout, flag


# ---------------------------------------------------------------- running with them

def test_bind_flag_overrides_the_file(forkd):
    file_port, flag_port = free_port(), free_port()
    server = forkd(bind=[f"127.0.0.1:{flag_port}"], file_bind=[f"127.0.0.1:{file_port}"],
                   args=["-b", f"127.0.0.1:{flag_port}"])
    server.assert_serves_hello()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", file_port), timeout=2).close()


def test_two_bind_addresses(forkd):
    ports = [free_port(), free_port()]
    server = forkd(bind=[f"127.0.0.1:{p}" for p in ports], config={"workers": 2})
    for port in ports:
        status, _, body = server.get("/hello", port=port)
        assert (status, body) == (200, b"hello")
        status, _, body = server.get("/fib/10", port=port)
        assert status == 200


def test_workers_zero_means_one_per_core(forkd):
    server = forkd(config={"workers": 0}, ready_timeout=30)
    server.wait_workers(os.cpu_count(), timeout=30)


def test_pidfile_holds_the_master_pid(forkd, tmp_path):
    pidfile = tmp_path / "forkd.pid"
    server = forkd(args=["-p", pidfile])
    assert int(pidfile.read_text().strip()) == server.pid
    server.stop()
    assert not pidfile.exists(), "the pidfile outlived the master"


def test_error_log_flag_writes_the_log_to_a_file(forkd, tmp_path):
    error_log = tmp_path / "error.log"
    server = forkd(args=["--error-log", error_log], error_log=error_log)
    wait_for(lambda: "ready:" in error_log.read_text(), 5, "the ready line in the error log")
    assert "ready:" not in server.log_path.read_text(), "the log still went to stderr"


def test_taken_port_is_a_clear_start_up_error(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = tmp_path / "forkd.toml"
        config.write_text(render_config({"bind": [f"127.0.0.1:{port}"], "workers": 1}))
        result = run_forkd("-c", config)
    assert result.returncode != 0
    assert str(port) in result.stderr, result.stderr
    assert "ready:" not in result.stderr
