"""Integration-test harness for forkd: the TestServer fixture and raw HTTP helpers.

Owns how a test starts the real binary (a config file in the test's tmp_path,
a free loopback port, stdout and stderr to a log file, a bounded wait for the
master's "ready:" line), how it talks to it (http.client for ordinary
requests; rawhttp.py for exact bytes and requests in flight together) and how
it stops it (TERM, then KILL after a bound, asserting the exit status and a
clean error log).

Must not signal anything it did not start: only the master it spawned and the
workers that /proc lists as that master's children. Uses loopback addresses
only. Every wait has a deadline; nothing sleeps blindly where a condition can
be polled instead.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from rawhttp import REQUEST_TIMEOUT_S, RawConnection

SOURCE_ROOT = Path(os.environ.get("FORKD_SOURCE_ROOT",
                                  Path(__file__).resolve().parents[2]))


def default_binary():
    """meson passes FORKD_BIN; by hand, the usual build directory's binary."""
    candidates = [SOURCE_ROOT / "build" / "forkd", SOURCE_ROOT / "build" / "src" / "forkd"]
    return str(next((c for c in candidates if c.exists()), candidates[0]))


FORKD_BIN = os.environ.get("FORKD_BIN") or default_binary()

READY_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0

# Lines that fail a test unless it said it expects them: spdlog's error and
# critical levels, and whatever a sanitizer build prints.
BAD_LOG_LINE = re.compile(
    r"\[(error|critical)\]|AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error:"
    r"|Assertion .* failed")

# The master's line for a worker that died unexpectedly: "worker 0 (pid N,
# active) died after 1.2 s: signal 9 (Killed); restarting". A test fails on
# any such line for a worker it did not kill itself (kill_worker) or say it
# expects to die (expect_death), whatever errors it allows: as nginx's tests
# fail on any alert, a worker that a client could kill is always a bug.
DIED_LINE = re.compile(r"\(pid (\d+), \w+\) died after ")

# Every server the tests start gets these unless the test overrides them:
# one worker with offload threads, no periodic stats line, a short graceful
# timeout so that a stuck drain fails fast.
DEFAULT_CONFIG = {
    "workers": 1,
    "threads": 2,
    "timeout": 30,
    "graceful_timeout": 5,
    "log": {"level": "info"},
    "stats": {"interval": 0},
}


# ---------------------------------------------------------------- helpers

def wait_for(predicate, timeout, what, interval=0.02):
    """Poll predicate() until it returns something truthy; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.1f} s waiting for {what}")
        time.sleep(interval)


def free_port(host="127.0.0.1"):
    """A port that was free a moment ago (bind port 0, close). Callers that
    start forkd on it retry on EADDRINUSE, the only race this leaves."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def ipv6_loopback_available():
    """'' if ::1 can be bound, else the reason it cannot."""
    if not socket.has_ipv6:
        return "Python was built without IPv6"
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
    except OSError as e:
        return f"cannot bind [::1]: {e}"
    return ""


def toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string for our values
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def render_config(config):
    """A TOML document from a dict: scalars first, then one table per dict value."""
    lines = [f"{k} = {toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for table, values in config.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def merge_config(base, override):
    merged = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(merged.get(k), dict):
            merged[k].update(v)
        else:
            merged[k] = v
    return merged


def split_host_port(bind):
    """'127.0.0.1:8000' -> ('127.0.0.1', 8000); '[::1]:8000' -> ('::1', 8000)."""
    host, _, port = bind.rpartition(":")
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid, starttime) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("latin-1")
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text.rpartition(")")[2].split()  # the comm field may hold spaces
    # After the comm: state(3) ppid(4) ... starttime(22), counted from 1.
    return fields[0], int(fields[1]), int(fields[19])


