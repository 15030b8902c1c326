"""report.md: the sections the scenarios fill, forkd's goals, the summary table.

Owns the Markdown layout (one section per scenario: what it reproduces, how
it was set up, its tables and plots), the goals table (each goal a ratio of
two numbers measured in this same run, marked met or not), and the summary
printed at the end of bench/run. Must not run anything but read-only system
queries (lscpu, uname, versions) for the header.
"""

import datetime
import json
import platform
import subprocess

from measure import background_load, cpu_snapshot, loadavg

class Section:
    """One scenario's part of the report."""

    def __init__(self, key, title, reproduces, shows):
        self.key, self.title, self.reproduces, self.shows = key, title, reproduces, shows
        self.setup = []
        self.blocks = []
        self.plots = []
        self.summary = None  # (caption, markdown table) shown in the closing summary
        self.error = None

    def note(self, text):
        self.blocks.append(text)

    def table(self, caption, header, rows, summary=False):
        md = markdown_table(header, rows)
        self.blocks.append(f"**{caption}**\n\n{md}")
        if summary:
            self.summary = (caption, md)

    def results_table(self, caption, results, labels, summary=False):
        """labels: [(column header, key in each result)], then the standard metrics."""
        header = [h for h, _ in labels] + ["req/s", "mean ms", "p50 ms", "p95 ms", "p99 ms",
                                           "errors", "req/s per server CPU-s", "requests"]
        rows = []
        for r in results:
            rows.append([str(r.get(k, "")) for _, k in labels] + [
                fmt(r["rps"], ".1f"), fmt(r["mean_ms"], ".2f"), fmt(r["p50_ms"], ".2f"),
                fmt(r["p95_ms"], ".2f"), fmt(r["p99_ms"], ".2f"), str(r["errors"]),
                fmt(r.get("rps_per_cpu_s"), ".0f"), str(r["requests"])])
        self.table(caption, header, rows, summary)

    def plot(self, path, caption):
        self.plots.append(path)
        self.blocks.append(f"![{caption}]({path.name})\n\n*{caption}*")

    def markdown(self):
        out = [f"## {self.title}", "", f"*Reproduces:* {self.reproduces}", "",
               f"*Shows:* {self.shows}", ""]
        if self.setup:
            out += ["*Set-up:*", ""] + [f"- {line}" for line in self.setup] + [""]
        if self.error:
            out += ["**This scenario failed:**", "", "```", self.error.rstrip(), "```", ""]
        for block in self.blocks:
            out += [block, ""]
        return "\n".join(out)


def fmt(value, spec):
    """A number for a table cell; '—' where it was not measured (None)."""
    return "—" if value is None else format(value, spec)


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- goals
#
# Every goal is a ratio of what the server controls, both sides measured in the
# same run: throughput per server CPU-second against a peer, CPU per request
# against the work's own cost, latency against the same client's floor on a
# no-work endpoint. Raw figures that the client (sharing the 2 cores) limits
# stay in the scenarios' sections; dropped() says which goals were retired and why.

IDLE_CONN_TARGET_KIB = 4.0
DROPPED_HEAD = "Dropped goals:"


def dropped(m):
    """The paragraph under the goals table: which goals were retired and why, with
    this run's nginx / gunicorn ratio where it measured one."""
    try:
        load = m["hello_loads"]["keepalive"][0]
        ratio = _hello(m, load, "nginx")["rps"] / _hello(m, load, "gunicorn+uvicorn")["rps"]
        seen = f"; in this run nginx made {ratio:.1f}x gunicorn's req/s"
    except (KeyError, TypeError, ZeroDivisionError):
        seen = ""
    return (f"{DROPPED_HEAD} \"/hello keep-alive >= 20x gunicorn+uvicorn\" (no server can meet "
            f"it on 2 shared cores: nginx itself made 5.5x in the committed full run{seen}; wrk on "
            "the other core is the limit long before the server is); \"/fib/25 offload >= 95% "
            "of cores / service time\" and \"/fibo_sleep/20 par p95 <= 1.2x its sleep\" (raw "
            "ceilings that ignore that wrk and ab share the two cores: they judged the client, "
            "not the server; the server-side ratios above replace them); \"idle worker RSS <= "
            "nginx's\" (a start-up figure; the per-connection RSS above is what grows). Their "
            "raw figures stay in the sections below.")


