"""Load generators: wrk, ab and the seeds' Python clients, one result shape for all.

Owns how each client is run (command line, CPU pinning with taskset), how
its output is parsed, and the result every scenario records:
requests, errors, duration_s, rps, mean/p50/p95/p99 in ms, and the server's
CPU seconds spent during the run (so req/s per server CPU-second).
Also holds thousands of idle keep-alive connections for the memory goal
(IdleConnections, in this process: it raises its own soft file limit).
Must not: start or stop servers (servers.py does), or judge results
(report.py does). A client that fails to run raises ClientError; a request
that fails is counted in `errors`, never dropped.
"""

import errno
import json
import re
import resource
import selectors
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

LIB_DIR = Path(__file__).resolve().parent
LUA_DIR = LIB_DIR.parent / "lua"
PYTHON = "/usr/bin/python3"


class ClientError(RuntimeError):
    pass


def pinned(argv, cpus):
    return (["taskset", "-c", cpus] + argv) if cpus is not None else argv


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (0 if empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), round(p / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def summarize(requests, errors, duration_s, latencies_ms):
    lat = sorted(latencies_ms)
    return {
        "requests": requests, "errors": errors, "duration_s": duration_s,
        "rps": requests / duration_s if duration_s > 0 else 0.0,
        "mean_ms": sum(lat) / len(lat) if lat else 0.0,
        "p50_ms": percentile(lat, 50), "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
    }


def execute(argv, timeout_s):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise ClientError(f"{argv[0]} ran past {timeout_s:.0f} s: {' '.join(argv)}") from e
    if done.returncode != 0:
        raise ClientError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-1500:]}")
    return done.stdout


# ---------------------------------------------------------------- wrk

def wrk(url, connections, duration_s, threads=1, pipeline=0, cpus=None, scratch=None):
    """wrk for duration_s with keep-alive connections; pipeline > 0 sends that many
    requests per write. Latency percentiles come from report.lua's done() hook."""
    script = (LUA_DIR / "report.lua").read_text()
    if pipeline:
        script = (LUA_DIR / "pipeline.lua").read_text() + "\n" + script
    script_path = Path(scratch) / f"wrk-{pipeline}.lua"
    script_path.write_text(script)
    threads = max(1, min(threads, connections))
    argv = pinned(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration_s}s",
                   "--timeout", "10s", "-s", str(script_path), url], cpus)
    if pipeline:
        argv += ["--", str(pipeline)]
    out = execute(argv, duration_s + 30)
    m = re.search(r"^BENCH_JSON (\{.*\})$", out, re.M)
    if not m:
        raise ClientError(f"wrk printed no summary:\n{out[-1500:]}")
    s = json.loads(m.group(1))
    duration = s["duration_us"] / 1e6
    errors = s["connect"] + s["read"] + s["write"] + s["status"] + s["timeout"]
    result = {
        "client": f"wrk -c{connections}" + (f" pipelined x{pipeline}" if pipeline else ""),
        "requests": s["requests"], "errors": errors, "duration_s": duration,
        "rps": s["requests"] / duration if duration else 0.0,
        "mean_ms": s["mean_us"] / 1000, "p50_ms": s["p50_us"] / 1000 or None,
        "p95_ms": s["p95_us"] / 1000 or None, "p99_ms": s["p99_us"] / 1000 or None,
    }
    if pipeline:
        # wrk times a whole batch, and its coordinated-omission correction (which
        # assumes one request per round trip) adds synthetic samples 1/depth of a
        # batch apart: no per-request latency survives. Report req/s only.
        for key in ("mean_ms", "p50_ms", "p95_ms", "p99_ms"):
            result[key] = None
    return result


# ---------------------------------------------------------------- ab

def ab(url, requests, concurrency, csv_path, time_limit_s=None, cpus=None):
    """ApacheBench, a new connection per request as in the seeds; -e writes the
    percentile CSV the seed 000 graphs are drawn from. time_limit_s caps a slow run
    (ab stops at whichever of -n and -t comes first)."""
    concurrency = min(concurrency, requests)  # ab refuses -c > -n
    argv = ["ab", "-q", "-S", "-d", "-r", "-l", "-s", "60"]
    if time_limit_s:
        argv += ["-t", str(time_limit_s)]
    argv += ["-n", str(requests), "-c", str(concurrency), "-e", str(csv_path), url]
    out = execute(pinned(argv, cpus), (time_limit_s or 600) + 60)

    def number(label, default=None):
        m = re.search(rf"^{label}:\s+([\d.]+)", out, re.M)
        if not m:
            if default is not None:
                return default
            raise ClientError(f"ab printed no '{label}':\n{out[-1500:]}")
        return float(m.group(1))

    done = int(number("Complete requests"))
    errors = int(number("Failed requests", 0)) + int(number("Non-2xx responses", 0))
    table = read_ab_csv(csv_path)
    return {
        "client": f"ab -c{concurrency}",
        "requests": done, "errors": errors, "duration_s": number("Time taken for tests"),
        "rps": number("Requests per second"),
        "mean_ms": number(r"Time per request", 0) if done else 0.0,
        "p50_ms": table.get(50, 0.0), "p95_ms": table.get(95, 0.0), "p99_ms": table.get(99, 0.0),
        "csv": str(csv_path),
    }


