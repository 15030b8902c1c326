"""Profiles of one /hello worker: instructions per request and the user-space share.

Owns `bench/profile` (bench/README.md, "Profiling"):

  instructions  each server (one worker) runs twice under `valgrind --tool=callgrind`:
                once serving W warm-up requests, once W + N (countclient.py, exact
                counts, keep-alive); the worker's Ir difference / N is its
                instructions per request (start-up and shutdown cancel out). Instructions do
                not depend on what else the machine runs, so this is the figure
                to compare before and after a change on a shared machine.
                callgrind_annotate's top functions are written next to it.
  cpu           each server (one worker, pinned to the first CPU) under wrk
                (pinned to the last) while `perf record -e cpu-clock -g` samples
                the worker; the share of samples outside the kernel is the
                user-space share, listed by shared object.

Must not: judge (it prints figures), or leave a process behind (servers.py
stops each server by pid).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import clients  # noqa: E402
import servers  # noqa: E402

LIB_DIR = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3"


def start(kind, forkd_bin, run_dir, cpus=None, wrap=None):
    if kind == "forkd":
        return servers.forkd(forkd_bin, run_dir, 1, threads=1, cpus=cpus, wrap=wrap).wait_ready()
    if kind == "nginx":
        return servers.nginx(run_dir, 1, cpus=cpus, wrap=wrap).wait_ready()
    if kind == "h2o":
        return servers.h2o(run_dir, 1, cpus=cpus, wrap=wrap).wait_ready()
    raise SystemExit(f"unknown server {kind}")


def count_requests(port, n, conns, depth):
    out = subprocess.run([PYTHON, str(LIB_DIR / "countclient.py"), "127.0.0.1", str(port), "/hello",
                          str(n), str(conns), str(depth)],
                         capture_output=True, text=True, check=True, timeout=1800).stdout
    result = json.loads(out)
    if result["errors"] or result["ok"] != n:
        raise SystemExit(f"countclient: {result}")
    return result


def callgrind_total(path):
    """The Ir total of one callgrind output file."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise SystemExit(f"no totals in {path}")


def worker_instructions(kind, args, out_dir, n):
    """Ir of the one worker process over its whole life, serving n requests."""
    run_dir = out_dir / f"{kind}-callgrind-{n}"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_dir.chmod(0o777)  # nginx's worker runs as nobody and writes its file here
    wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={run_dir}/callgrind.%p"]
    server = start(kind, args.forkd, run_dir, wrap=wrap)
    try:
        workers = server.worker_pids()
        if len(workers) != 1:
            raise SystemExit(f"{kind}: expected one worker, found {workers}")
        count_requests(server.port, n, args.conns, args.depth)
    finally:
        server.stop()
    dump = run_dir / f"callgrind.{workers[0]}"
    if not dump.exists():
        raise SystemExit(f"{kind}: callgrind wrote no file for the worker ({dump})")
    return callgrind_total(dump), dump


def instructions(kind, args, out_dir):
    """(Ir of a life with warmup + requests) - (Ir of a life with warmup), per request:
    start-up, shutdown and the first requests' buffer growth cancel out.
    callgrind_control cannot reach a forked worker (vgdb does not follow fork)."""
    base, _ = worker_instructions(kind, args, out_dir, args.warmup)
    total, dump = worker_instructions(kind, args, out_dir, args.warmup + args.requests)
    annotate = subprocess.run(["callgrind_annotate", "--inclusive=no", str(dump)],
                              capture_output=True, text=True).stdout
    (out_dir / f"{kind}-callgrind-top.txt").write_text(annotate)
    return {"server": kind, "requests": args.requests, "connections": args.conns, "depth": args.depth,
            "Ir_warmup_only": base, "Ir_with_requests": total,
            "Ir_per_request": (total - base) / args.requests, "dump": str(dump)}


def perf_shares(data):
    """{dso: percent} of the samples in a perf.data, self time by shared object."""
    out = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children", "--sort", "dso",
                          "-q"], capture_output=True, text=True).stdout
    shares = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S.*)$", line)
        if m:
            shares[m.group(2).strip()] = float(m.group(1))
    return shares


def cpu(kind, args, out_dir):
    run_dir = out_dir / f"{kind}-perf"
    run_dir.mkdir(parents=True, exist_ok=True)
    server = start(kind, args.forkd, run_dir, cpus="0")
    data = run_dir / "perf.data"
    try:
        worker = server.worker_pids()[0]
        recorder = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-o", str(data),
                                     "-p", str(worker)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        load = clients.wrk(server.url("/hello"), args.conns, args.seconds, cpus=str(os.cpu_count() - 1),
                           scratch=run_dir)
        recorder.send_signal(2)  # SIGINT: perf writes its file and exits
        recorder.wait(60)
    finally:
        server.stop()
    shares = perf_shares(data)
    kernel = sum(v for k, v in shares.items() if "kernel" in k or k.startswith("[k"))
    return {"server": kind, "connections": args.conns, "rps": load["rps"], "kernel_pct": kernel,
            "user_pct": 100 - kernel, "by_dso": shares}


def main():
    p = argparse.ArgumentParser(prog="bench/profile", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["instructions", "cpu"])
    p.add_argument("--forkd", required=True)
    p.add_argument("--servers", default="forkd,nginx")
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--conns", type=int, default=None, help="instructions: 8; cpu: 64")
    p.add_argument("--depth", type=int, default=1, help="requests per write (instructions)")
    p.add_argument("--seconds", type=int, default=5)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.conns is None:
        args.conns = 8 if args.what == "instructions" else 64
    out_dir = Path(args.out or tempfile.mkdtemp(prefix="forkd-profile-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    out_dir.chmod(0o755)  # mkdtemp's 0700 would keep nginx's worker (nobody) out of its run dir
    results = []
    for kind in args.servers.split(","):
        result = instructions(kind, args, out_dir) if args.what == "instructions" else cpu(kind, args, out_dir)
        results.append(result)
        if args.what == "instructions":
            print(f"{kind:6} {result['Ir_per_request']:10.0f} instructions per /hello request "
                  f"({result['requests']} requests, {args.conns} connections, depth {args.depth})", flush=True)
        else:
            top = ", ".join(f"{k} {v:.1f}%" for k, v in sorted(result["by_dso"].items(), key=lambda kv: -kv[1])[:6])
            print(f"{kind:6} user space {result['user_pct']:5.1f}%  kernel {result['kernel_pct']:5.1f}%  "
                  f"({result['rps']:.0f} req/s, wrk -c{args.conns})  {top}", flush=True)
    (out_dir / f"{args.what}.json").write_text(json.dumps(results, indent=1))
    print(f"details: {out_dir}")


if __name__ == "__main__":
    main()
