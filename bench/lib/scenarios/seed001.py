"""Seed 001 ("Concurrency in Python with FastAPI"): a 50 ms wait, three kinds of client.

Owns the reproduction of the seed's tables: /sleep/50 as forkd's timer and
offload modes next to the seed's own FastAPI /wait (def + time.sleep) and
/asyncwait (async def + asyncio.sleep), each hit by a sequential client, a
thread-pool client and an asynchronous client (stdlib asyncio, and wrk with
100 connections); then all of it again while a long /fib/N keeps one worker
busy; then Little's law at 100 and 1000 connections. Feeds the goals
"/sleep/50 at 100 and 1000 connections >= 98% of connections / 0.05 s".
"""

import threading
import urllib.request

from clients import measured, python_client, wrk
from measure import alternate
from plots import bars
from report import Section
from servers import Fleet

KEY = "seed001"
HOG_N = {"forkd": 42, "uvicorn": 32}  # each /fib/N takes roughly 0.3-0.5 s there


class Hog:
    """Keeps one long /fib/N in flight on a server, one after another, until stopped."""

    def __init__(self, url):
        self.url, self.done, self.count = url, threading.Event(), 0
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.done.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=120) as r:
                    r.read()
                self.count += 1
            except OSError:
                self.done.wait(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(130)


def clients(ctx):
    """[(name, run(url, server) -> result)] for this profile."""
    _, client_cpus = ctx.pinning(True)
    found = [
        ("sequential", lambda url: python_client("sequential", url, ctx["seq_n"], cpus=client_cpus)),
        ("thread pool", lambda url: python_client("pool", url, ctx["pool_n"], cpus=client_cpus)),
        ("asyncio", lambda url: python_client("async", url, ctx["async_n"], cpus=client_cpus)),
    ]
    big = ctx["big_n"]
    if big:
        found += [
            (f"thread pool {big}", lambda url: python_client("pool", url, big, cpus=client_cpus)),
            (f"asyncio {big}", lambda url: python_client("async", url, big, cpus=client_cpus)),
        ]
    found.append(("wrk -c100", lambda url: wrk(url, 100, ctx["wrk_s"], cpus=client_cpus,
                                               scratch=ctx.data)))
    return found


def phase(ctx, targets, hog):
    cases = []
    for client_name, run in clients(ctx):
        for label, server, path in targets:
            def thunk(server=server, path=path, run=run, client_name=client_name, label=label):
                result = measured(server, run, server.url(path))
                result.update(target=label, client=client_name,
                              phase="fib hog" if hog else "idle")
                return result
            cases.append(((client_name, label), thunk))

    if not hog:
        return alternate(cases, ctx["rounds"]), cases
    # Under a hog: each target's server gets its own hog only while that target runs.
    medians = {}
    for label, server, _ in targets:
        mine = [c for c in cases if c[0][1] == label]
        url = server.url(f"/fib/{HOG_N[server.kind]}")
        with Hog(url):
            medians.update(alternate(mine, ctx["rounds"]))
    return medians, cases


LITTLE_CONNECTIONS = (100, 1000)


def littles_law(ctx, forkd):
    """wrk -cN on the timer for N in LITTLE_CONNECTIONS, alternated, for long enough
    that the requests still in flight at the end (up to N, uncounted by wrk) cost
    little: N / (N / 0.05 x little_s) = 0.05 / little_s of the bound."""
    _, client_cpus = ctx.pinning(True)
    cases = []
    for conns in LITTLE_CONNECTIONS:
        def thunk(conns=conns):
            r = measured(forkd, wrk, forkd.url("/sleep/50"), conns, ctx["little_s"],
                         cpus=client_cpus, scratch=ctx.data)
            r.update(target="forkd /sleep/50 timer", bound=f"{conns / 0.05:.0f}")
            return r
        cases.append((conns, thunk))
    medians = alternate(cases, ctx["rounds"])
    return [medians[conns] for conns in LITTLE_CONNECTIONS]


def run(ctx):
    s = Section(KEY, "Seed 001 — a 50 ms wait: timer vs offload vs FastAPI, three clients",
                "seed 001: `/wait` (def + time.sleep(0.05)) and `/asyncwait` (async def + "
                "asyncio.sleep) against a sequential, a thread-pool and an async client, 100 and "
                "1000 requests; then the same while `/fib/42` hogs the server.",
                "a sequential client sees ~1/0.05 = 20 req/s whatever the server; only "
                "concurrent clients show the server. 100 connections x 50 ms bound throughput at "
                "2000 req/s (Little's law), 1000 connections at 20000 req/s. Under a CPU hog, "
                "forkd's offloaded /fib runs on a thread while the event loop keeps serving; "
                "FastAPI's GIL is shared.")
    s.setup += [
        ctx.pinning_note(True),
        "one worker each: forkd -w 1 --threads 40 (40 = FastAPI's default thread pool, so "
        "offload and plain `def` have the same pool), uvicorn 1 worker",
        f"clients: sequential x{ctx['seq_n']} (urllib, a new connection each, like requests.get), "
        f"thread pool x{ctx['pool_n']} (one thread per request), asyncio x{ctx['async_n']} "
        "(100 keep-alive connections at most, like aiohttp's connector), "
        + (f"and x{ctx['big_n']} for both, " if ctx["big_n"] else "")
        + f"wrk -c100 for {ctx['wrk_s']} s",
        f"hog: one /fib/N at a time, back to back, on the target's server while it is measured "
        f"(forkd N={HOG_N['forkd']} offloaded, uvicorn N={HOG_N['uvicorn']} plain def); "
        "N differs so that each takes 0.3-0.5 s",
    ]
    server_cpus, _ = ctx.pinning(True)
    with Fleet(ctx, KEY) as fleet:
        forkd = fleet.start("forkd", workers=1, threads=40, cpus=server_cpus)
        uvicorn = fleet.start("uvicorn", cpus=server_cpus)
        targets = [("forkd /sleep/50 timer", forkd, "/sleep/50"),
                   ("forkd /sleep/50 offload", forkd, "/sleep/50?mode=offload"),
                   ("uvicorn /asyncwait", uvicorn, "/asyncwait"),
                   ("uvicorn /wait", uvicorn, "/wait")]
        idle, cases = phase(ctx, targets, hog=False)
        hogged, _ = phase(ctx, targets, hog=True)
        little = littles_law(ctx, forkd)
    keys = [key for key, _ in cases]
    results = [idle[k] for k in keys] + [hogged[k] for k in keys] + little
    ctx.record(KEY, results)
    s.results_table("50 ms wait, one worker (medians)", [idle[k] for k in keys],
                    [("client", "client"), ("target", "target")], summary=False)
    s.results_table("the same while a long /fib/N hogs the server (server CPU includes the "
                    "hog's)", [hogged[k] for k in keys],
                    [("client", "client"), ("target", "target")])
    client_names = [name for name, _ in clients(ctx)]
    labels = [label for label, _, _ in targets]
    for tag, table in (("idle", idle), ("hog", hogged)):
        png = ctx.out / f"{KEY}_{tag}.png"
        values = [[table[(c, t)]["rps"] for t in labels] for c in client_names]
        title = "50 ms wait: req/s by client" + (" — with a /fib hog" if tag == "hog" else "")
        s.plot(bars(png, title, "requests/s (log scale)", labels, client_names, values),
               f"seed 001, {tag}: requests/s per client and target")
    s.results_table(f"Little's law: forkd /sleep/50 timer, wrk for {ctx['little_s']} s "
                    "(bound: connections / 0.05 s)", little,
                    [("client", "client"), ("bound req/s", "bound")])
    ctx.metrics["sleep50"] = {str(conns): {"rps": r["rps"], "errors": r["errors"],
                                           "mean_ms": r["mean_ms"]}
                              for conns, r in zip(LITTLE_CONNECTIONS, little)}
    return s
