"""Seed 003 ("Make FastAPI CPU-bound endpoints 2X faster"): inline vs offload.

Owns the reproduction of the seed's four ab numbers: /hello answered on the
event loop (`async def`, forkd inline) or via a thread (plain `def`, forkd
offload), then the same with a CPU task (/fib/25: ~30 ms in CPython, like
the seed's 1M-iteration loop; ~0.1 ms in C), on one worker and on one
worker per core.
"""

from clients import ab, measured
from measure import alternate
from plots import bars
from report import Section
from servers import Fleet

KEY = "seed003"
PATHS = [("hello inline", "/hello?mode=inline"), ("hello offload", "/hello?mode=offload"),
         ("fib/25 inline", "/fib/25?mode=inline"), ("fib/25 offload", "/fib/25?mode=offload")]


def run(ctx):
    s = Section(KEY, "Seed 003 — inline vs offload, with and without a CPU task",
                "seed 003: `ab -n 1000 -c 100` on `async def` vs plain `def` endpoints, "
                "then with a CPU-bound task, then with one worker per CPU.",
                "a hop to a thread costs more than the work of /hello; with a CPU task the "
                "async/inline version still wins on one worker in FastAPI (no thread-pool "
                "contention), while forkd's offload threads can use the other core.")
    n, cap = ctx["ab_n"], ctx["ab_t"]
    server_cpus, client_cpus = ctx.pinning(True)
    s.setup += [
        f"`ab -n {n} -c 100 -t {cap}` (new connection per request as in the seed)",
        "one worker: " + ctx.pinning_note(True) + f"; {ctx.cores} workers: "
        + ctx.pinning_note(False),
        "forkd threads = 4 per worker; FastAPI's default thread pool (40) for plain `def`",
    ]
    with Fleet(ctx, KEY) as fleet:
        servers = [(fleet.start("forkd", workers=1, cpus=server_cpus), client_cpus),
                   (fleet.start("uvicorn", cpus=server_cpus), client_cpus),
                   (fleet.start("forkd", workers=ctx.cores), None),
                   (fleet.start("gunicorn", workers=ctx.cores), None)]
        cases = []
        for server, cpus in servers:
            for name, path in PATHS:
                def thunk(server=server, cpus=cpus, name=name, path=path):
                    csv = ctx.data / f"{KEY}_{server.kind}{server.workers}.csv"
                    r = measured(server, ab, server.url(path), n, 100, csv, time_limit_s=cap,
                                 cpus=cpus)
                    r.update(case=name, workers=server.workers)
                    return r
                cases.append(((server.label, name), thunk))
        medians = alternate(cases, ctx["rounds"])
    results = [medians[key] for key, _ in cases]
    ctx.record(KEY, results)
    s.results_table("ab -c100 (medians)", results, [("server", "server"), ("case", "case")])
    labels = [server.label for server, _ in servers]
    values = [[medians[(label, name)]["rps"] for label in labels] for name, _ in PATHS]
    png = ctx.out / f"{KEY}_rps.png"
    s.plot(bars(png, "inline vs offload, ab -c100: requests/s", "requests/s (log scale)",
                labels, [name for name, _ in PATHS], values),
           "seed 003: requests/s per case and server")
    return s
