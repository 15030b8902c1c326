"""How much each profile measures: --smoke (CI, tiny), --quick (default), --full.

Owns the counts and durations only; every scenario reads its own keys here,
so a scenario's cost is tuned in one place. quick must finish in under 3
minutes on 2 cores, full in under 30, smoke well under 2 (CI: every
scenario once, tiny counts, no speed threshold anywhere).
"""

PROFILES = {
    "smoke": {
        "rounds": 1,            # alternation rounds of the seed scenarios
        "ab_n": 20, "ab_t": 5,  # ab -n, and its time cap in seconds
        "seq_n": 2, "pool_n": 5, "async_n": 5, "big_n": 0,
        "wrk_s": 1, "little_s": 1,
        "block_ms": 50, "timeline_counts": (2, 3),
        "tp_rounds": 1, "tp_s": 1, "tp_all_cores": False,
        "scale_rounds": 1, "scale_s": 1, "fib_inline_n": 5,
        "idle_conns": 1000,     # the goal says 10,000: smoke keeps it short
        "hog_s": 1,             # seconds of load per hog case, after the hog is sent
    },
    "quick": {
        "rounds": 1,
        "ab_n": 1000, "ab_t": 2,
        "seq_n": 10, "pool_n": 100, "async_n": 100, "big_n": 0,
        "wrk_s": 1, "little_s": 5,
        "block_ms": 250, "timeline_counts": (2, 10),
        "tp_rounds": 3, "tp_s": 1, "tp_all_cores": False,
        "scale_rounds": 1, "scale_s": 2, "fib_inline_n": 20,
        "idle_conns": 10000,
        "hog_s": 3,
    },
    "full": {
        "rounds": 3,
        "ab_n": 1000, "ab_t": 20,
        "seq_n": 100, "pool_n": 100, "async_n": 100, "big_n": 1000,
        "wrk_s": 5, "little_s": 10,
        "block_ms": 1000, "timeline_counts": (2, 10),
        "tp_rounds": 5, "tp_s": 3, "tp_all_cores": True,
        "scale_rounds": 3, "scale_s": 5, "fib_inline_n": 50,
        "idle_conns": 10000,
        "hog_s": 3,
    },
}
