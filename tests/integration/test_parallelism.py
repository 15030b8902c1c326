"""The speed-up of offloading on two free cores (seed 000's "par").

Owns one claim: with threads = 2, two offloaded F(n) finish in well under
twice the time of one. That needs two cores the host is not lending to anyone
else, which a shared CI host does not promise, so the test first measures
whether it has them (two spinning processes, each must get most of a core)
and otherwise skips with the measurement as its reason. It has its own file
so that meson reports such a skip as SKIP (conftest, exit status 77) while
test_concurrency.py, which proves the overlap itself, still reports OK.
"""

import subprocess
import sys

import pytest

from conftest import calibrate_fib
from rawhttp import fire_together, get_request

SPIN = ("import time\n"
        "cpu, wall = time.process_time(), time.monotonic()\n"
        "while time.process_time() - cpu < 0.3: pass\n"
        "print((time.process_time() - cpu) / (time.monotonic() - wall))\n")


def two_free_cores():
    """The share of a core each of two concurrent spinners got (1.0: a whole core)."""
    spinners = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True)
                for _ in range(2)]
    return [float(p.communicate(timeout=30)[0]) for p in spinners]


def test_two_offloaded_fibs_take_less_than_twice_one(forkd):
    server = forkd(config={"workers": 1, "threads": 2, "endpoints": {"fib_max_n": 50}})
    n, _ = calibrate_fib(server)
    shares = two_free_cores()
    if min(shares) < 0.85:
        pytest.skip(f"the host has no two free cores now (two spinners got "
                    f"{shares[0]:.2f} and {shares[1]:.2f} of a core)")
    # One F(n): the median of three runs. The pair: the best of up to three
    # (a worker that computes one at a time takes 2x on every run, so the
    # best run cannot hide it; a noisy neighbour can only slow a run down).
    singles = []
    for _ in range(3):
        (result,), elapsed = fire_together(server.host, server.port,
                                           [get_request(f"/fib/{n}?mode=offload")], timeout=60)
        assert result[0].status == 200
        singles.append(elapsed)
    single = sorted(singles)[1]
    totals = []
    for _ in range(3):
        results, total = fire_together(server.host, server.port,
                                       [get_request(f"/fib/{n}?mode=offload")] * 2, timeout=60)
        assert all(r.status == 200 for r, _ in results)
        totals.append(total)
        if total < 1.6 * single:
            break
    assert min(totals) < 1.6 * single, (f"two offloaded F({n}) took {totals} s, one takes "
                                        f"{single:.3f} s: no speed-up on two free cores")