def children_of(master_pid):
    """{pid: starttime} of the live (non-zombie) children of master_pid."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        stat = proc_stat(int(entry))
        if stat and stat[1] == master_pid and stat[0] != "Z":
            found[int(entry)] = stat[2]
    return found


def same_process_alive(pid, starttime):
    """True while pid is still the live process first seen with starttime."""
    stat = proc_stat(pid)
    return bool(stat) and stat[0] != "Z" and stat[2] == starttime


def calibrate_fib(server, target_s=0.3, n_max=50):
    """The smallest n whose offloaded F(n) takes >= target_s on this host, and
    its time (needs threads > 0 and fib_max_n >= n_max)."""
    for n in range(28, n_max + 1):
        started = time.monotonic()
        status, _, body = server.get(f"/fib/{n}?mode=offload", timeout=60)
        elapsed = time.monotonic() - started
        assert status == 200, body
        if elapsed >= target_s:
            return n, elapsed
    pytest.fail(f"F({n_max}) took only {elapsed:.3f} s: cannot calibrate")


# ---------------------------------------------------------------- the server

class TestServer:
    """One forkd master started from a config file written for the test."""

    __test__ = False  # a helper, not a test class

    def __init__(self, workdir, config=None, args=(), bind=None, file_bind=None,
                 error_log=None, ready_timeout=READY_TIMEOUT_S):
        self.workdir = Path(workdir)
        self.config = merge_config(DEFAULT_CONFIG, config)
        self.args = [str(a) for a in args]
        self.fixed_binds = bind  # where clients connect; None: a free 127.0.0.1 port
        self.file_bind = file_bind  # what the file says, when flags override it
        self.binds = []
        self.config_path = self.workdir / "forkd.toml"
        self.log_path = self.workdir / "forkd.out"
        self.error_log = Path(error_log) if error_log else None
        self.ready_timeout = ready_timeout
        self.proc = None
        self.returncode = None
        self.allowed_errors = []
        self.expected_deaths = set()  # pids the test killed or expects to die
        self.boot_failures_expected = False
        self.seen_workers = {}  # pid -> starttime, every worker this test saw

    # -- lifecycle

    def start(self):
        if not os.access(FORKD_BIN, os.X_OK):
            pytest.fail(f"forkd binary not found or not executable: {FORKD_BIN} "
                        f"(set FORKD_BIN)")
        for attempt in range(3):
            self.binds = list(self.fixed_binds or [f"127.0.0.1:{free_port()}"])
            self.config["bind"] = self.file_bind or self.binds
            self.config_path.write_text(render_config(self.config))
            outcome = self._spawn_and_wait()
            if outcome == "ready":
                return self
            # Another process took the port between free_port() and bind():
            # the one race free_port() leaves, so try another port.
            if outcome == "in use" and self.fixed_binds is None and attempt < 2:
                continue
            pytest.fail(f"forkd did not become ready ({outcome}); log:\n{self.log_text()}")

    def _spawn_and_wait(self):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([FORKD_BIN, "-c", str(self.config_path), *self.args],
                                         stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, cwd=self.workdir)
        self.returncode = None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if "ready:" in self.log_text():
                self.remember_workers()
                return "ready"
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                if "in use" in self.log_text().lower():
                    return "in use"
                return f"exited with status {self.proc.returncode} before ready"
            time.sleep(0.02)
        self.kill_now()
        return f"no 'ready:' line within {self.ready_timeout} s"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def signal_master(self, sig):
        """Signal the master (the process this test spawned)."""
        assert self.running, "the master is not running"
        os.kill(self.pid, sig)

    def wait_exit(self, timeout=STOP_TIMEOUT_S):
        """Wait for the master to exit by itself; return its status."""
        try:
            self.returncode = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_now()
            pytest.fail(f"the master did not exit within {timeout} s; log:\n{self.log_text()}")
        return self.returncode

    def stop(self, sig=signal.SIGTERM, expect_rc=(0,), timeout=STOP_TIMEOUT_S,
             check_log=True):
        """Signal the master, wait (bounded) for it to exit, check that its
        workers went with it, its exit status and its log. Returns the status."""
        if self.running:
            self.remember_workers()
            os.kill(self.pid, sig)
        rc = self.wait_exit(timeout)
        wait_for(lambda: not any(same_process_alive(p, t) for p, t in self.seen_workers.items()),
                 5, "the workers to exit with their master")
        if expect_rc is not None:
            assert rc in expect_rc, (f"forkd exited with status {rc}, expected one of "
                                     f"{expect_rc}; log:\n{self.log_text()}")
        if check_log:
            self.check_log()
        return rc

    def kill_now(self):
        """Last-resort cleanup: KILL the master, then any worker of it that
        outlived it (identified by pid and start time, never by name)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.remember_workers()
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        for pid, starttime in self.seen_workers.items():
            if same_process_alive(pid, starttime):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.returncode = self.proc.returncode

    # -- the log

    def log_text(self):
        parts = []
        for path in (self.log_path, self.error_log):
            if path and path.exists():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
        return "".join(parts)

    def allow_errors(self, pattern):
        """Error lines matching this regex are expected by the test."""
        self.allowed_errors.append(re.compile(pattern))

    def expect_death(self, pid):
        """The worker pid is meant to die (the test kills it, or the watchdog will)."""
        self.expected_deaths.add(int(pid))

    def expect_boot_failures(self):
        """Workers that die before they are ready are what the test is about."""
        self.boot_failures_expected = True

    def bad_line(self, line):
        """A death line is judged by who died, any other line by its level."""
        if match := DIED_LINE.search(line):
            if int(match.group(1)) in self.expected_deaths:
                return False
            return not (self.boot_failures_expected and "(before it was ready)" in line)
        return bool(BAD_LOG_LINE.search(line)) and not any(p.search(line) for p in self.allowed_errors)

    def bad_log_lines(self):
        return [line for line in self.log_text().splitlines() if self.bad_line(line)]

    def check_log(self):
        bad = self.bad_log_lines()
        if bad:
            pytest.fail("unexpected error lines in forkd's log:\n" + "\n".join(bad))

    # -- workers

    def worker_pids(self):
        """Pids of the master's live children, sorted."""
        return sorted(self.remember_workers())

    def kill_worker(self, pid, sig):
        """Signal one worker: only a live child of this test's master."""
        assert pid in self.worker_pids(), f"{pid} is no worker of master {self.pid}"
        self.expect_death(pid)
        os.kill(pid, sig)

    def remember_workers(self):
        children = children_of(self.pid) if self.running else {}
        self.seen_workers.update(children)
        return children

    def wait_workers(self, count, timeout=10.0, without=()):
        """Wait until the master has exactly `count` children, none in `without`."""
        def settled():
            pids = self.worker_pids()
            return pids if len(pids) == count and not set(pids) & set(without) else None
        return wait_for(settled, timeout, f"{count} workers (without {sorted(without)})")

    # -- clients

    @property
    def host(self):
        return split_host_port(self.binds[0])[0]

    @property
    def port(self):
        return split_host_port(self.binds[0])[1]

    def url(self, path="/", bind_index=0):
        host, port = split_host_port(self.binds[bind_index])
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{path}"

    def get(self, path, method="GET", headers=None, body=None, timeout=REQUEST_TIMEOUT_S,
            host=None, port=None):
        """One request on a new connection: (status, headers, body bytes)."""
        conn = http.client.HTTPConnection(host or self.host, port or self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def get_json(self, path, **kwargs):
        status, headers, body = self.get(path, **kwargs)
        assert headers.get("Content-Type", "").startswith("application/json"), headers
        return status, headers, json.loads(body)

    def served_by(self):
        """Which worker answers a new connection: /stats' served_by object."""
        status, _, stats = self.get_json("/stats")
        assert status == 200, stats
        return stats["served_by"]

    def connect(self, timeout=REQUEST_TIMEOUT_S):
        return RawConnection(self.host, self.port, timeout)

    def raw(self, data, timeout=5.0):
        """Send exact bytes on a new connection; return all that comes back
        until the server closes (or the timeout passes)."""
        with self.connect() as conn:
            try:
                conn.send(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading everything
            return conn.read_until_close(timeout)

    def assert_serves_hello(self):
        status, _, body = self.get("/hello")
        assert (status, body) == (200, b"hello")


class ServerSet:
    """The servers one test (or module) started; stops them all at the end."""

    def __init__(self, base_dir):
        self.base_dir = Path(base_dir)
        self.servers = []

    def start(self, **kwargs):
        workdir = self.base_dir / f"server{len(self.servers)}"
        workdir.mkdir(parents=True, exist_ok=True)
        server = TestServer(workdir, **kwargs)
        self.servers.append(server)
        return server.start()

    def close(self):
        problems = []
        for server in self.servers:
            try:
                if server.running:
                    server.stop()
            except BaseException as e:  # pytest.fail raises an OutcomeException
                problems.append(f"{server.log_path.parent.name}: {e}")
            finally:
                server.kill_now()
        if problems:
            pytest.fail("stopping forkd failed:\n" + "\n".join(problems))


@pytest.fixture
def forkd(tmp_path):
    """start = forkd; server = start(config={...}, args=[...]): a running TestServer,
    stopped with TERM (exit 0, clean log) when the test ends."""
    servers = ServerSet(tmp_path)
    yield servers.start
    servers.close()


@pytest.fixture(scope="module")
def module_forkd(tmp_path_factory):
    """Like forkd, shared by a module's tests (one server start for many tests)."""
    servers = ServerSet(tmp_path_factory.mktemp("forkd"))
    yield servers.start
    servers.close()


def run_forkd(*args, timeout=15.0, cwd=None):
    """Run the binary to completion (for --check-config, --version, bad configs)."""
    return subprocess.run([FORKD_BIN, *[str(a) for a in args]], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd, stdin=subprocess.DEVNULL)


# ---------------------------------------------------------------- reporting

# meson counts exit status 77 as SKIP. When meson runs us (it sets
# FORKD_SKIP_EXIT_CODE), a file whose tests passed but some were skipped
# reports SKIP instead of OK, so a skipped test is never counted as passed.
_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    code = os.environ.get("FORKD_SKIP_EXIT_CODE")
    if code and _skipped and exitstatus == 0:
        session.exitstatus = int(code)
