#!/usr/bin/python3
"""scale-out: three forkd hosts behind HAProxy, drained, reloaded, upgraded, crashed.

The topology of conf/haproxy/ on one machine, with network namespaces: a
namespace per forkd host (10.213.N.2) and one for HAProxy and the client
(10.213.N.1 on a veth pair to each host), all named after this run
(forkd-<run>-lb, forkd-<run>-h1, ...) and removed at the end, failed or
not. Nothing is added to the machine's own network namespace.

With a steady load through HAProxy (keep-alive and new connections), in order:
  1. `forkd drain` host 1, wait until HAProxy takes it out, stop
     it (TERM: what is left of shutdown_delay, then the graceful stop);
  2. HUP host 2 (a reload: a new generation of workers);
  3. USR2 host 3 (a binary upgrade: a new master);
  4. kill -9 a worker of host 3's new master;
  5. start host 1 again; wait until HAProxy puts it back.
Asserted: no request failed except those in flight on the killed worker;
no request reached host 1 once HAProxy had taken it out; traffic reached
host 1 again after its return; HAProxy's own counters (its stats socket)
agree with the client's, per host and in total; every forkd exited 0 with
no error in its log but the killed worker's death. The figures (load,
events, failures, time to drain) are printed at the end.

Usage: scale_out.py FORKD_BINARY
Exit status: 0 passed, 1 failed, 77 skipped (the reason on stdout): not
root, no iproute2, no haproxy, or network namespaces cannot be made here.
"""

import csv
import io
import json
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import traceback
from pathlib import Path

SKIP = 77
HERE = Path(__file__).resolve().parent
SOURCE_ROOT = HERE.parents[1]
HAPROXY_CFG = SOURCE_ROOT / "conf" / "haproxy" / "haproxy.cfg"
HOST_TOML = SOURCE_ROOT / "conf" / "haproxy" / "forkd-host.toml"

SUBNET = "10.213"
PORT = 8000
LB_PORT = 8080
HOSTS = 3
KEEPALIVE_THREADS = 6
NEW_THREADS = 3
WAIT_S = 30.0  # the bound on every wait for a condition


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def log(text):
    print(text, flush=True)


