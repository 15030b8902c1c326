"""Seed 002 ("Make FastAPI run calls in parallel instead of serial"): block vs timer.

Owns the reproduction of the seed's Hello/Goodbye experiment as completion
timelines: 2 and 10 requests released together at /sleep/{ms}, once with
the blocking sleep on the event loop (forkd's `block`, FastAPI's async def +
time.sleep) and once with a timer (forkd's `timer`, asyncio.sleep), on one
worker. Serial shows as a staircase, concurrent as stacked bars.
"""

from clients import measured, python_client
from plots import timeline
from report import Section
from servers import Fleet

KEY = "seed002"


def run(ctx):
    ms = ctx["block_ms"]
    s = Section(KEY, f"Seed 002 — serial vs concurrent: /sleep/{ms}?mode=block vs timer",
                "seed 002: `time.sleep(5)` inside `async def /ping` serves requests one after "
                "another (Hello Goodbye Hello Goodbye); `await asyncio.sleep(5)` overlaps them.",
                "the blocking sleep on the loop serialises the worker: k requests finish after "
                "k x sleep; the timer finishes all of them after one sleep.")
    s.setup += [ctx.pinning_note(True),
                f"one worker each (forkd -w 1, uvicorn); sleep {ms} ms "
                f"(the seed sleeps 5 s; `--full` uses 1000 ms); a thread per request, "
                "all released at once by a barrier"]
    server_cpus, client_cpus = ctx.pinning(True)
    rows, results, late = [], [], []
    with Fleet(ctx, KEY) as fleet:
        servers = [fleet.start("forkd", workers=1, cpus=server_cpus),
                   fleet.start("uvicorn", cpus=server_cpus)]
        for server in servers:
            groups = []
            for mode in ("block", "timer"):
                for k in ctx["timeline_counts"]:
                    r = measured(server, python_client, "timeline",
                                 server.url(f"/sleep/{ms}?mode={mode}"), k, cpus=client_cpus)
                    r.update(mode=mode, concurrent=k)
                    results.append(r)
                    makespan = max(end for _, end, _ in r["spans_s"])
                    verdict = "serial" if makespan > 1.5 * ms / 1000 else "concurrent"
                    rows.append([server.label, mode, k, f"{makespan:.3f}",
                                 f"{k * ms / 1000:.3f}", f"{ms / 1000:.3f}", verdict,
                                 r["errors"]])
                    groups.append((f"{mode} x{k}", r["spans_s"]))
                    ends = sorted(end for _, end, _ in r["spans_s"])
                    if mode == "block" and k > 2 and ends[k // 2] > 0.9 * ends[-1]:
                        late.append(server.label)
            png = ctx.out / f"{KEY}_{server.kind}.png"
            s.plot(timeline(png, f"/sleep/{ms}: completion timeline — {server.label}", groups),
                   f"seed 002: {server.label}, one bar per request from start to end")
    ctx.record(KEY, results)
    for label in late:
        s.note(f"{label}, block: most answers arrived together at the very end, not one per "
               "sleep: a handler that blocks the loop also delays the sending of the answers "
               "already computed, because the loop runs the next blocked handler before it "
               "gets back to them.")
    s.table("time until the last of k requests answered",
            ["server", "mode", "k", "last answer s", "serial would be s", "concurrent would be s",
             "verdict", "errors"], rows)
    return s
