"""The hog (seed 001's lesson one level up, in puma PR 3969's shape): busy steering.

Owns the measurement of issue 11's "done when": two workers, one of them
stalled by an inline F(N) of about 2 s, while 10 other clients each open a new
connection per request (/hello and /sleep/50 in turn) in a closed loop that
waits for every request it started. Cases, alternated round by round: forkd
with busy steering on, the same with it off (today's stall), the same F(N)
offloaded (the fair reference: the same CPU burnt, no loop blocked), no hog at
all, and FastAPI on gunicorn with 2 uvicorn workers under its own inline twin
(`async def` fib of about the same duration). Reports throughput, p50/p99/max,
errors per case, the ratio steering-on / offloaded, and a latency-over-time plot.
"""

import json
import statistics
import subprocess
import urllib.request
from pathlib import Path

from clients import PYTHON, percentile
from report import Section, fmt
from servers import Fleet

KEY = "hog"
CLIENT = Path(__file__).resolve().parents[1] / "hog_client.py"
CLIENTS = 10
HOG_S = 2.0  # the hog's target duration on the idle server


def process_time(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()
        return float(r.headers.get("X-Process-Time", "nan"))


def wall_time(url):
    import time
    start = time.monotonic()
    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()
    return time.monotonic() - start


def calibrate(measure, url_of, first, last):
    """The smallest n in [first, last] whose hog takes >= 0.9 x HOG_S."""
    for n in range(first, last + 1):
        if measure(url_of(n)) >= 0.9 * HOG_S:
            return n
    return last


AFTER_HOG_MS = 50  # detection (busy_after_ms = 20, checked every 5 ms) and the client's own jitter


def slow_hellos(found):
    """Over the rounds of one case: /hello over 100 ms; those of them that started
    AFTER_HOG_MS or more after the hog was sent; the longest /hello started that late."""
    slow = slow_after = 0
    longest_after = 0.0
    for r in found:
        hog_at = r["hog"]["start_s"] if r["hog"] else None
        for path, start, end, ok in r["requests"]:
            if path != "/hello":
                continue
            ms = (end - start) * 1000
            slow += ms > 100
            if hog_at is not None and start >= hog_at + AFTER_HOG_MS / 1000:
                slow_after += ms > 100
                longest_after = max(longest_after, ms)
    return slow, slow_after, longest_after


def run_client(server, hog_path, duration_s):
    argv = [PYTHON, str(CLIENT), server.url(""), hog_path, str(CLIENTS), str(duration_s)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 180)
    if done.returncode != 0:
        raise RuntimeError(f"hog_client failed: {done.stderr[-2000:]}")
    raw = json.loads(done.stdout)
    if any(r[3] for r in raw["requests"]):
        server.answered = True  # --smoke checks that every server answered
    return raw


def summarize(raw, path):
    """Throughput and latency of one path's requests while the load ran."""
    reqs = [r for r in raw["requests"] if r[0] == path]
    ok = [r for r in reqs if r[3]]
    lat = sorted((r[2] - r[1]) * 1000 for r in ok)
    span = raw["hog_at_s"] + raw["duration_s"]
    return {
        "requests": len(ok), "errors": len(reqs) - len(ok),
        "rps": len(ok) / span if span > 0 else 0.0,
        "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
        "max_ms": lat[-1] if lat else 0.0,
    }


def median_of(runs, path, key):
    return statistics.median(summarize(r, path)[key] for r in runs)


def run(ctx):
    s = Section(KEY, "Hog — a blocked worker costs other clients nothing (busy steering)",
                "seed 001's hog, one level up: with per-worker SO_REUSEPORT queues the kernel "
                "keeps handing new connections to a worker whose loop is blocked; puma PR 3969's "
                "measurement shape (one worker held by a long request, the others' latency)",
                "with busy steering, new connections go to the worker that is free and what was "
                "queued on the blocked one is taken over: the other clients see about what they "
                "see while the same F(N) runs offloaded; without it they stall for the hog's "
                "duration, like every prefork server")
    duration = ctx["hog_s"]
    s.setup += [
        "server and client unpinned (they share all cores: 2 workers + the hog + the client)",
        f"forkd -w 2 --threads 2; gunicorn -w 2 with uvicorn workers (FastAPI); {CLIENTS} client "
        f"threads in a closed loop of new-connection GET /hello and {CLIENTS} more of GET /sleep/50 "
        f"(one process, `lib/hog_client.py`), for {duration} s after the hog is sent (0.2 s in); "
        "every request waited for and counted; req/s over the whole run",
        "a /sleep/50 already in flight on the worker when the hog begins waits for the hog, "
        "steering or not (its timer runs on that blocked loop): /sleep/50's max shows it",
        f"rounds: {ctx['rounds']}, the cases alternating; medians over the rounds",
    ]
    with Fleet(ctx, KEY) as fleet:
        on = fleet.start("forkd", workers=2, threads=2, label="forkd steering on")
        off = fleet.start("forkd", workers=2, threads=2, label="forkd steering off", busy_steering=False)
        guni = fleet.start("gunicorn", workers=2)
        n = calibrate(process_time, lambda k: on.url(f"/fib/{k}?mode=inline"), 36, 48)
        n_py = calibrate(wall_time, lambda k: guni.url(f"/fib/{k}?mode=inline"), 26, 36)
        s.setup.append(f"hog: forkd /fib/{n} (calibrated to take about {HOG_S} s inline here), "
                       f"FastAPI /fib/{n_py} (async def, about as long)")
        cases = [
            ("forkd, steering on, inline hog", on, f"/fib/{n}?mode=inline"),
            ("forkd, steering off, inline hog", off, f"/fib/{n}?mode=inline"),
            ("forkd, offloaded hog (reference)", on, f"/fib/{n}?mode=offload"),
            ("forkd, no hog", on, "-"),
            ("gunicorn+uvicorn w2, inline hog", guni, f"/fib/{n_py}?mode=inline"),
        ]
        runs = {label: [] for label, _, _ in cases}
        for _ in range(ctx["rounds"]):
            for label, server, hog_path in cases:
                runs[label].append(run_client(server, hog_path, duration))

    rows, results = [], []
    for label, _, _ in cases:
        found = runs[label]
        hog_s = [r["hog"]["end_s"] - r["hog"]["start_s"] for r in found if r["hog"]]
        result = {"case": label}
        for path in ("/hello", "/sleep/50"):
            tag = path.strip("/").split("/")[0]
            for key in ("rps", "p50_ms", "p99_ms", "max_ms"):
                result[f"{tag}_{key}"] = median_of(found, path, key)
            result[f"{tag}_errors"] = sum(summarize(r, path)["errors"] for r in found)
        result["hog_ok"] = all(r["hog"]["ok"] for r in found if r["hog"])
        result["hog_s"] = statistics.median(hog_s) if hog_s else None
        results.append(result)
        rows.append([label, fmt(result["hello_rps"], ".0f"), fmt(result["hello_p50_ms"], ".1f"),
                     fmt(result["hello_p99_ms"], ".1f"), fmt(result["hello_max_ms"], ".0f"),
                     fmt(result["sleep_rps"], ".0f"), fmt(result["sleep_p99_ms"], ".1f"),
                     fmt(result["sleep_max_ms"], ".0f"),
                     str(result["hello_errors"] + result["sleep_errors"]),
                     fmt(result["hog_s"], ".2f") if result["hog_s"] is not None else "-"])
    ctx.record(KEY, results)
    s.table("other clients' new-connection requests during the hog (medians)",
            ["case", "/hello req/s", "p50 ms", "p99 ms", "max ms", "/sleep/50 req/s", "p99 ms",
             "max ms", "errors", "hog s (its client)"], rows)
    by = {r["case"]: r for r in results}
    steer, ref = by[cases[0][0]], by[cases[2][0]]
    ratio = steer["hello_rps"] / ref["hello_rps"] if ref["hello_rps"] else 0.0
    slow, slow_after, longest_after = slow_hellos(runs[cases[0][0]])
    met = ratio >= 0.9 and steer["hello_max_ms"] < 100 and steer["hello_errors"] + steer["sleep_errors"] == 0
    s.table("done when: steering on vs the offloaded reference",
            ["/hello req/s steering on", "offloaded", "ratio (target >= 0.90)", "longest /hello ms (< 100)",
             "/hello over 100 ms (all rounds)", f"of them started >= {AFTER_HOG_MS} ms after the hog",
             f"longest of those started >= {AFTER_HOG_MS} ms after", "errors", "verdict"],
            [[fmt(steer["hello_rps"], ".0f"), fmt(ref["hello_rps"], ".0f"), fmt(ratio, ".2f"),
              fmt(steer["hello_max_ms"], ".0f"), str(slow), str(slow_after), fmt(longest_after, ".0f"),
              str(steer["hello_errors"] + steer["sleep_errors"]), "met" if met else "NOT met"]], summary=True)
    s.note(f"A /hello that reaches the hog's worker in the same instant as the hog (sent less than "
           f"{AFTER_HOG_MS} ms after it, by this client's clock) can be caught behind it: that worker "
           "owns it already when its loop blocks (README, busy steering, limits). The columns on "
           f"requests started {AFTER_HOG_MS} ms or more after the hog show what steering promises.")
    ctx.metrics["hog"] = {"ratio": ratio, "max_ms": steer["hello_max_ms"], "met": met,
                          "slow": slow, "slow_after": slow_after, "longest_after_ms": longest_after}

    # Latency over time, one colour per case: the stall and its end.
    png = ctx.out / f"{KEY}_latency.png"
    data = ctx.data / f"{KEY}_latency.dat"
    blocks = []
    for label, _, _ in cases:
        first = runs[label][0]
        # Every slow request (>= 20 ms) and every 10th of the fast ones: the
        # plot shows the stall, and the data file stays small.
        points = [r for i, r in enumerate(sorted(first["requests"], key=lambda r: r[1]))
                  if r[3] and (r[2] - r[1] >= 0.02 or i % 10 == 0)]
        blocks.append("\n".join(f"{r[1]:.4f} {max((r[2] - r[1]) * 1000, 0.01):.3f}"
                                for r in points) or "0 0.01")
    data.write_text("\n\n\n".join(blocks) + "\n")
    titles = " ".join(label.replace(" ", "_").replace(",", "") for label, _, _ in cases)
    from plots import gnuplot
    s.plot(gnuplot("latency_time.gp", png, datafile=data, title="other clients' latency, first round",
                   titles=titles, hog_at=0.2),
           "hog: each request's latency against when it started (first round; every request "
           "of 20 ms or more, one in ten of the faster ones)")
    return s