def wait_for(predicate, what, timeout=WAIT_S, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def start_time(pid):
    """The process's start time (/proc/PID/stat field 22): with the pid, its identity."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def gone(pid):
    """The process has exited: no such pid, or a zombie (reaped here when it is our child)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    if stat.rsplit(")", 1)[1].split()[0] != "Z":
        return False
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    return True


def children_of(pid):
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    return "[" + ", ".join(toml_value(x) for x in v) + "]"


def render_toml(config):
    lines = [f"{k} = {toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for table, values in config.items():
        if isinstance(values, dict):
            lines.append(f"\n[{table}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


class Run:
    """Everything this run made, so that all of it is removed at the end."""

    def __init__(self, forkd):
        self.forkd = forkd
        self.id = secrets.token_hex(3)
        self.tmp = Path(tempfile.mkdtemp(prefix=f"forkd-scale-out-{self.id}-"))
        self.namespaces = []
        self.processes = {}  # pid -> start time: everything we started (masters, haproxy, client)
        self.events = []     # (monotonic time, text)
        self.out_files = []
        self.pidfiles = []   # forkd masters started by a master (USR2) are found here

    # -- the network

    def ns(self, name):
        return f"forkd-{self.id}-{name}"

    def ip(self, *args):
        result = subprocess.run(["ip", *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise Fail(f"ip {' '.join(args)}: {result.stderr.strip()}")

    def make_network(self):
        lb = self.ns("lb")
        for name in ["lb"] + [f"h{i}" for i in range(1, HOSTS + 1)]:
            result = subprocess.run(["ip", "netns", "add", self.ns(name)], capture_output=True, text=True)
            if result.returncode != 0:
                raise Skip(f"cannot create a network namespace: {result.stderr.strip()}")
            self.namespaces.append(self.ns(name))
            self.ip("-n", self.ns(name), "link", "set", "lo", "up")
        for i in range(1, HOSTS + 1):
            host = self.ns(f"h{i}")
            a, b = f"fk{self.id}l{i}", f"fk{self.id}h{i}"
            result = subprocess.run(["ip", "link", "add", "name", a, "netns", lb, "type", "veth",
                                     "peer", "name", b, "netns", host], capture_output=True, text=True)
            if result.returncode != 0:
                raise Skip(f"cannot create a veth pair: {result.stderr.strip()}")
            self.ip("-n", lb, "addr", "add", f"{SUBNET}.{i}.1/24", "dev", a)
            self.ip("-n", lb, "link", "set", a, "up")
            self.ip("-n", host, "addr", "add", f"{SUBNET}.{i}.2/24", "dev", b)
            self.ip("-n", host, "link", "set", b, "up")

    def spawn(self, ns, argv, out_name):
        out = self.tmp / out_name
        self.out_files.append(out)
        with open(out, "ab") as f:
            proc = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL,
                                    stdout=f, stderr=subprocess.STDOUT, cwd=self.tmp)
        self.processes[proc.pid] = None  # its start time, once exec'd
        return proc

    def remember(self, pid):
        if pid and self.processes.get(pid) is None:
            self.processes[pid] = start_time(pid)

    def in_lb(self, argv, timeout=10):
        return subprocess.run(["ip", "netns", "exec", self.ns("lb"), *argv], capture_output=True,
                              text=True, timeout=timeout)

    def event(self, text):
        self.events.append((time.monotonic(), text))
        log(f"  event: {text}")
        return self.events[-1][0]

    def cleanup(self):
        """Kill what is still running (by pid and start time, workers of our
        masters included), then delete the namespaces (and so the veths)."""
        for pidfile in self.pidfiles:
            for path in (pidfile, Path(f"{pidfile}.oldbin")):
                try:
                    pid = int(path.read_text().split()[0])
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except (OSError, ValueError, IndexError):
                    continue
                if str(self.tmp).encode() in cmdline:  # one of ours: its config is in our directory
                    self.remember(pid)
        for pid, started in list(self.processes.items()):
            if started is None or start_time(pid) != started:
                continue
            # The master first: killed after one of its workers, it could
            # still fork a replacement that outlives it.
            children = children_of(pid)
            for victim in [pid] + children:
                try:
                    os.kill(victim, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
        if f"forkd-{self.id}-" in left or f"fk{self.id}" in links:
            log(f"warning: namespaces or links of run {self.id} are still there")


class Host:
    """One forkd host in its namespace."""

    def __init__(self, run, index):
        self.run, self.index = run, index
        self.name = f"host{index}"
        self.ns = run.ns(f"h{index}")
        self.address = f"{SUBNET}.{index}.2:{PORT}"
        self.pidfile = run.tmp / f"h{index}.pid"
        self.config_path = run.tmp / f"h{index}.toml"
        run.pidfiles.append(self.pidfile)
        self.starts = 0
        self.proc = None
        self.settings = tomllib.loads(HOST_TOML.read_text())
        config = dict(self.settings)
        config.update({"bind": [self.address], "pidfile": str(self.pidfile), "workers": 2,
                       "threads": 2, "graceful_timeout": 10})
        config["log"] = {"level": "info"}
        config["stats"] = dict(config.get("stats", {}), interval=0,
                               allow=["127.0.0.0/8", f"{SUBNET}.0.0/16"])
        self.config_path.write_text(render_toml(config))

    @property
    def out(self):
        return self.run.tmp / f"h{self.index}-{self.starts}.out"

    def start(self):
        self.starts += 1
        self.proc = self.run.spawn(self.ns, [self.run.forkd, "-c", str(self.config_path)], self.out.name)
        wait_for(lambda: "ready:" in self.out.read_text() or self.proc.poll() is not None,
                 f"{self.name} to be ready")
        if self.proc.poll() is not None:
            raise Fail(f"{self.name} exited with {self.proc.returncode}:\n{self.out.read_text()}")
        self.run.remember(self.proc.pid)

    def master_pid(self):
        try:
            return int(self.pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def stats(self):
        result = self.run.in_lb(["curl", "-s", "--max-time", "5", f"http://{self.address}/stats"])
        if result.returncode != 0:
            raise Fail(f"/stats of {self.name}: curl exit {result.returncode} {result.stderr}")
        return json.loads(result.stdout)

    def drain(self):
        """`forkd drain --pid PIDFILE`: answered once the master has switched."""
        result = subprocess.run([self.run.forkd, "drain", "--pid", str(self.pidfile)], capture_output=True,
                                text=True, timeout=WAIT_S)
        if result.returncode != 0:
            raise Fail(f"forkd drain on {self.name}: exit {result.returncode}: {result.stdout}{result.stderr}")
        if self.stats()["server"]["state"] != "draining":
            raise Fail(f"{self.name}: forkd drain answered, but /stats does not say draining")
        return result.stdout.strip()


class Balancer:
    """HAProxy, from conf/haproxy/haproxy.cfg with this run's addresses."""

    def __init__(self, run, hosts):
        self.run = run
        self.socket = run.tmp / "haproxy.sock"
        self.config_path = run.tmp / "haproxy.cfg"
        self.config_path.write_text(self.config(HAPROXY_CFG.read_text(), hosts))
        self.proc = None

    def config(self, text, hosts):
        """The shipped file, with what only a real machine has taken out (a
        daemon, syslog, the haproxy user) and this run's addresses put in.
        Everything that decides behaviour (checks, retries, reuse,
        timeouts) is the shipped file's."""
        out, skipping = [], False
        for line in text.splitlines():
            word = line.strip()
            if word.startswith("# servers:begin"):
                skipping = True
                out.append(line)
                out += [f"    server {h.name} {h.address}" for h in hosts]
            if word.startswith("# servers:end"):
                skipping = False
            if skipping:
                continue
            if word in ("daemon", "user haproxy", "group haproxy"):
                continue
            if word == "log /dev/log local0":
                line = "    log stdout format raw local0 info"  # haproxy.out: one line per request
            if word.startswith("maxconn "):
                # HAProxy needs two descriptors per connection and fails to
                # start past the hard limit (20,000 in some containers).
                hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                if hard != resource.RLIM_INFINITY and int(word.split()[1]) * 2 + 100 > hard:
                    line = f"    maxconn {(hard - 100) // 2}"
            if word.startswith("stats socket "):
                line = f"    stats socket {self.socket} mode 600 level admin"
            if word == "bind :80":
                line = f"    bind 127.0.0.1:{LB_PORT}"
                # Test only: which server answered, also on HAProxy's own
                # errors, and the client's request id in HAProxy's log.
                line += "\n    http-after-response set-header X-Served-By %s"
                line += "\n    capture request header X-Request-Id len 32"
            out.append(line)
        return "\n".join(out) + "\n"

    def start(self):
        check = subprocess.run(["haproxy", "-c", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise Fail(f"haproxy -c: {check.stdout}{check.stderr}")
        self.proc = self.run.spawn(self.run.ns("lb"), ["haproxy", "-db", "-f", str(self.config_path)],
                                   "haproxy.out")
        wait_for(self.answers, "HAProxy's stats socket")
        self.run.remember(self.proc.pid)

    def answers(self):
        try:
            return "pxname" in self.command("show stat")
        except OSError:  # not there yet, or not listening yet
            return False

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(str(self.socket))
            s.sendall(line.encode() + b"\n")
            chunks = []
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def stat(self):
        """`show stat`: {(proxy, server): row}."""
        text = self.command("show stat").lstrip("# ")
        return {(r["pxname"], r["svname"]): r for r in csv.DictReader(io.StringIO(text))}

    def status(self, server):
        return self.stat()[("forkd", server)]["status"]


# An httplog line: "... web forkd/host3 0/0/0/-1/12 -1 0 - - SH-- 4/4/3/1/0 0/0 {7-123} "GET ..."
HTTPLOG = re.compile(r" (\S+)/(\S+) (?:-?\d+/){4}\+?-?\d+ (-?\d+) \+?\d+ \S+ \S+ (\S{4}) "
                     r"\S+ \S+ \{([^}]*)\} \"")


def haproxy_log(run):
    """HAProxy's line for each request: {request id: (server, status, termination state)}."""
    out = {}
    for line in (run.tmp / "haproxy.out").read_text(errors="replace").splitlines():
        m = HTTPLOG.search(line)
        if m and m.group(1) == "forkd":
            out[m.group(5)] = (m.group(2), int(m.group(3)), m.group(4))
    return out


def count(records, pred):
    return sum(1 for r in records if pred(r))


def scenario(run):
    hosts = [Host(run, i) for i in range(1, HOSTS + 1)]
    for h in hosts:
        h.start()
    lb = Balancer(run, hosts)
    lb.start()
    wait_for(lambda: all(lb.status(h.name) == "UP" for h in hosts), "HAProxy to see every host UP")

    stopfile, outfile = run.tmp / "stop-load", run.tmp / "load.json"
    client = run.spawn(run.ns("lb"), [sys.executable, str(HERE / "loadgen.py"), "127.0.0.1", str(LB_PORT),
                                      str(stopfile), str(outfile), str(KEEPALIVE_THREADS), str(NEW_THREADS)],
                       "loadgen.out")
    run.remember(client.pid)
    served = lambda name: int(lb.stat()[("forkd", name)]["hrsp_2xx"] or 0)  # noqa: E731
    wait_for(lambda: all(served(h.name) >= 50 for h in hosts), "the load to reach every host")
    t_load = run.event("load running on every host")

    # 1. Drain host 1, see HAProxy take it out, then stop it.
    h1, h2, h3 = hosts
    t_drain = run.event("host1: forkd drain")
    run.event(f"host1: forkd drain answered {h1.drain()!r}")
    wait_for(lambda: lb.status("host1").startswith("DOWN"), "HAProxy to take host1 out")
    t_down = run.event("host1: HAProxy marks it DOWN")
    h1_at_down = served("host1")
    h1.proc.send_signal(signal.SIGTERM)
    t_term = run.event("host1: TERM")
    rc = h1.proc.wait(WAIT_S)
    run.event(f"host1: master exited with status {rc}")
    if rc != 0:
        raise Fail(f"host1 exited with status {rc}")

    # 2. Reload host 2.
    generation = h2.stats()["server"]["generation"]
    os.kill(h2.master_pid(), signal.SIGHUP)
    run.event("host2: HUP")
    wait_for(lambda: (lambda s: s["server"]["generation"] > generation and s["workers"] and
                      all(w["generation"] == s["server"]["generation"] and w["state"] == "ready"
                          for w in s["workers"]))(h2.stats()), "host2's reload to complete")
    run.event("host2: every worker of the new generation ready, the old ones gone")

    # 3. Binary upgrade of host 3.
    old_master = h3.master_pid()
    os.kill(old_master, signal.SIGUSR2)
    run.event("host3: USR2")
    wait_for(lambda: h3.master_pid() not in (0, old_master) and gone(old_master),
             "host3's new master to take over and the old one to exit")
    new_master = h3.master_pid()
    run.remember(new_master)
    run.event(f"host3: new master {new_master} took over from {old_master}")

    # 4. kill -9 one worker of host 3's new master.
    stats = h3.stats()
    if stats["server"]["master_pid"] != new_master:
        raise Fail(f"host3's /stats names master {stats['server']['master_pid']}, not {new_master}")
    victim = stats["workers"][0]
    if victim["pid"] not in children_of(new_master):
        raise Fail(f"worker {victim['pid']} is not a child of host3's master {new_master}")
    t_kill_before = time.monotonic()
    os.kill(victim["pid"], signal.SIGKILL)
    t_kill = run.event(f"host3: kill -9 worker {victim['slot']} (pid {victim['pid']})")
    wait_for(lambda: any(w["slot"] == victim["slot"] and w["pid"] != victim["pid"] and w["state"] == "ready"
                         for w in h3.stats()["workers"]), "host3's killed worker to be replaced")
    t_replaced = run.event("host3: worker replaced")

    # 5. Host 1 comes back.
    t_restart = run.event("host1: start")
    h1.start()
    t_ready = run.event("host1: ready")
    wait_for(lambda: lb.status("host1") == "UP", "HAProxy to put host1 back")
    t_up = run.event("host1: HAProxy marks it UP")
    back = served("host1")
    wait_for(lambda: served("host1") >= back + 50, "traffic on host1 again")
    run.event("host1: serving traffic again")

    stopfile.write_text("stop\n")
    client.wait(WAIT_S)
    data = json.loads(outfile.read_text())
    run.event(f"load stopped: {len(data['records'])} requests")
    final = lb.stat()

    # Stop the hosts: each exits 0 (host 1 has a shutdown_delay, already covered above).
    for h in (h2, h3):
        pid = h.master_pid()
        os.kill(pid, signal.SIGINT)
        wait_for(lambda: gone(pid), f"{h.name} to exit")
    h1.proc.send_signal(signal.SIGINT)
    h1.proc.wait(WAIT_S)
    # HAProxy writes a request's log line when its transaction ends, a moment
    # after the client has the answer, and a stop loses lines not written
    # yet: wait (bounded) for a line per answered request first. check()
    # says what is still missing.
    answered = count(data["records"], lambda r: r[3] == 200 and not r[5])
    try:
        wait_for(lambda: len(haproxy_log(run)) >= answered, "HAProxy to log every answered request", timeout=5)
    except Fail:
        pass
    lb.proc.terminate()
    lb.proc.wait(WAIT_S)

    return check(run, hosts, data, final, dict(
        t_load=t_load, t_drain=t_drain, t_down=t_down, t_term=t_term, t_kill_before=t_kill_before,
        t_kill=t_kill, t_replaced=t_replaced, t_restart=t_restart, t_ready=t_ready, t_up=t_up, victim=victim,
        h1_at_down=h1_at_down))


def check(run, hosts, data, final, t):
    records = data["records"]
    problems = []
    ok = lambda r: r[3] == 200 and not r[5]  # noqa: E731
    failures = [r for r in records if not ok(r)]
    # On the killed worker: HAProxy's log says host3 ended it (termination
    # state S...: the server aborted), and it ended after the kill and began
    # before the worker's replacement served. HAProxy answers such a request
    # with a 502, or closes the client's connection without an answer when
    # it had sent it on a reused connection (so that a browser may retry).
    # HAProxy neither logs nor counts the latter; only a keep-alive client
    # can see it (http-reuse safe never sends a connection's first request
    # on a reused server connection).
    logged = haproxy_log(run)
    on_killed = lambda r: (r[1] >= t["t_kill_before"] and r[0] <= t["t_replaced"] and  # noqa: E731
                           ((r[6] in logged and logged[r[6]][0] == "host3" and logged[r[6]][2].startswith("S")) or
                            (r[6] not in logged and r[2] == "keepalive" and r[3] == -1 and
                             "without response" in r[5])))
    in_flight_on_killed = [r for r in failures if on_killed(r)]
    other = [r for r in failures if r not in in_flight_on_killed]
    if other:
        shown = [[round(r[0] - t["t_load"], 3), round(r[1] - t["t_load"], 3)] + r[2:] + [logged.get(r[6])]
                 for r in other[:10]]
        problems.append(f"{len(other)} failed requests besides the killed worker's "
                        f"([start, end] in s since the load reached every host): {shown}")
    if len(in_flight_on_killed) > data["threads"]:
        problems.append(f"{len(in_flight_on_killed)} failures on the killed worker, more than "
                        f"the {data['threads']} requests the client can have in flight")

    # No request reached host 1 once HAProxy had taken it out, until it came back.
    late = [r for r in records if r[4] == "host1" and t["t_down"] < r[0] < t["t_restart"]]
    if late:
        problems.append(f"{len(late)} requests reached host1 after HAProxy took it out: {late[:5]}")
    last_h1 = max((r[0] for r in records if r[4] == "host1" and r[0] < t["t_restart"]), default=None)
    first_back = min((r[0] for r in records if r[4] == "host1" and r[0] > t["t_restart"]), default=None)
    if first_back is None:
        problems.append("no request reached host1 after it came back")

    # HAProxy's counters agree with the client's.
    fe = final[("web", "FRONTEND")]
    agree = {
        "requests (frontend req_tot)": (int(fe["req_tot"]), len(records)),
        "2xx (frontend)": (int(fe["hrsp_2xx"]), count(records, lambda r: 200 <= r[3] < 300)),
        "5xx (frontend)": (int(fe["hrsp_5xx"]), count(records, lambda r: 500 <= r[3] < 600)),
        "requests logged": (len(logged), len(records) - count(in_flight_on_killed, lambda r: r[6] not in logged)),
    }
    for h in hosts:
        agree[f"2xx from {h.name}"] = (int(final[("forkd", h.name)]["hrsp_2xx"]),
                                       count(records, lambda r, n=h.name: r[4] == n and r[3] == 200))
    for what, (theirs, ours) in agree.items():
        if theirs != ours:
            problems.append(f"HAProxy counts {theirs} {what}, the client {ours}")

    # Every forkd's log: no error but the killed worker's death.
    for out in run.tmp.glob("h*.out"):
        for line in out.read_text().splitlines():
            if "[error]" in line or "[critical]" in line:
                if f"pid {t['victim']['pid']}," in line and "died" in line:
                    continue
                problems.append(f"{out.name}: {line}")

    by_host = {h.name: count(records, lambda r, n=h.name: r[4] == n) for h in hosts}
    span = records[-1][1] - records[0][0] if records else 0
    log("\nscale-out figures")
    log(f"  load: {len(records)} requests in {span:.1f} s ({len(records) / max(span, 1e-9):.0f} req/s) "
        f"from {KEEPALIVE_THREADS} keep-alive + {NEW_THREADS} new-connection client threads; by host {by_host}")
    log(f"  failures: {len(failures)} ({len(in_flight_on_killed)} in flight on the killed worker, "
        f"{len(other)} others)")
    log(f"  drain: HAProxy took host1 out {t['t_down'] - t['t_drain']:.2f} s after the drain; "
        f"the last request reached it {(last_h1 or t['t_drain']) - t['t_drain']:.2f} s after")
    if first_back is not None:
        log(f"  return: host1 ready -> HAProxy UP {t['t_up'] - t['t_ready']:.2f} s, "
            f"-> first request {first_back - t['t_ready']:.2f} s")
    log(f"  HAProxy agrees: " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in agree.items()))
    log("  events (s since the load reached every host):")
    for at, text in run.events:
        log(f"    {at - t['t_load']:7.2f}  {text}")
    if problems:
        raise Fail("\n".join(problems))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    forkd = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        log("SKIP: scale-out needs root (network namespaces, veth pairs)")
        return SKIP
    for tool, package in (("ip", "iproute2"), ("haproxy", "haproxy"), ("curl", "curl")):
        if shutil.which(tool) is None:
            log(f"SKIP: {tool} is not installed (Debian package {package})")
            return SKIP
    run = Run(forkd)
    log(f"scale-out run {run.id} in {run.tmp}")
    try:
        run.make_network()
        scenario(run)
    except Skip as e:
        log(f"SKIP: {e}")
        return SKIP
    except (Fail, Exception) as e:  # anything unexpected is a failure too, with the logs
        log(f"FAIL: {e}" if isinstance(e, Fail) else f"FAIL: {traceback.format_exc()}")
        for out in run.out_files:
            if out.exists():
                lines = [x for x in out.read_text(errors="replace").splitlines() if not HTTPLOG.search(x)]
                log(f"--- {out.name} (last 40 lines, without HAProxy's request lines)\n" + "\n".join(lines[-40:]))
        return 1
    finally:
        run.cleanup()
        shutil.rmtree(run.tmp, ignore_errors=True)
    log("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
