"""Throughput: /hello with keep-alive and pipelined, forkd vs nginx, h2o, uvicorn, gunicorn.

Owns the head-to-head numbers behind forkd's /hello goals: the same wrk, the
same worker count, runs alternated across servers, medians, and every
round's figures kept (the "in every round" goal reads them); plus each
server's idle worker RSS. One worker each, pinned away from wrk, at 64 and
256 keep-alive connections (the Python peers only at 64: they are not the
bar) and pipelined 16 deep; `--full` adds one worker per core, unpinned.
Feeds ctx.metrics["hello"]: {load: {kind: {rps, per_cpu_s, rounds_rps}}}.
"""

from clients import measured, wrk
from measure import alternate
from plots import bars
from report import Section
from servers import Fleet

KEY = "throughput"
KEEPALIVE = (64, 256)  # connections of the keep-alive goals
PIPE_CONNECTIONS = 64
DEPTH = 16
BAR = ("forkd", "nginx", "h2o")  # the servers measured at every load


def loads():
    """[(load name, connections, pipeline depth, kinds measured)]."""
    found = [(f"keep-alive c{c}", c, 0, None if c == KEEPALIVE[0] else BAR) for c in KEEPALIVE]
    found.append((f"pipelined x{DEPTH}", PIPE_CONNECTIONS, DEPTH, None))
    return found


def measure_set(ctx, fleet, workers, pinned):
    server_cpus, client_cpus = ctx.pinning(pinned)
    servers = [fleet.start("forkd", workers=workers, cpus=server_cpus),
               fleet.start("nginx", workers=workers, cpus=server_cpus),
               fleet.start("h2o", workers=workers, cpus=server_cpus),
               fleet.start("uvicorn", cpus=server_cpus) if workers == 1 else None,
               fleet.start("gunicorn", workers=workers, cpus=server_cpus)]
    servers = [sv for sv in servers if sv is not None]
    idle_rss = {sv.kind: max(sv.worker_rss_kib()) for sv in servers}
    cases = []
    for load, conns, depth, kinds in loads():
        for server in servers:
            if kinds is not None and server.kind not in kinds:
                continue
            def thunk(server=server, conns=conns, depth=depth, load=load):
                r = measured(server, wrk, server.url("/hello"), conns, ctx["tp_s"],
                             pipeline=depth, cpus=client_cpus, scratch=ctx.data)
                r.update(load=load, workers=workers)
                return r
            cases.append(((server.label, load), thunk))
    medians = alternate(cases, ctx["tp_rounds"])
    return servers, idle_rss, [medians[key] for key, _ in cases]


def hello_metrics(results):
    """{load: {kind: {rps, per_cpu_s, rounds_rps}}} for report.goals()."""
    found = {}
    for r in results:
        kind = r["server"].split()[0]
        found.setdefault(r["load"], {})[kind] = {
            "rps": r["rps"], "per_cpu_s": r["rps_per_cpu_s"],
            "rounds_rps": [run["rps"] for run in r["runs"]]}
    return found


def run(ctx):
    s = Section(KEY, "Throughput — /hello, keep-alive and pipelined, forkd vs its peers",
                "the 'fast' claims of the seeds' servers, head to head (no seed measures this).",
                "requests/s of the smallest possible response, where the server's own overhead "
                "is all there is to measure; nginx `return 200` and h2o are the bar. The goals "
                "judge req/s per server CPU-second (what the server controls) and the pinned "
                "req/s of every round.")
    s.setup += [
        f"wrk -t1 for {ctx['tp_s']} s per run: keep-alive with "
        f"{' and '.join(str(c) for c in KEEPALIVE)} connections (uvicorn and gunicorn only "
        f"with {KEEPALIVE[0]}), and pipelined: {PIPE_CONNECTIONS} connections, a Lua script "
        f"writes {DEPTH} requests at a time; {ctx['tp_rounds']} rounds alternating the "
        "servers; medians",
        "one worker each: " + ctx.pinning_note(True),
        "nginx: `return 200 \"hello\"`, access_log off, keepalive_requests unlimited, reuseport; "
        "h2o: /hello a 5-byte static file, ETag off, no access log, num-threads = workers; "
        "uvicorn: uvloop + httptools, no access log; gunicorn: UvicornWorker (same settings)",
        "pipelined rows have no latency: wrk times a batch of 16, and its coordinated-"
        "omission correction assumes one request per round trip",
        "idle RSS: VmRSS of each worker process right after start-up, before any load",
    ]
    with Fleet(ctx, KEY) as fleet:
        servers, idle_rss, results = measure_set(ctx, fleet, 1, pinned=True)
        fleet.stop()
        extra = []
        if ctx["tp_all_cores"] and ctx.cores > 1:
            s.setup.append(f"{ctx.cores} workers each: " + ctx.pinning_note(False))
            _, _, extra = measure_set(ctx, fleet, ctx.cores, pinned=False)
    ctx.record(KEY, results + extra)
    s.results_table("/hello, one worker each (medians)", results,
                    [("server", "server"), ("load", "load")], summary=True)
    rounds = [[r["server"], r["load"]] + [f"{run['rps']:.0f}" for run in r["runs"]]
              for r in results]
    s.table("/hello req/s of each round (one worker each)",
            ["server", "load"] + [f"round {i + 1}" for i in range(ctx["tp_rounds"])], rounds)
    if extra:
        s.results_table(f"/hello, {ctx.cores} workers each (medians)", extra,
                        [("server", "server"), ("load", "load")])
    s.table("idle worker RSS", ["server", "worker RSS KiB"],
            [[sv.label, idle_rss[sv.kind]] for sv in servers])
    labels = [sv.label for sv in servers]
    by = {(r["server"], r["load"]): r["rps"] for r in results}
    names = [load for load, _, _, _ in loads()]
    png = ctx.out / f"{KEY}_hello.png"
    s.plot(bars(png, "/hello requests/s, one worker each", "requests/s (log scale)", labels,
                names, [[by.get((label, load)) for label in labels] for load in names]),
           "throughput: /hello requests/s, keep-alive and pipelined (a missing bar: not run "
           "at that load)")
    ctx.metrics.update(throughput_workers=1, hello=hello_metrics(results),
                       hello_loads={"keepalive": [f"keep-alive c{c}" for c in KEEPALIVE],
                                    "pipelined": f"pipelined x{DEPTH}"})
    return s