def read_ab_csv(path):
    """{percent: ms} from `ab -e`'s 'Percentage served,Time in ms' table."""
    table = {}
    try:
        lines = Path(path).read_text().splitlines()[1:]
    except OSError:
        return table
    for line in lines:
        pct, _, ms = line.partition(",")
        try:
            table[int(float(pct))] = float(ms)
        except ValueError:
            continue
    return table


# ---------------------------------------------------------------- the seeds' Python clients

def python_client(mode, url, requests, limit=0, cpus=None, timeout_s=600):
    """Run pyclient.py MODE (sequential | pool | async | timeline) in its own process."""
    argv = pinned([PYTHON, str(LIB_DIR / "pyclient.py"), mode, url, str(requests), str(limit)],
                  cpus)
    raw = json.loads(execute(argv, timeout_s))
    result = summarize(raw["requests"], raw["errors"], raw["duration_s"], raw["latencies_ms"])
    label = {"sequential": "sequential", "pool": "thread pool", "async": "asyncio",
             "timeline": "timeline"}[mode]
    result["client"] = f"python {label}" + (f" x{limit}" if limit else "")
    if "spans_s" in raw:
        result["spans_s"] = raw["spans_s"]
    return result


def server_times(url, count, timeout_s=30):
    """Send count requests one after another (a new connection each) and return the
    server's own time for each, in seconds, from its X-Process-Time header."""
    times = []
    for _ in range(count):
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            r.read()
            header = r.headers.get("X-Process-Time")
        if header is None:
            raise ClientError(f"{url} answered without X-Process-Time")
        times.append(float(header))
    return times


# ---------------------------------------------------------------- idle connections

def raise_fd_limit(needed):
    """Raise this process's soft RLIMIT_NOFILE to its hard limit if needed is above
    the soft one. Returns None if needed fits now, else why it cannot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if needed <= soft:
        return None
    if hard != resource.RLIM_INFINITY and needed > hard:
        return f"needs {needed} file descriptors, the hard limit (ulimit -Hn) is {hard}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return None


class IdleConnections:
    """count keep-alive connections to 127.0.0.1:port held open by this process: each
    sends one GET path, reads the whole answer, then stays idle until close().
    Non-blocking sockets on one selector, at most `window` handshakes or answers
    pending at once so that the server's accept queue never overflows.
    `opened(n)` (optional) is called each time `every` more are idle."""

    REQUEST = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    def __init__(self, port, count, path="/hello", window=256, timeout_s=120):
        self.port, self.count, self.path = port, count, path
        self.window, self.timeout_s = window, timeout_s
        self.idle, self.errors = [], 0

    def open(self, opened=None, every=0):
        sel = selectors.DefaultSelector()
        buffers, started, deadline = {}, 0, time.monotonic() + self.timeout_s
        request = self.REQUEST % self.path.encode()
        try:
            while len(self.idle) + self.errors < self.count:
                while started < self.count and len(buffers) < self.window:
                    sock = socket.socket()
                    sock.setblocking(False)
                    code = sock.connect_ex(("127.0.0.1", self.port))
                    if code not in (0, errno.EINPROGRESS):
                        sock.close()
                        self.errors += 1
                    else:
                        buffers[sock] = None  # None: connecting; bytes: reading the answer
                        sel.register(sock, selectors.EVENT_WRITE)
                    started += 1
                if time.monotonic() > deadline:
                    raise ClientError(f"idle connections: {len(self.idle)} of {self.count} "
                                      f"open after {self.timeout_s} s")
                for key, _ in sel.select(1.0):
                    self._step(sel, buffers, key.fileobj, request, opened, every)
        finally:
            for sock in buffers:
                sel.unregister(sock)
                sock.close()
                self.errors += 1
            sel.close()
        return self

    def _step(self, sel, buffers, sock, request, opened, every):
        def fail():
            sel.unregister(sock)
            del buffers[sock]
            sock.close()
            self.errors += 1
        try:
            if buffers[sock] is None:  # connected (or failed to)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    return fail()
                sock.send(request)  # a few dozen bytes: one send on a fresh socket
                buffers[sock] = b""
                sel.modify(sock, selectors.EVENT_READ)
                return None
            chunk = sock.recv(4096)
        except OSError:
            return fail()
        if not chunk:
            return fail()
        data = buffers[sock] + chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            buffers[sock] = data
            return None
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if not head.startswith(b"HTTP/1.1 200") or not m:
            return fail()
        if len(body) < int(m.group(1)):
            buffers[sock] = data
            return None
        sel.unregister(sock)
        del buffers[sock]
        self.idle.append(sock)
        if opened and every and len(self.idle) % every == 0:
            opened(len(self.idle))
        return None

    def closed_by_peer(self):
        """How many of the idle connections the server has closed since."""
        closed = 0
        for sock in self.idle:
            try:
                if not sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                    closed += 1
            except BlockingIOError:
                pass
            except OSError:
                closed += 1
        return closed

    def close(self):
        for sock in self.idle:
            sock.close()
        self.idle = []


def measured(server, run, *args, **kwargs):
    """Run one client against server; add the server's CPU seconds and req/s per CPU-second."""
    cpu_before = server.cpu_seconds()
    result = run(*args, **kwargs)
    cpu = server.cpu_seconds() - cpu_before
    result["server"] = server.label
    result["server_cpu_s"] = cpu
    ok = result["requests"] - result["errors"]
    result["rps_per_cpu_s"] = ok / cpu if cpu > 0 else 0.0
    if ok > 0:
        server.answered = True
    return result


if __name__ == "__main__":
    print("clients.py is a library; see bench/run", file=sys.stderr)
    sys.exit(2)
