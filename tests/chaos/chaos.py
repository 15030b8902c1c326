#!/usr/bin/python3
"""Chaos: forkd under client load while an operator misbehaves, for a bounded time.

Starts its own forkd (a config in a temporary folder, a free loopback port, a
pidfile), runs client threads against every endpoint (keep-alive connections
and a new connection per request) and meanwhile signals the server as an
operator would: kill -9 of a worker, HUP, TTIN, TTOU and USR2 (binary
upgrade). At the end it stops forkd with TERM and reports the requests sent,
answered and failed, each failure with its cause.

A failure is explained only by a worker this script killed with -9, and only
for a connection that worker held. Before each kill the worker is stopped
(SIGSTOP) and the script reads, from /proc, the client ports of every TCP
connection that worker has open; then it sends SIGKILL. A failed request on
a connection in that list, opened before the kill, is counted as
  "in flight on a killed worker"     sent before the worker was stopped, or
  "sent on a killed worker's idle keep-alive connection"   sent after.
Everything else is unexplained: a refused or reset connection, a timeout, a
5xx, a keep-alive connection closed under a request, an error line or an
unexpected worker death in forkd's log, a master that did not exit cleanly.
HUP, TTIN, TTOU and USR2 are promised to lose nothing, so their failures
are unexplained too.

Exit status: 0 when nothing is unexplained and every kind of operator action
ran at least once (a chaos run that did no chaos proves nothing), else 1.
Never signals anything it did not start: the masters it started (followed
through the pidfile across upgrades) and their children.
"""

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# Every route and mode, with arguments small enough that the load measures
# the server's supervision rather than its arithmetic.
PATHS = [
    "/hello", "/hello?mode=offload",
    "/sleep/20", "/sleep/20?mode=offload", "/sleep/2?mode=block",
    "/fib/15", "/fib/15?mode=inline",
    "/fibo_sleep/12", "/fibo_sleep/12?mode=async", "/fibo_sleep/12?mode=baseline",
    "/fibo_sleep/12?mode=offload",
    "/healthz", "/stats", "/metrics",
]
IN_FLIGHT = "in flight on a killed worker"
IDLE = "sent on a killed worker's idle keep-alive connection"
ACTIONS = ("kill -9", "HUP", "TTIN", "TTOU", "USR2")
MAX_WORKERS = 4
REQUEST_TIMEOUT_S = 10.0
UPGRADE_TIMEOUT_S = 30.0


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode("latin-1").rpartition(")")[2].split()
    except OSError:
        return None
    return fields[0], int(fields[1])


def alive(pid):
    stat = proc_stat(pid)
    return bool(stat) and stat[0] != "Z"


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = proc_stat(int(entry))
            if stat and stat[1] == pid and stat[0] != "Z":
                found.append(int(entry))
    return sorted(found)


def wait_stopped(pid, limit_s=2.0):
    """Wait (bounded) until /proc shows pid stopped (T) or gone."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return
        if state in ("T", "t", "Z", "X"):
            return
        time.sleep(0.001)


def client_ports_of(pid, server_port):
    """The client-side ports of the TCP connections that pid holds to server_port
    (its accepted sockets, found by inode in its own network namespace)."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(int(link[8:-1]))
    except OSError:
        return set()
    ports = set()
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if int(fields[9]) in inodes and local_port == server_port and remote_port:
                ports.add(remote_port)
    return ports


# ---------------------------------------------------------------- bookkeeping

class Tally:
    """What the clients saw; failures keep enough to be attributed later."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.answered = 0
        self.statuses = {}
        self.failures = []  # dicts: port, opened, sent_at, failed_at, path, what

    def add_sent(self):
        with self.lock:
            self.sent += 1

    def add_answer(self, status):
        with self.lock:
            self.answered += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1

    def add_failure(self, **failure):
        failure["failed_at"] = time.monotonic()
        failure["wall"] = time.time()
        with self.lock:
            self.failures.append(failure)


def read_response(sock, buf, deadline):
    """One response from sock: (status, headers dict, rest of buf). Raises
    ConnectionError on a close or reset before it is complete (the message
    says whether any byte of it came), TimeoutError past the deadline."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            lines = buf[:end].decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(buf) >= end + 4 + length:
                return status, headers, buf[end + 4 + length:]
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete response within {REQUEST_TIMEOUT_S} s")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            raise TimeoutError(f"no complete response within {REQUEST_TIMEOUT_S} s") from None
        except ConnectionResetError:
            raise ConnectionError("reset " + ("mid-response" if buf else "before any answer")) from None
        if not chunk:
            raise ConnectionError("closed " + ("mid-response" if buf else "before any answer"))
        buf += chunk