class Goal:
    """One row: `measure(m)` -> (measured text, ratio text, met) from ctx.metrics, or
    raises KeyError/TypeError when the run did not record what it needs."""

    def __init__(self, title, target, scenario, measure):
        self.title, self.target, self.scenario, self.measure = title, target, scenario, measure


def _hello(m, load, kind):
    return m["hello"][load][kind]


def _per_cpu(conns, peer, factor):
    def measure(m):
        load = f"keep-alive c{conns}"
        me, them = _hello(m, load, "forkd"), _hello(m, load, peer)
        ratio = me["per_cpu_s"] / them["per_cpu_s"]
        return (f"{me['per_cpu_s']:.0f} vs {them['per_cpu_s']:.0f} req/s per server CPU-s "
                f"({me['rps']:.0f} vs {them['rps']:.0f} req/s)", f"{ratio:.3f}x",
                ratio >= factor)
    return measure


def _every_round(conns):
    def measure(m):
        load = f"keep-alive c{conns}"
        me, them = _hello(m, load, "forkd"), _hello(m, load, "nginx")
        ratios = [a / b for a, b in zip(me["rounds_rps"], them["rounds_rps"])]
        return (f"forkd/nginx req/s by round: {', '.join(f'{r:.3f}' for r in ratios)} "
                f"(medians {me['rps']:.0f} vs {them['rps']:.0f})",
                f"{min(ratios):.3f}x (lowest)", min(ratios) >= 1.0)
    return measure


def _pipelined(m):
    load = m["hello_loads"]["pipelined"]
    me, them = _hello(m, load, "forkd"), _hello(m, load, "nginx")
    ratio = me["rps"] / them["rps"]
    return f"{me['rps']:.0f} vs {them['rps']:.0f} req/s", f"{ratio:.3f}x", ratio >= 1.0


def _timer(conns):
    def measure(m):
        r = m["sleep50"][str(conns)]
        bound = conns / 0.050
        ratio = r["rps"] / bound
        # Shown, not judged: the steady-state rate Little's law gives from wrk's mean
        # latency (connections / mean), free of the run's ramp-up and of the answers
        # still in flight when wrk stops, which its own count leaves out.
        steady = (f"; steady state {conns / (r['mean_ms'] / 1000):.0f} req/s "
                  f"(connections / mean latency {r['mean_ms']:.2f} ms)" if r.get("mean_ms") else "")
        return (f"{r['rps']:.0f} req/s of {bound:.0f} ({conns} / 0.05 s), {r['errors']} "
                f"errors{steady}", f"{ratio:.3f}", ratio >= 0.98 and r["errors"] == 0)
    return measure


def _fib_offload(m):
    # Both sides are server CPU per request, read from /proc the same way, on the
    # same server under the same wrk, alternated: only the mode differs, so the
    # ratio is what the hand-off to a thread costs. The
    # X-Process-Time of F(25) alone (idle server) is shown, not judged: CPU per
    # request also holds the HTTP and kernel TCP work and what a busy host's
    # shared cores slow down, which X-Process-Time leaves out.
    cpu, inline = m["fib25_offload_cpu_s"], m["fib25_inline_cpu_s"]
    ratio = cpu / inline
    return (f"{cpu * 1e6:.0f} us server CPU per offload request vs {inline * 1e6:.0f} us per "
            f"inline request ({m['fib25_where']}; F(25) alone, X-Process-Time on the idle "
            f"server: median {m['fib25_inline_s'] * 1e6:.0f} us)", f"{ratio:.3f}x",
            ratio <= 1.05)


