"""Start and stop the servers under test: forkd and its peers.

Owns each server's command line (forkd, uvicorn, gunicorn with uvicorn
workers, nginx, h2o), its run directory (config, log, pid and temp paths), the
wait until it answers, stopping it, and reading its CPU time and memory from
/proc. Every server binds 127.0.0.1 only, on a port picked free a moment
before.

Stopping is by PID only: TERM to the process this module spawned, then KILL
to it and to each descendant recorded while it ran, each checked against its
start time so that a recycled pid is never signalled. Must not signal
anything else, and must not leave a process behind.
"""

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parents[1]
PEERS_DIR = BENCH_DIR / "peers"
PYTHON = "/usr/bin/python3"  # Debian's, where python3-fastapi and friends live
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 30.0
SINGLE_PROCESS = ("uvicorn", "h2o")  # kinds whose one process does all the serving
STOP_TIMEOUT_S = 15.0


class ServerError(RuntimeError):
    pass


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid, starttime, cpu ticks incl. reaped children, reaped children's
    ticks) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode("latin-1")
    except OSError:
        return None
    fields = text.rpartition(")")[2].split()  # comm may hold spaces and ')'
    # From state (field 3): ppid 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return fields[0], int(fields[1]), int(fields[19]), ticks, int(fields[13]) + int(fields[14])


def task_ns(pid):
    """Nanoseconds on CPU of pid's live threads (schedstat), or None if unreadable."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total


def rss_kib(pid):
    """Resident set size of one process in KiB (VmRSS), 0 if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(root):
    """{pid: starttime} of root's live descendants (children, grandchildren, ...)."""
    parent_of, start_of = {}, {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat and stat[0] != "Z":
                parent_of[int(entry)] = stat[1]
                start_of[int(entry)] = stat[2]
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parent_of.items():
            if ppid == parent and pid not in found:
                found[pid] = start_of[pid]
                frontier.append(pid)
    return found


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url, timeout=1.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


# ---------------------------------------------------------------- one server

class Server:
    """One running server: its label, port, pids, and how to stop it."""

    def __init__(self, label, kind, workers, port, argv, run_dir, cpus=None, ready_line=None,
                 ready_count=1, env=None, wrap=None):
        self.label, self.kind, self.workers = label, kind, workers
        self.cpus = cpus  # taskset CPU list, or None for unpinned
        self.run_dir = run_dir
        self.log_path = run_dir / "server.log"
        self.port = port
        self.ready_line, self.ready_count = ready_line, ready_count
        self.started = self.answered = self.stopped = False
        self.exit_status = None
        self.seen = {}  # descendant pid -> starttime, recorded while running
        if wrap:  # a tool that runs the server as the same process (valgrind)
            argv = list(wrap) + argv
        if cpus is not None:
            argv = ["taskset", "-c", cpus] + argv
        self.argv = argv
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         cwd=run_dir, start_new_session=True)
        self.pid = self.proc.pid

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.label} exited with {self.proc.returncode} while starting:\n"
                                  + self.log_text()[-2000:])
            lines_ok = (self.ready_line is None
                        or self.log_text().count(self.ready_line) >= self.ready_count)
            processes = 1 if self.kind in SINGLE_PROCESS else self.workers
            if lines_ok and len(self.worker_pids()) >= processes and http_ok(self.url("/healthz")):
                self.started = True
                self.remember()
                return self
            time.sleep(0.05)
        self.stop()
        raise ServerError(f"{self.label} did not answer within {START_TIMEOUT_S:.0f} s:\n"
                          + self.log_text()[-2000:])

    def remember(self):
        self.seen.update(descendants(self.pid))

    def worker_pids(self):
        """The processes that serve requests: the master's children (forkd, nginx,
        gunicorn), or the single process itself: uvicorn (its pool children are helpers)
        and h2o (its workers are threads; its child is a crash-report helper)."""
        if self.kind in SINGLE_PROCESS:
            return [self.pid]
        kids = []
        for pid in descendants(self.pid):
            stat = proc_stat(pid)
            if stat and stat[1] == self.pid:
                kids.append(pid)
        return sorted(kids)

    def cpu_seconds(self):
        """CPU time of the server and every live descendant, plus the reaped ones.

        Live threads are read from /proc/<pid>/task/<tid>/schedstat (nanoseconds):
        /proc/<pid>/stat counts in 10 ms ticks, too coarse for a one-second run.
        Reaped children come from cutime+cstime (ticks); a thread that exits
        during a run takes its time with it (the servers here keep theirs)."""
        self.remember()
        total = 0.0
        for pid in [self.pid] + list(descendants(self.pid)):
            stat = proc_stat(pid)
            if not stat:
                continue
            total += stat[4] / CLK_TCK
            threads = task_ns(pid)
            total += threads / 1e9 if threads is not None else (stat[3] - stat[4]) / CLK_TCK
        return total

    def worker_rss_kib(self):
        return [rss_kib(pid) for pid in self.worker_pids()]

    def stop(self):
        """TERM the server, wait, then KILL what is left of it by pid. True if all gone."""
        if self.proc.poll() is None:
            self.remember()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.exit_status = self.proc.returncode
        # Descendants the master did not take down with it (a pool child, a worker
        # stuck in a drain): by pid, each checked against its start time.
        leftover = self._wait_gone(self.seen)
        if leftover:
            for pid, start in leftover.items():
                if self._alive(pid, start):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            leftover = self._wait_gone(leftover)
        self.stopped = not leftover
        return self.stopped

    @classmethod
    def _wait_gone(cls, pids, timeout_s=5.0):
        """Wait until none of {pid: starttime} is alive; return those still alive."""
        deadline = time.monotonic() + timeout_s
        alive = {pid: start for pid, start in pids.items() if cls._alive(pid, start)}
        while alive and time.monotonic() < deadline:
            time.sleep(0.05)
            alive = {pid: start for pid, start in alive.items() if cls._alive(pid, start)}
        return alive

    @staticmethod
    def _alive(pid, start):
        stat = proc_stat(pid)
        return bool(stat) and stat[2] == start and stat[0] != "Z"


