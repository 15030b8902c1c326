"""The run's context and the honest-measurement rule: alternate, then take medians.

Owns the Context every scenario receives (profile counts, output folders,
forkd binary, cores and the CPU pinning policy, every server started, the
metrics the goals are computed from) and `alternate()`, which runs a list of
cases round after round (A B C, A B C, ...) with the same client for every
server, and reduces each case to the median of every metric.
Must not start servers or draw plots.
"""

import os
import resource
import statistics
import time

METRICS = ("rps", "mean_ms", "p50_ms", "p95_ms", "p99_ms", "duration_s",
           "server_cpu_s", "rps_per_cpu_s")


def cpu_snapshot():
    """(wall s, CPU-s busy on the whole machine, CPU-s of this process and everything
    it started and reaped). Busy = /proc/stat's user+nice+system+irq+softirq+steal."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    busy = sum(fields[i] for i in (0, 1, 2, 5, 6, 7)) / os.sysconf("SC_CLK_TCK")
    ours = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        ours += usage.ru_utime + usage.ru_stime
    return time.monotonic(), busy, ours


def background_load(start, end, cores):
    """CPU-s used by processes outside this run between two snapshots, and that as a
    share of the machine. Servers and clients count as ours once reaped."""
    wall = end[0] - start[0]
    others = max(0.0, (end[1] - start[1]) - (end[2] - start[2]))
    return others, others / (wall * cores) if wall > 0 else 0.0


class Context:
    def __init__(self, profile_name, profile, out, forkd_bin):
        self.profile_name, self.profile = profile_name, profile
        self.out = out
        self.data = out / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.forkd_bin = forkd_bin
        self.cores = len(os.sched_getaffinity(0))
        # With 2+ cores a single-process server runs on the first cores and the
        # client on the last one, so that they do not steal each other's CPU.
        if self.cores >= 2:
            self.server_cpus = "0" if self.cores == 2 else f"0-{self.cores - 2}"
            self.client_cpus = str(self.cores - 1)
        else:
            self.server_cpus = self.client_cpus = None
        self.all_servers = []
        self.cpu_start = cpu_snapshot()
        self.loadavg_start = loadavg()
        self.metrics = {}   # name -> value, read by report.goals()
        self.ran = {}       # scenario -> its error text, or None: what report.goals() was fed
        self.results = {}   # scenario -> list of result dicts (results.json)

    def __getitem__(self, key):
        return self.profile[key]

    def pinning(self, pinned):
        """(server_cpus, client_cpus) for a scenario that pins or not."""
        return (self.server_cpus, self.client_cpus) if pinned else (None, None)

    def pinning_note(self, pinned):
        if pinned and self.server_cpus is not None:
            return (f"server pinned to CPU {self.server_cpus}, client to CPU {self.client_cpus} "
                    f"(taskset)")
        return "server and client unpinned (they share all cores)"

    def not_measured(self, scenario, why):
        """Tell report.goals() why this scenario's goals have no numbers."""
        self.metrics.setdefault("why_not", {})[scenario] = why

    def record(self, scenario, results):
        self.results.setdefault(scenario, []).extend(results)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def median_result(runs):
    """One result from several runs of the same case: the median of each metric,
    errors and requests summed over all runs."""
    merged = dict(runs[0])
    for key in METRICS:
        values = [r[key] for r in runs if r.get(key) is not None]
        merged[key] = statistics.median(values) if values else None
    merged["requests"] = sum(r["requests"] for r in runs)
    merged["errors"] = sum(r["errors"] for r in runs)
    merged["rounds"] = len(runs)
    merged["runs"] = [{k: r.get(k) for k in METRICS + ("requests", "errors")} for r in runs]
    return merged


def alternate(cases, rounds, between=None):
    """cases: [(key, thunk)], thunk() -> result. Runs round 1 of every case, then
    round 2, ...; returns {key: median_result}. between(key) runs after each case."""
    runs = {key: [] for key, _ in cases}
    for _ in range(rounds):
        for key, thunk in cases:
            runs[key].append(thunk())
            if between:
                between(key)
    return {key: median_result(found) for key, found in runs.items()}
