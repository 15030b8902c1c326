"""PNG plots: write a data file, run one of bench/plots/*.gp through gnuplot.

Owns the data-file formats those scripts read and the gnuplot command line.
Must not compute results; it draws what the scenarios hand it. A plot that
gnuplot fails to draw raises PlotError with gnuplot's message.
"""

import math
import subprocess
from pathlib import Path

PLOTS_DIR = Path(__file__).resolve().parents[1] / "plots"


class PlotError(RuntimeError):
    pass


def quote(text):
    return '"' + str(text).replace('"', "'") + '"'


def gp_string(value):
    return "'" + str(value).replace("'", "") + "'"


def data_path(out_png):
    """The data file behind a plot: data/<plot name>.dat beside the PNG."""
    folder = Path(out_png).parent / "data"
    folder.mkdir(exist_ok=True)
    return folder / (Path(out_png).stem + ".dat")


def gnuplot(script, out_png, **variables):
    assigns = "; ".join(f"{k}={gp_string(v) if isinstance(v, (str, Path)) else v}"
                        for k, v in variables.items())
    argv = ["gnuplot", "-e", f"out={gp_string(out_png)}; {assigns}", str(PLOTS_DIR / script)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not Path(out_png).exists():
        raise PlotError(f"gnuplot {script} failed: {done.stderr[-1000:]}")
    return Path(out_png)


def bars(out_png, title, ylabel, series, groups, values, logscale=True):
    """values[g][s]: the bar of series s in group g (None: no bar)."""
    data = data_path(out_png)
    lines = [" ".join(["label"] + [quote(s) for s in series])]
    for g, row in zip(groups, values):
        cells = ["NaN" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.6g}"
                 for v in row]
        lines.append(" ".join([quote(g)] + cells))
    data.write_text("\n".join(lines) + "\n")
    positive = [v for row in values for v in row if v]
    floor = 10 ** math.floor(math.log10(min(positive) / 2)) if positive else 1
    return gnuplot("bars.gp", out_png, datafile=data, title=title, ylabel=ylabel,
                   ncols=len(series) + 1, logscale=1 if logscale else 0, ymin=floor)


def percentiles(out_png, title, curves):
    """curves: [(title_without_spaces, ab_csv_path)]."""
    files = " ".join(str(path) for _, path in curves)
    titles = " ".join(name.replace(" ", "_") for name, _ in curves)
    return gnuplot("percentiles.gp", out_png, files=files, titles=titles, title=title)


def timeline(out_png, title, groups):
    """groups: [(label, [[start_s, end_s, ok], ...])]; one colour per group."""
    data = data_path(out_png)
    lines, ticks, row = [], [], 0
    for index, (label, spans) in enumerate(groups, start=1):
        first = row
        for start, end, _ok in sorted(spans, key=lambda span: span[1]):  # by end: a staircase
            lines.append(f"{row} {start:.6f} {end:.6f} {index}")
            row += 1
        ticks.append(f'"{label}" {(first + row - 1) / 2:.1f}')
        row += 1  # a blank row between groups
    data.write_text("\n".join(lines) + "\n")
    yticsdef = "set ytics (" + ", ".join(ticks) + ")"
    return gnuplot("timeline.gp", out_png, datafile=data, title=title, yticsdef=yticsdef,
                   rows=row)


def scaling(out_png, title, points):
    """points: [(workers, measured_rps, ideal_rps)]."""
    data = data_path(out_png)
    data.write_text("".join(f"{w} {m:.3f} {i:.3f}\n" for w, m, i in points))
    return gnuplot("scaling.gp", out_png, datafile=data, title=title)


def memory(out_png, title, points):
    """points: [(idle connections, worker RSS KiB)]."""
    data = data_path(out_png)
    data.write_text("".join(f"{n} {kib}\n" for n, kib in points))
    return gnuplot("memory.gp", out_png, datafile=data, title=title)