def _par_p95(m):
    par, floor = m["fibo_sleep_par_p95_ms"], m["sleep7_p95_ms"]
    ratio = par / floor
    return (f"par p95 {par:.2f} ms vs /sleep/7 p95 {floor:.2f} ms ({m['fibo_sleep_par_where']})",
            f"{ratio:.3f}x", ratio <= 1.1)


def _idle_conns(m):
    r = m["idle_conns"]
    kib = r["kib_per_conn"]
    note = f"; {r['note']}" if r.get("note") else ""
    return (f"{r['count']} connections on one worker: RSS {r['rss_before_kib']} -> "
            f"{r['rss_after_kib']} KiB, {r['closed']} closed by the server{note}",
            f"{kib:.2f} KiB", kib <= IDLE_CONN_TARGET_KIB and r["closed"] == 0
            and r["failed"] == 0)


GOALS = [
    Goal("/hello keep-alive, 64 connections: req/s per server CPU-s vs nginx", ">= 1.05x",
         "throughput", _per_cpu(64, "nginx", 1.05)),
    Goal("/hello keep-alive, 64 connections: req/s per server CPU-s vs h2o", ">= 1.0x",
         "throughput", _per_cpu(64, "h2o", 1.0)),
    Goal("/hello keep-alive, 256 connections: req/s per server CPU-s vs nginx", ">= 1.05x",
         "throughput", _per_cpu(256, "nginx", 1.05)),
    Goal("/hello keep-alive, 256 connections: req/s per server CPU-s vs h2o", ">= 1.0x",
         "throughput", _per_cpu(256, "h2o", 1.0)),
    Goal("/hello keep-alive, 64 connections, pinned apart: req/s vs nginx",
         ">= 1.0x in every round", "throughput", _every_round(64)),
    Goal("/hello keep-alive, 256 connections, pinned apart: req/s vs nginx",
         ">= 1.0x in every round", "throughput", _every_round(256)),
    Goal("/hello pipelined x16: req/s vs nginx (keep the lead)", ">= 1.0x", "throughput",
         _pipelined),
    Goal("/sleep/50 (timer), 100 connections: req/s vs connections / 0.05 s", ">= 0.98",
         "seed001", _timer(100)),
    Goal("/sleep/50 (timer), 1000 connections: req/s vs connections / 0.05 s", ">= 0.98",
         "seed001", _timer(1000)),
    Goal("/fib/25?mode=offload: server CPU per request vs F(25) inline (keep it)", "<= 1.05x",
         "scaling", _fib_offload),
    Goal("/fibo_sleep/20?mode=par p95 vs /sleep/7 p95 under the same ab -c100 (keep it)",
         "<= 1.1x", "seed000", _par_p95),
    Goal("10,000 idle keep-alive connections on one worker: RSS per connection (keep it)",
         f"<= {IDLE_CONN_TARGET_KIB:g} KiB", "connections", _idle_conns),
]


def goals(m, ran=None):
    """[(goal, target, measured, ratio, result)] from ctx.metrics. ran: {scenario: error
    or None} for the scenarios this run ran; a goal whose numbers are missing says
    'not measured' and why (m["why_not"][scenario] when the scenario said why)."""
    ran = ran if ran is not None else {}
    rows = []
    for goal in GOALS:
        try:
            measured, ratio, met = goal.measure(m)
        except (KeyError, TypeError, ZeroDivisionError, ValueError):
            why = m.get("why_not", {}).get(goal.scenario)
            if not why:
                if goal.scenario not in ran:
                    why = f"scenario {goal.scenario} was not run"
                elif ran[goal.scenario]:
                    why = f"scenario {goal.scenario} failed"
                else:
                    why = f"scenario {goal.scenario} did not record it"
            rows.append((goal.title, goal.target, f"not measured: {why}", "—", "n/a"))
            continue
        rows.append((goal.title, goal.target, measured, ratio, "met" if met else "NOT met"))
    return rows


def goals_table(metrics, ran=None):
    return markdown_table(["goal", "target", "measured", "ratio", "result"],
                          goals(metrics, ran))


