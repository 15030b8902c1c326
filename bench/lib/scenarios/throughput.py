"""Throughput: /hello with keep-alive and pipelined, forkd vs nginx vs uvicorn vs gunicorn.

Owns the head-to-head numbers behind forkd's speed goals: the same wrk, the
same worker count, runs alternated across servers, medians; plus each
server's idle worker RSS (the memory goal). One worker each, pinned away
from wrk; `--full` adds one worker per core, unpinned.
"""

from clients import measured, wrk
from measure import alternate
from plots import bars
from report import Section
from servers import Fleet

KEY = "throughput"
CONNECTIONS = 50
DEPTH = 16


def measure_set(ctx, fleet, workers, pinned):
    server_cpus, client_cpus = ctx.pinning(pinned)
    servers = [fleet.start("forkd", workers=workers, cpus=server_cpus),
               fleet.start("nginx", workers=workers, cpus=server_cpus),
               fleet.start("uvicorn", cpus=server_cpus) if workers == 1 else None,
               fleet.start("gunicorn", workers=workers, cpus=server_cpus)]
    servers = [sv for sv in servers if sv is not None]
    idle_rss = {sv.kind: max(sv.worker_rss_kib()) for sv in servers}
    cases = []
    for depth in (0, DEPTH):
        for server in servers:
            def thunk(server=server, depth=depth):
                r = measured(server, wrk, server.url("/hello"), CONNECTIONS, ctx["tp_s"],
                             pipeline=depth, cpus=client_cpus, scratch=ctx.data)
                r.update(load="pipelined x16" if depth else "keep-alive", workers=workers)
                return r
            cases.append(((server.label, depth), thunk))
    medians = alternate(cases, ctx["tp_rounds"])
    return servers, idle_rss, [medians[key] for key, _ in cases]


def run(ctx):
    s = Section(KEY, "Throughput — /hello, keep-alive and pipelined, forkd vs its peers",
                "the 'fast' claims of the seeds' servers, head to head (no seed measures this).",
                "requests/s of the smallest possible response, where the server's own overhead "
                "is all there is to measure; nginx `return 200` is the bar to meet.")
    s.setup += [
        f"wrk -t1 -c{CONNECTIONS} for {ctx['tp_s']} s per run, keep-alive; pipelined: a Lua "
        f"script writes {DEPTH} requests at a time; {ctx['tp_rounds']} rounds alternating "
        "forkd, nginx, uvicorn, gunicorn+uvicorn; medians",
        "one worker each: " + ctx.pinning_note(True),
        "nginx: `return 200 \"hello\"`, access_log off, keepalive_requests unlimited, reuseport; "
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
    if extra:
        s.results_table(f"/hello, {ctx.cores} workers each (medians)", extra,
                        [("server", "server"), ("load", "load")])
    s.table("idle worker RSS", ["server", "worker RSS KiB"],
            [[sv.label, idle_rss[sv.kind]] for sv in servers])
    labels = [sv.label for sv in servers]
    by = {(r["server"], r["load"]): r["rps"] for r in results}
    loads = ["keep-alive", "pipelined x16"]
    png = ctx.out / f"{KEY}_hello.png"
    s.plot(bars(png, "/hello requests/s, one worker each", "requests/s (log scale)", labels,
                loads, [[by[(label, load)] for label in labels] for load in loads]),
           "throughput: /hello requests/s, keep-alive and pipelined")
    find = {(r["server"].split()[0], r["load"]): r["rps"] for r in results}
    ctx.metrics.update(
        throughput_workers=1,
        hello_ka_forkd=find[("forkd", "keep-alive")], hello_ka_nginx=find[("nginx", "keep-alive")],
        hello_ka_gunicorn=find[("gunicorn+uvicorn", "keep-alive")],
        hello_pipe_forkd=find[("forkd", "pipelined x16")],
        hello_pipe_nginx=find[("nginx", "pipelined x16")],
        rss_forkd_kib=idle_rss["forkd"], rss_nginx_kib=idle_rss["nginx"])
    return s
