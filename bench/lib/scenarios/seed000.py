"""Seed 000 ("Speed up your server — 3"): /fibo_sleep/20 in every mode, ab -n1000 -c100.

Owns the reproduction of the seed's four latency-percentile graphs: the
same request (F(20), then a 6.765 ms sleep) in each mode, on one worker and
on one worker per core, forkd next to its FastAPI twin (uvicorn for one
worker, gunicorn+uvicorn for one per core). Feeds the goal "/fibo_sleep/20
par p95 <= 1.1x /sleep/7's p95 under the same client": /sleep/7 (a timer, no
work, about the same sleep) on the same forkd under the same ab, alternated
with the modes, is the floor that ab and the shared cores put under any p95.
"""

import itertools

from clients import ab, measured
from measure import alternate
from plots import percentiles
from report import Section
from servers import Fleet, http_ok

MODES = ("baseline", "async", "par", "offload")
FLOOR = "sleep/7 timer (floor)"  # the mode column of the no-work case
KEY = "seed000"


def run(ctx):
    s = Section(KEY, "Seed 000 — fib + sleep in four modes (/fibo_sleep/20)",
                "seed 000: `ab -n1000 -c100 -e mode.csv .../fibo_sleep/20` for baseline, async, "
                "par, and async with workers = cores.",
                "blocking the loop (baseline) serialises a worker; a timer (async) overlaps "
                "the sleeps; offloading the CPU part (par) or adding workers spreads the rest. "
                "The percentile curves are the seed's graphs.")
    n, cap = ctx["ab_n"], ctx["ab_t"]
    s.setup += [
        f"`ab -n {n} -c 100 -t {cap} -e FILE.csv` (new connection per request, as in the seed; "
        f"-t caps a slow run at {cap} s, so a slow server may serve fewer than {n})",
        ctx.pinning_note(False) + ": `par` needs the other cores for its pool",
        "forkd: threads = 4 per worker; FastAPI: ProcessPoolExecutor(os.cpu_count()) for par, "
        "its default thread pool (40) for the plain `def` of offload",
        f"floor: `/sleep/7?mode=timer` on forkd w{ctx.cores} under the same ab, in the same "
        "alternation: the p95 that the client and the shared cores alone cause",
        "FastAPI mode twins: baseline = `async def` + time.sleep (blocks the loop like forkd's); "
        "offload = plain `def` (this is the seed's own 'baseline')",
    ]
    with Fleet(ctx, KEY) as fleet:
        servers = [fleet.start("forkd", workers=1),
                   fleet.start("uvicorn"),
                   fleet.start("forkd", workers=ctx.cores),
                   fleet.start("gunicorn", workers=ctx.cores)]
        for server in servers:  # start FastAPI's process pool before anything is timed
            http_ok(server.url("/fibo_sleep/20?mode=par"), timeout=30)
        cases, runs = [], itertools.count(1)
        for server in servers:
            for mode in MODES:
                def thunk(server=server, mode=mode):
                    csv = ctx.data / f"{KEY}_{server.kind}{server.workers}_{mode}_{next(runs)}.csv"
                    result = measured(server, ab, server.url(f"/fibo_sleep/20?mode={mode}"),
                                      n, 100, csv, time_limit_s=cap)
                    result.update(mode=mode)
                    return result
                cases.append(((server.label, mode), thunk))
        floor_server = servers[2]

        def floor_thunk():
            csv = ctx.data / f"{KEY}_floor_{next(runs)}.csv"
            result = measured(floor_server, ab, floor_server.url("/sleep/7?mode=timer"),
                              n, 100, csv, time_limit_s=cap)
            result.update(mode=FLOOR)
            return result
        # Right after par on the same server, so that both meet the same background.
        at = [key for key, _ in cases].index((floor_server.label, "par")) + 1
        cases.insert(at, ((floor_server.label, FLOOR), floor_thunk))
        medians = alternate(cases, ctx["rounds"])
    results = [medians[key] for key, _ in cases]
    ctx.record(KEY, results)
    s.results_table("/fibo_sleep/20, ab -c100 (medians)", results,
                    [("server", "server"), ("mode", "mode")])
    for server in servers:
        # The curves are the first round's (a percentile curve has no median).
        curves = [(mode, medians[(server.label, mode)]["csv"]) for mode in MODES]
        if (server.label, FLOOR) in medians:
            curves.append(("sleep7_floor", medians[(server.label, FLOOR)]["csv"]))
        png = ctx.out / f"{KEY}_{server.kind}_w{server.workers}.png"
        s.plot(percentiles(png, f"/fibo_sleep/20 latency percentiles — {server.label}", curves),
               f"seed 000 graph: {server.label}, ab -c100, latency by percentile, per mode")
    best = medians[(servers[2].label, "par")]
    ctx.metrics["fibo_sleep_par_p95_ms"] = best["p95_ms"]
    ctx.metrics["sleep7_p95_ms"] = medians[(servers[2].label, FLOOR)]["p95_ms"]
    ctx.metrics["fibo_sleep_par_where"] = f"{servers[2].label}, ab -n{n} -c{min(100, n)}"
    return s