# ---------------------------------------------------------------- header

def command_output(argv):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (done.stdout + done.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def hardware_line():
    lscpu = command_output(["lscpu"])
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), platform.processor() or "unknown CPU")
    cpus = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                 if line.startswith("CPU(s)")), "?")
    hyper = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Hypervisor vendor")), "")
    kernel = command_output(["uname", "-r"])
    return f"{model}, {cpus} CPUs" + (f" ({hyper} guest)" if hyper else "") + f", Linux {kernel}"


def versions():
    nginx = command_output(["nginx", "-v"]).replace("nginx version: ", "")
    h2o = (command_output(["h2o", "--version"]).splitlines() or ["h2o ?"])[0]
    h2o = h2o.replace("h2o version ", "h2o/")
    py = command_output(["/usr/bin/python3", "-c",
                         "import fastapi, uvicorn, gunicorn, uvloop, httptools, sys;"
                         "print('python', sys.version.split()[0], 'fastapi', fastapi.__version__,"
                         " 'uvicorn', uvicorn.__version__, 'gunicorn', gunicorn.__version__,"
                         " 'uvloop', uvloop.__version__, 'httptools', httptools.__version__)"])
    wrk = command_output(["wrk", "-v"]).splitlines()
    ab = command_output(["ab", "-V"]).splitlines()
    ab_version = ab[0].split("Version ")[-1].split()[0] if ab else "?"
    return f"{nginx}; {h2o}; {py}; {wrk[0].split(' [')[0] if wrk else 'wrk ?'}; ab {ab_version}"


def write(ctx, sections, started, finished):
    when = started.strftime("%Y-%m-%d %H:%M:%S")
    lines = [
        "# forkd benchmark report", "",
        f"- Date: {when} (took {(finished - started).total_seconds():.0f} s), "
        f"profile `{ctx.profile_name}`",
        f"- Hardware: {hardware_line()}",
        f"- forkd: `{ctx.forkd_bin}`",
        f"- Peers and clients: {versions()}",
        f"- Pinning: where a section says so, single-process servers run on CPU "
        f"{ctx.server_cpus} and the client on CPU {ctx.client_cpus} (taskset); "
        "multi-worker servers and the scaling runs share all cores with the client.",
        "- Method: the same client for every server; the cases of a table run in alternation "
        "(A B C, A B C, ...) and each number is the median over the rounds (errors and "
        "requests are summed). Server CPU time (for req/s per server CPU-second) is read before "
        "and after each run from /proc of the server and all its descendants: each live "
        "thread's schedstat (ns), plus cutime+cstime of reaped children.",
    ]
    others, share = background_load(ctx.cpu_start, cpu_snapshot(), ctx.cores)
    lines.append(f"- Other load on the machine during the run: {others:.0f} CPU-s used by "
                 f"processes outside the benchmark ({share:.0%} of {ctx.cores} cores); load "
                 f"average {ctx.loadavg_start} at the start, {loadavg()} at the end"
                 + (". **The machine was not idle: treat the numbers with care.**"
                    if share > 0.05 else "."))
    lines += ["", "## Goals", "", goals_table(ctx.metrics, ctx.ran), "", dropped(ctx.metrics), ""]
    for section in sections:
        lines.append(section.markdown())
    report = ctx.out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (ctx.out / "results.json").write_text(json.dumps(
        {"metrics": ctx.metrics, "results": ctx.results}, indent=1, default=str))
    return report


def summary(ctx, sections):
    out = ["", f"== forkd bench ({ctx.profile_name}) — {hardware_line()}", "",
           goals_table(ctx.metrics, ctx.ran), ""]
    for section in sections:
        if section.summary:
            caption, md = section.summary
            out += [caption, "", md, ""]
        if section.error:
            out += [f"{section.title}: FAILED — {section.error.strip().splitlines()[-1]}", ""]
    return "\n".join(out)


def now():
    return datetime.datetime.now()