class Client(threading.Thread):
    """One client: a keep-alive connection reused until the server closes it,
    or a new connection (Connection: close) per request."""

    def __init__(self, host, port, keepalive, tally, stop, seed, pause_s):
        super().__init__(daemon=True)
        self.host, self.port, self.keepalive = host, port, keepalive
        self.tally, self.stop_event = tally, stop
        self.random = random.Random(seed)
        self.pause_s = pause_s

    def run(self):
        sock, buf, port, opened = None, b"", 0, 0.0
        while not self.stop_event.is_set():
            path = self.random.choice(PATHS)
            if sock is None:
                try:
                    sock = socket.create_connection((self.host, self.port), timeout=REQUEST_TIMEOUT_S)
                except OSError as e:
                    self.tally.add_sent()
                    self.tally.add_failure(port=0, opened=0.0, sent_at=time.monotonic(), path=path,
                                           what=f"connect: {type(e).__name__}: {e}")
                    time.sleep(self.pause_s)
                    continue
                buf, port, opened = b"", sock.getsockname()[1], time.monotonic()
            close = "" if self.keepalive else "Connection: close\r\n"
            request = f"GET {path} HTTP/1.1\r\nHost: chaos\r\n{close}\r\n".encode()
            sent_at = time.monotonic()
            self.tally.add_sent()
            try:
                sock.sendall(request)
                status, headers, buf = read_response(sock, buf, sent_at + REQUEST_TIMEOUT_S)
            except (OSError, ConnectionError, TimeoutError) as e:
                self.tally.add_failure(port=port, opened=opened, sent_at=sent_at, path=path,
                                       what=f"{type(e).__name__}: {e}")
                sock.close()
                sock = None
                time.sleep(self.pause_s)
                continue
            self.tally.add_answer(status)
            # /healthz says 503 while its worker drains: an answer, not a failure.
            if status >= 500 and not (path == "/healthz" and status == 503):
                self.tally.add_failure(port=port, opened=opened, sent_at=sent_at, path=path,
                                       what=f"status {status}")
            if not self.keepalive or headers.get("connection", "").lower() == "close":
                sock.close()
                sock = None
            time.sleep(self.pause_s)
        if sock is not None:
            sock.close()


# ---------------------------------------------------------------- the server

