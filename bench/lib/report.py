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

FIBO_SLEEP_20_MS = 6765 / 1000  # F(20) / 1e6 seconds, in ms


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

def goals(m):
    """[(goal, measured, target, ratio, met)] from ctx.metrics; 'not measured' where missing."""
    rows = []

    def add(goal, needed, measure):
        if all(k in m and m[k] for k in needed):
            measured, target, ratio, met = measure()
            rows.append((goal, measured, target, f"{ratio:.3f}", "met" if met else "NOT met"))
        else:
            rows.append((goal, "not measured", "", "", "n/a"))

    def faster(a, b, factor, unit="req/s"):
        ratio = m[a] / m[b]
        return (f"{m[a]:.0f} vs {m[b]:.0f} {unit}", f">= {factor:g}x", ratio, ratio >= factor)

    w = m.get("throughput_workers", 1)
    add(f"/hello keep-alive req/s >= nginx's ({w} worker{'s' * (w > 1)} each)",
        ["hello_ka_forkd", "hello_ka_nginx"], lambda: faster("hello_ka_forkd", "hello_ka_nginx", 1))
    add(f"/hello pipelined x16 req/s >= nginx's ({w} worker{'s' * (w > 1)} each)",
        ["hello_pipe_forkd", "hello_pipe_nginx"],
        lambda: faster("hello_pipe_forkd", "hello_pipe_nginx", 1))
    add("/hello keep-alive req/s >= 20x gunicorn+uvicorn's",
        ["hello_ka_forkd", "hello_ka_gunicorn"],
        lambda: faster("hello_ka_forkd", "hello_ka_gunicorn", 20))

    def littles_law():
        ceiling = 100 / 0.050
        ratio = m["sleep50_c100_rps"] / ceiling
        return (f"{m['sleep50_c100_rps']:.0f} req/s (ceiling {ceiling:.0f})", ">= 0.98", ratio,
                ratio >= 0.98)
    add("/sleep/50 at 100 connections >= 98% of Little's-law ceiling (100/0.05 s)",
        ["sleep50_c100_rps"], littles_law)

    def fib_ceiling():
        ceiling = m["fib25_cores"] / m["fib25_service_s"]
        ratio = m["fib25_rps"] / ceiling
        return (f"{m['fib25_rps']:.0f} req/s (ceiling {ceiling:.0f} = {m['fib25_cores']} cores / "
                f"{m['fib25_service_s'] * 1e6:.0f} us per request)", ">= 0.95", ratio,
                ratio >= 0.95)
    add("/fib/25?mode=offload >= 95% of cores / single-request service time",
        ["fib25_rps", "fib25_service_s", "fib25_cores"], fib_ceiling)

    def par_p95():
        ratio = m["fibo_sleep_par_p95_ms"] / FIBO_SLEEP_20_MS
        return (f"p95 {m['fibo_sleep_par_p95_ms']:.2f} ms (sleep {FIBO_SLEEP_20_MS:.3f} ms)",
                "<= 1.2", ratio, ratio <= 1.2)
    where = m.get("fibo_sleep_par_where")
    add("/fibo_sleep/20?mode=par p95 <= 1.2x its sleep time" + (f" ({where})" if where else ""),
        ["fibo_sleep_par_p95_ms"], par_p95)

    def rss():
        ratio = m["rss_forkd_kib"] / m["rss_nginx_kib"]
        return (f"{m['rss_forkd_kib']} vs {m['rss_nginx_kib']} KiB", "<= 1.0", ratio, ratio <= 1.0)
    add("idle worker RSS <= nginx worker RSS", ["rss_forkd_kib", "rss_nginx_kib"], rss)
    return rows


def goals_table(metrics):
    return markdown_table(["goal", "measured", "target", "ratio", "result"], goals(metrics))


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
    py = command_output(["/usr/bin/python3", "-c",
                         "import fastapi, uvicorn, gunicorn, uvloop, httptools, sys;"
                         "print('python', sys.version.split()[0], 'fastapi', fastapi.__version__,"
                         " 'uvicorn', uvicorn.__version__, 'gunicorn', gunicorn.__version__,"
                         " 'uvloop', uvloop.__version__, 'httptools', httptools.__version__)"])
    wrk = command_output(["wrk", "-v"]).splitlines()
    ab = command_output(["ab", "-V"]).splitlines()
    ab_version = ab[0].split("Version ")[-1].split()[0] if ab else "?"
    return f"{nginx}; {py}; {wrk[0].split(' [')[0] if wrk else 'wrk ?'}; ab {ab_version}"


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
    lines += ["", "## Goals", "", goals_table(ctx.metrics), ""]
    for section in sections:
        lines.append(section.markdown())
    report = ctx.out / "report.md"
    report.write_text("\n".join(lines) + "\n")
    (ctx.out / "results.json").write_text(json.dumps(
        {"metrics": ctx.metrics, "results": ctx.results}, indent=1, default=str))
    return report


def summary(ctx, sections):
    out = ["", f"== forkd bench ({ctx.profile_name}) — {hardware_line()}", "",
           goals_table(ctx.metrics), ""]
    for section in sections:
        if section.summary:
            caption, md = section.summary
            out += [caption, "", md, ""]
        if section.error:
            out += [f"{section.title}: FAILED — {section.error.strip().splitlines()[-1]}", ""]
    return "\n".join(out)


def now():
    return datetime.datetime.now()
