"""bench/run's body: parse the command line, run the scenarios, write the report.

Owns the order of a run (output folder, each scenario in turn, report,
summary), the guarantee that every server started is stopped even when a
scenario fails or the run is interrupted, and --smoke's checks: every
server started, answered and was stopped (h2o among them), report.md and
every plot were written, the goals table has every row; never a speed
threshold. Ends a smoke run with "N passed, N failed".
Must not build forkd or install packages (bench/run does, before this).
"""

import sys

sys.dont_write_bytecode = True  # keep bench/lib free of __pycache__

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import report  # noqa: E402
from profiles import PROFILES  # noqa: E402
from measure import Context  # noqa: E402
from scenarios import ORDER  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parents[1]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def parse(argv):
    p = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n")[0])
    g = p.add_mutually_exclusive_group()
    for name in PROFILES:
        g.add_argument(f"--{name}", dest="profile", action="store_const", const=name,
                       help=f"profile '{name}' (bench/lib/profiles.py)")
    p.add_argument("--out", type=Path, default=BENCH_DIR / "results",
                   help="results root; the run writes OUT/<timestamp>-<profile>/ (default "
                        "bench/results)")
    p.add_argument("--forkd", type=Path, default=os.environ.get("FORKD_BIN"),
                   help="the forkd binary (default: $FORKD_BIN)")
    p.add_argument("scenarios", nargs="*", metavar="scenario",
                   help=f"any of {', '.join(ORDER)} (default: all)")
    args = p.parse_args(argv)
    args.profile = args.profile or "quick"
    unknown = [s for s in args.scenarios if s not in ORDER]
    if unknown:
        p.error(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    if not args.forkd or not Path(args.forkd).is_file():
        p.error(f"no forkd binary at {args.forkd!r} (give --forkd or FORKD_BIN)")
    return args


def on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def run_scenarios(ctx, names):
    sections = []
    for name in names:
        module = importlib.import_module(f"scenarios.{name}")
        print(f"-- {name} ...", flush=True)
        started = report.now()
        try:
            section = module.run(ctx)
        except Exception:  # a failed scenario is reported; the others still run
            section = report.Section(name, f"{name} (failed)", "", "")
            section.error = traceback.format_exc()
            print(section.error, file=sys.stderr, flush=True)
        ctx.ran[name] = section.error
        took = (report.now() - started).total_seconds()
        print(f"   {name} took {took:.0f} s", flush=True)
        sections.append(section)
    return sections


def smoke_checks(ctx, sections, report_path):
    """[(ok, what)] for --smoke."""
    checks = []
    for section in sections:
        checks.append((section.error is None, f"scenario {section.key} ran"
                       + (f": {section.error.strip().splitlines()[-1]}" if section.error else "")))
        checks.append((bool(section.plots), f"scenario {section.key} drew a plot"))
        for png in section.plots:
            ok = png.is_file() and png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000
            checks.append((ok, f"plot {png.name} written"))
    for server in ctx.all_servers:
        where = f"{server.run_dir.parent.name}/{server.label}"
        checks.append((server.started, f"{where} started"))
        checks.append((server.answered, f"{where} answered"))
        checks.append((server.stopped, f"{where} stopped (exit status {server.exit_status})"))
    kinds = {server.kind for server in ctx.all_servers if server.started and server.answered
             and server.stopped}
    if "throughput" in ctx.ran:
        checks.append(("h2o" in kinds, "an h2o peer started, answered and was stopped"))
    text = report_path.read_text() if report_path.is_file() else ""
    checks.append(("## Goals" in text and len(sections) == text.count("\n## ") - 1,
                   f"{report_path.name} written with every section"))
    # Every goal has its row, in order, with a result or the reason it has none.
    for goal, _, measured, _, result in report.goals(ctx.metrics, ctx.ran):
        row = f"| {goal} |"
        ok = row in text and (result in ("met", "NOT met")
                              or measured.startswith("not measured: "))
        checks.append((ok, f"goal row: {goal}: {result}"))
    checks.append((report.DROPPED_HEAD in text, "the dropped goals are named under the table"))
    return checks


def main(argv):
    args = parse(argv)
    started = report.now()
    out = args.out / f"{started.strftime('%Y%m%d-%H%M%S')}-{args.profile}"
    out.mkdir(parents=True, exist_ok=True)
    ctx = Context(args.profile, PROFILES[args.profile], out, Path(args.forkd).resolve())
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    print(f"forkd bench, profile {args.profile}, results in {out}", flush=True)
    sections = []
    try:
        sections = run_scenarios(ctx, args.scenarios or ORDER)
    finally:
        for server in ctx.all_servers:  # the scenarios stop theirs; this is the safety net
            if not server.stopped:
                server.stop()
    report_path = report.write(ctx, sections, started, report.now())
    print(report.summary(ctx, sections))
    print(f"report: {report_path}")
    if args.profile != "smoke":
        return 0 if all(s.error is None for s in sections) else 1
    checks = smoke_checks(ctx, sections, report_path)
    for ok, what in checks:
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
    failed = sum(1 for ok, _ in checks if not ok)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