class Server:
    """The forkd this run started, followed across binary upgrades by its pidfile."""

    def __init__(self, binary, workdir, workers, threads):
        self.workdir = Path(workdir)
        self.pidfile = self.workdir / "forkd.pid"
        self.log_path = self.workdir / "forkd.out"
        self.workers = workers
        self.port = self.free_port()
        config = self.workdir / "forkd.toml"
        config.write_text(
            f'bind = ["127.0.0.1:{self.port}"]\nworkers = {workers}\nthreads = {threads}\n'
            f'graceful_timeout = 10\npidfile = "{self.pidfile}"\n'
            '[log]\nlevel = "info"\n[stats]\ninterval = 0\n')
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen([os.path.abspath(binary), "-c", str(config)], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir)
        self.master = self.proc.pid
        self.masters = [self.master]  # every master this run has seen, in order
        self.wait_for(lambda: "ready:" in self.log_text(), 20, "forkd to become ready")

    @staticmethod
    def free_port():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def log_text(self):
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def wait_for(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None and self.master == self.proc.pid:
                raise RuntimeError(f"forkd exited ({self.proc.returncode}) while waiting for {what}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.02)

    def pidfile_pid(self):
        try:
            return int(self.pidfile.read_text().strip() or 0)
        except (OSError, ValueError):
            return 0

    def workers_now(self):
        return children_of(self.master)

    def upgrade(self):
        """USR2, then wait until the new master owns the pidfile and the old one is gone."""
        old = self.master
        os.kill(old, signal.SIGUSR2)
        self.wait_for(lambda: self.pidfile_pid() not in (0, old) and alive(self.pidfile_pid()),
                      UPGRADE_TIMEOUT_S, "the new master to write the pidfile")
        self.master = self.pidfile_pid()
        self.masters.append(self.master)
        if old == self.proc.pid:
            self.wait_for(lambda: self.proc.poll() is not None, UPGRADE_TIMEOUT_S, "the old master to exit")
        else:
            self.wait_for(lambda: not alive(old), UPGRADE_TIMEOUT_S, "the old master to exit")

    def stop(self):
        """TERM the current master; wait for it and every worker to go. Returns
        a list of problems (an exit status other than 0, a process left over)."""
        problems = []
        left = set(self.workers_now())
        os.kill(self.master, signal.SIGTERM)
        deadline = time.monotonic() + 30
        if self.master == self.proc.pid:
            try:
                rc = self.proc.wait(30)
                if rc != 0:
                    problems.append(f"the master exited with status {rc}")
            except subprocess.TimeoutExpired:
                problems.append("the master did not exit within 30 s of TERM")
        while (alive(self.master) or any(alive(p) for p in left)) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in [self.master, *left]:
            if alive(pid):
                problems.append(f"process {pid} outlived TERM; killing it")
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return problems


# ---------------------------------------------------------------- the operator

class Operator:
    """Signals the server at random moments; one action at a time, each upgrade
    waited for, so that every pid signalled is a worker or the current master."""

    def __init__(self, server, seed, min_gap_s, max_gap_s):
        self.server = server
        self.random = random.Random(seed)
        self.min_gap_s, self.max_gap_s = min_gap_s, max_gap_s
        self.count = {a: 0 for a in ACTIONS}
        self.kills = []  # (stopped_at, pid, client ports it held)
        self.log = []  # (wall time, action, detail), to set beside forkd's log
        self.target = server.workers

    def act(self, action):
        server = self.server
        pid = 0
        if action == "kill -9":
            workers = server.workers_now()
            if not workers:
                return False
            pid = self.random.choice(workers)
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                return False  # it exited by itself meanwhile (a retired worker)
            # kill() returns before the worker has stopped: on the other
            # core it may still accept a connection. Read its ports only once
            # /proc says it is stopped.
            wait_stopped(pid)
            stopped_at = time.monotonic()
            ports = client_ports_of(pid, server.port)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it was exiting already when stopped; its connections went with it
            self.kills.append((stopped_at, pid, ports))
        elif action == "HUP":
            os.kill(server.master, signal.SIGHUP)
            self.target = server.workers  # a reload goes back to the file's `workers`
        elif action == "TTIN":
            if self.target >= MAX_WORKERS:
                return False
            os.kill(server.master, signal.SIGTTIN)
            self.target += 1
        elif action == "TTOU":
            if self.target <= 1:
                return False
            os.kill(server.master, signal.SIGTTOU)
            self.target -= 1
        elif action == "USR2":
            server.upgrade()
            self.target = server.workers
        self.count[action] += 1
        self.log.append((time.time(), action, f"pid {pid}" if action == "kill -9" else f"master {server.master}"))
        return True

    def run(self, until):
        # Each kind once first (in random order), so a short run covers them all.
        pending = list(ACTIONS)
        self.random.shuffle(pending)
        while time.monotonic() < until:
            time.sleep(self.random.uniform(self.min_gap_s, self.max_gap_s))
            action = pending.pop() if pending else self.random.choices(ACTIONS, (5, 4, 3, 3, 1))[0]
            if not self.act(action) and action in pending:
                pending.append(action)


# ---------------------------------------------------------------- the report

def attribute(failure, kills):
    """The failure's cause, when a killed worker explains it; else None."""
    for stopped_at, _pid, ports in kills:
        if failure["port"] in ports and failure["opened"] < stopped_at <= failure["failed_at"]:
            return IN_FLIGHT if failure["sent_at"] < stopped_at else IDLE
    return None


def unexpected_log_lines(text, killed_pids):
    """Error lines and deaths the operator did not cause."""
    bad = []
    for line in text.splitlines():
        if " died after " in line:
            if not any(f"(pid {pid}," in line and "signal 9" in line for pid in killed_pids):
                bad.append(line)
        elif any(mark in line for mark in ("[error]", "[critical]", "Sanitizer", "runtime error:")):
            bad.append(line)
    return bad


def wall_text(t):
    """A wall-clock time as forkd's log writes it (UTC, milliseconds)."""
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


def report(args, tally, operator, log_lines, problems):
    causes = {IN_FLIGHT: 0, IDLE: 0}
    unexplained = []
    for failure in tally.failures:
        cause = attribute(failure, operator.kills)
        if cause:
            causes[cause] += 1
        else:
            unexplained.append(failure)
    by_what = {}
    for failure in unexplained:
        by_what[failure["what"]] = by_what.get(failure["what"], 0) + 1
    # Words, not "N failed": tests/summary.py counts such phrases as test results.
    lines = [
        f"chaos: {args.seconds:g} s, {args.workers} workers, {args.clients} keep-alive + "
        f"{args.clients} new-connection clients",
        "operator actions: " + ", ".join(f"{operator.count[a]} {a}" for a in ACTIONS),
        f"requests sent {tally.sent}, answered {tally.answered}, failures {len(tally.failures)}",
        f"  {IN_FLIGHT}: {causes[IN_FLIGHT]}",
        f"  {IDLE}: {causes[IDLE]}",
        f"  unexplained: {len(unexplained)}",
    ]
    lines += [f"    {n} x {what}" for what, n in sorted(by_what.items(), key=lambda kv: -kv[1])]
    for failure in unexplained[:10]:
        before = [a for a in operator.log if a[0] <= failure["wall"]][-3:]
        lines.append(f"    at {wall_text(failure['wall'])}: {failure['what']} on GET {failure['path']} "
                     f"(client port {failure['port']}, sent {failure['failed_at'] - failure['sent_at']:.3f} s "
                     f"before); last actions: " + "; ".join(f"{wall_text(t)} {a} ({d})" for t, a, d in before))
    lines += [f"  status counts: {dict(sorted(tally.statuses.items()))}"]
    lines += [f"log: {line}" for line in log_lines[:20]]
    lines += [f"server: {p}" for p in problems]
    missing = [a for a in ACTIONS if operator.count[a] == 0]
    if missing:
        lines.append(f"actions never done: {', '.join(missing)} (run longer)")
    ok = not unexplained and not log_lines and not problems and not missing and tally.answered > 0
    lines.append("chaos: " + ("OK" if ok else "NOT OK"))
    print("\n".join(lines), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({
            "seconds": args.seconds, "actions": operator.count, "sent": tally.sent,
            "answered": tally.answered, "failures": len(tally.failures),
            "causes": causes, "unexplained": len(unexplained), "unexplained_by_what": by_what,
            "statuses": tally.statuses, "log_lines": log_lines, "server_problems": problems,
        }, indent=2))
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=str(Path(__file__).resolve().parents[2] / "build/src/forkd"))
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=3, help="of each kind")
    parser.add_argument("--pause", type=float, default=0.002, help="seconds between a client's requests")
    parser.add_argument("--gap", type=float, nargs=2, default=(0.3, 1.2), metavar=("MIN", "MAX"),
                        help="seconds between operator actions")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", help="also write the report here")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (config, log)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"chaos: seed {seed}, binary {args.binary}", flush=True)

    workdir = tempfile.mkdtemp(prefix="forkd-chaos.")
    server = Server(args.binary, workdir, args.workers, args.threads)
    tally, stop = Tally(), threading.Event()
    clients = [Client("127.0.0.1", server.port, keepalive, tally, stop, seed + i, args.pause)
               for i, keepalive in enumerate([True, False] * args.clients)]
    operator = Operator(server, seed, *args.gap)
    problems = []
    try:
        for c in clients:
            c.start()
        operator.run(time.monotonic() + args.seconds)
    except RuntimeError as e:
        problems.append(str(e))
    finally:
        stop.set()
        for c in clients:
            c.join(REQUEST_TIMEOUT_S + 5)
        problems += server.stop()
    killed = [pid for _, pid, _ in operator.kills]
    ok = report(args, tally, operator, unexpected_log_lines(server.log_text(), killed), problems)
    if args.keep or not ok:
        print(f"chaos: work folder kept: {workdir}")
    else:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
