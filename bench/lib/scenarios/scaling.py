"""Scaling: forkd with workers = 1, 2, ... cores, against the ideal line.

Owns two curves: /fib/25?mode=offload (CPU-bound; ideal = workers / the
time one core needs per request) and /hello (overhead-bound; ideal =
workers x the one-worker rate). One offload thread per worker, so that
workers, not threads, are what scales. The "ideal" lines are raw figures:
the load generator shares the cores. Feeds the goal "/fib/25?mode=offload:
server CPU per request <= 1.05x F(25) inline", both sides on the
same CPU accounting: the server CPU per offloaded and per inline request
on the same workers = cores server under the same wrk, alternated (only
the mode differs). F(25)'s own time (the
X-Process-Time of a few sequential inline requests on the idle server) is
shown beside them.
"""

import statistics

from clients import measured, server_times, wrk
from measure import alternate
from plots import scaling
from report import Section, fmt
from servers import Fleet

KEY = "scaling"


def run(ctx):
    s = Section(KEY, "Scaling — workers = 1 .. cores",
                "seed 000's last step and seed 003's 32 workers: parallelism comes from "
                "worker processes.",
                "how close forkd gets to linear scaling for CPU-bound work, and where the "
                "load generator (sharing the same cores) becomes the limit for tiny requests.")
    counts = list(range(1, ctx.cores + 1))
    d = ctx["scale_s"]
    s.setup += [
        "forkd -w N --threads 1; " + ctx.pinning_note(False),
        f"/fib/25?mode=offload: wrk -t1 -c{4 * ctx.cores} for {d} s",
        "single-request service time: the CPU time one /fib/25 request costs, measured "
        "on one worker running it inline (one thread) pinned to one core and saturated by "
        f"wrk -c4 pinned to another core for {d} s: server CPU-s / requests (CPU time, so "
        "that other load on that core does not inflate it); the ideal is N / that time",
        f"/hello: wrk -t1 -c50 for {d} s; ideal = N x the one-worker rate",
        f"/fib/25?mode=inline on the {counts[-1]}-worker server, the same wrk, right after "
        "offload in each round: the CPU per request the offload goal is judged against",
        f"F(25) inline: {ctx['fib_inline_n']} sequential `/fib/25?mode=inline` requests on "
        f"the idle {counts[-1]}-worker server before any load; its X-Process-Time (the "
        "server's own time), least and median",
        f"{ctx['scale_rounds']} rounds alternating the worker counts; medians",
    ]
    server_cpus, client_cpus = ctx.pinning(True)
    with Fleet(ctx, KEY) as fleet:
        core = fleet.start("forkd", workers=1, threads=1, cpus=server_cpus,
                           label="forkd w1 (one core)")
        servers = {w: fleet.start("forkd", workers=w, threads=1) for w in counts}
        # F(25) inline, idle server, one request at a time: the work's own cost, as
        # the server itself times it (X-Process-Time); the goal takes the median.
        inline = server_times(servers[counts[-1]].url("/fib/25?mode=inline"),
                              ctx["fib_inline_n"])
        single = alternate([("core", lambda: measured(
            core, wrk, core.url("/fib/25?mode=inline"), 4, d, cpus=client_cpus,
            scratch=ctx.data))], ctx["scale_rounds"])["core"]
        service_s = 1 / single["rps_per_cpu_s"]  # the median over rounds of CPU-s per request
        cases = []
        for route, path, conns in (("fib", "/fib/25?mode=offload", 4 * ctx.cores),
                                   ("hello", "/hello", 50)):
            for w in counts:
                def thunk(w=w, path=path, conns=conns, route=route):
                    r = measured(servers[w], wrk, servers[w].url(path), conns, d,
                                 scratch=ctx.data)
                    r.update(route=route, workers=w)
                    return r
                cases.append(((route, w), thunk))
        # The same server, the same wrk, only the mode differs: inline right after
        # offload at workers = cores, for the CPU-per-request goal.
        top_server = servers[counts[-1]]

        def inline_thunk():
            r = measured(top_server, wrk, top_server.url("/fib/25?mode=inline"),
                         4 * ctx.cores, d, scratch=ctx.data)
            r.update(route="fib inline (for the goal)", workers=counts[-1])
            return r
        at = [key for key, _ in cases].index(("fib", counts[-1])) + 1
        cases.insert(at, (("fib inline", counts[-1]), inline_thunk))
        medians = alternate(cases, ctx["scale_rounds"])
    results = [medians[key] for key, _ in cases]
    single.update(route="fib inline, one core (service time)", workers=1)
    ctx.record(KEY, [single] + results)
    rows = []
    for route in ("fib", "hello"):
        points = []
        for w in counts:
            r = medians[(route, w)]
            ideal = w / service_s if route == "fib" else w * medians[(route, 1)]["rps"]
            points.append((w, r["rps"], ideal))
            cores_used = r["server_cpu_s"] / r["duration_s"]
            rows.append([route, w, f"{r['rps']:.0f}", f"{ideal:.0f}", f"{r['rps'] / ideal:.2f}",
                         fmt(r["p99_ms"], ".2f"), r["errors"], f"{r['rps_per_cpu_s']:.0f}",
                         f"{cores_used:.2f}"])
        png = ctx.out / f"{KEY}_{route}.png"
        name = "/fib/25?mode=offload" if route == "fib" else "/hello"
        s.plot(scaling(png, f"{name}: requests/s by workers", points),
               f"scaling: {name}, measured vs ideal")
    s.table(f"requests/s by workers (/fib/25 service time: {service_s * 1e6:.0f} us of CPU; "
            f"one pinned inline worker served {single['rps']:.0f} req/s)",
            ["route", "workers", "req/s", "ideal", "of ideal", "p99 ms", "errors",
             "req/s per server CPU-s", "server cores used"], rows)
    s.note(f"The load generator runs on the same {ctx.cores} cores: whatever it uses "
           "(cores minus 'server cores used') is missing from the server's ceiling.")
    top = medians[("fib", counts[-1])]
    offload_cpu_s = 1 / top["rps_per_cpu_s"] if top["rps_per_cpu_s"] else None
    same = medians[("fib inline", counts[-1])]
    inline_cpu_s = 1 / same["rps_per_cpu_s"] if same["rps_per_cpu_s"] else None
    s.note(f"F(25) inline (X-Process-Time, {len(inline)} sequential requests, idle server): "
           f"least {min(inline) * 1e6:.0f} us, median {statistics.median(inline) * 1e6:.0f} us; "
           f"server CPU per request at {counts[-1]} workers, the same wrk: "
           f"{fmt(offload_cpu_s and offload_cpu_s * 1e6, '.0f')} us offload, "
           f"{fmt(inline_cpu_s and inline_cpu_s * 1e6, '.0f')} us inline.")
    ctx.metrics.update(fib25_offload_cpu_s=offload_cpu_s,
                       fib25_inline_s=statistics.median(inline),
                       fib25_inline_cpu_s=inline_cpu_s,
                       fib25_where=f"forkd w{counts[-1]} --threads 1, wrk -c{4 * ctx.cores}, "
                                   "alternated")
    return s