# ---------------------------------------------------------------- the kinds

def forkd(binary, run_dir, workers, threads=4, cpus=None, fib_max_n=50, label=None, wrap=None, busy_steering=True):
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    config = run_dir / "forkd.toml"
    config.write_text(
        f'bind = ["127.0.0.1:{port}"]\nworkers = {workers}\nthreads = {threads}\n'
        f'backlog = 4096\nworker_connections = 10000\n'
        f'busy_steering = {"true" if busy_steering else "false"}\n\n'
        f'[log]\nlevel = "info"\naccess_log = ""\n\n[stats]\ninterval = 0\n\n'
        f'[endpoints]\nfib_max_n = {fib_max_n}\nsleep_max_ms = 60000\n')
    return Server(label or f"forkd w{workers}", "forkd", workers, port,
                  [str(binary), "-c", str(config)], run_dir, cpus, ready_line="ready:", wrap=wrap)


def python_env():
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(PEERS_DIR))
    return env


def uvicorn(run_dir, cpus=None, label=None):
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = [PYTHON, "-m", "uvicorn", "app:app", "--app-dir", str(PEERS_DIR),
            "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
            "--http", "httptools", "--no-access-log", "--log-level", "info",
            "--backlog", "4096"]
    return Server(label or "uvicorn", "uvicorn", 1, port, argv, run_dir, cpus,
                  ready_line="Application startup complete", env=python_env())


def gunicorn(run_dir, workers, cpus=None, label=None):
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = [PYTHON, "-m", "gunicorn", "app:app", "-k", "quiet_worker.Worker",
            "-w", str(workers), "-b", f"127.0.0.1:{port}", "--chdir", str(PEERS_DIR),
            "--backlog", "4096", "--log-level", "info", "--worker-tmp-dir", str(run_dir)]
    return Server(label or f"gunicorn+uvicorn w{workers}", "gunicorn", workers, port, argv, run_dir,
                  cpus, ready_line="Application startup complete", ready_count=workers,
                  env=python_env())


def nginx(run_dir, workers, cpus=None, label=None, wrap=None):
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    template = (PEERS_DIR / "nginx.conf.in").read_text()
    conf = (template.replace("@WORKERS@", str(workers)).replace("@PORT@", str(port))
            .replace("@PREFIX@", str(run_dir)))
    (run_dir / "nginx.conf").write_text(conf)
    argv = ["nginx", "-p", str(run_dir), "-c", str(run_dir / "nginx.conf"),
            "-e", str(run_dir / "error.log"), "-g", "daemon off;"]
    return Server(label or f"nginx w{workers}", "nginx", workers, port, argv, run_dir, cpus, wrap=wrap)


def h2o(run_dir, workers, cpus=None, label=None, wrap=None):
    port = free_port()
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "hello.txt").write_text("hello")
    (run_dir / "ok.txt").write_text("ok")
    template = (PEERS_DIR / "h2o.conf.in").read_text()
    conf = (template.replace("@USER@", "user: root" if os.geteuid() == 0 else "")
            .replace("@THREADS@", str(workers)).replace("@PORT@", str(port))
            .replace("@PREFIX@", str(run_dir)))
    (run_dir / "h2o.conf").write_text(conf)
    return Server(label or f"h2o w{workers}", "h2o", workers, port,
                  ["h2o", "-c", str(run_dir / "h2o.conf")], run_dir, cpus,
                  ready_line=None, wrap=wrap)  # h2o says so in error.log; /healthz is enough


class Fleet:
    """The servers of one scenario: started together, stopped together, all recorded."""

    def __init__(self, ctx, scenario):
        self.ctx, self.scenario = ctx, scenario
        self.servers = []

    def start(self, kind, **kw):
        run_dir = self.ctx.out / "servers" / self.scenario / f"{kind}-{len(self.servers)}"
        if kind == "forkd":
            server = forkd(self.ctx.forkd_bin, run_dir, **kw)
        else:
            server = {"uvicorn": uvicorn, "gunicorn": gunicorn, "nginx": nginx,
                      "h2o": h2o}[kind](run_dir, **kw)
        self.servers.append(server)
        self.ctx.all_servers.append(server)
        server.wait_ready()
        return server

    def stop(self):
        for server in self.servers:
            server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
