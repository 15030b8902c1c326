"""Connections: what an idle keep-alive connection costs a worker, in memory.

Owns the memory goal "10,000 idle keep-alive connections on one worker <=
4 KiB RSS each": one forkd worker (the bench config: worker_connections =
10000), a client in this process that opens the connections, sends one
keep-alive GET /hello on each and reads the answer, then leaves them idle;
the worker's VmRSS is read before (after a few warm-up requests) and after,
and at every tenth on the way for the plot. --smoke opens fewer (profile key
idle_conns). Needs that many file descriptors, here and in forkd: the soft
limit is raised to the hard one before forkd starts (it inherits it) and put
back afterwards; if the hard one is too low, the goal says so instead.
"""

import resource
import time

from clients import ClientError, IdleConnections, raise_fd_limit, server_times
from plots import memory
from report import Section
from servers import Fleet, rss_kib

KEY = "connections"
GOAL_COUNT = 10000
SETTLE_S = 0.3  # let the worker finish the last answers before RSS is read


def run(ctx):
    count = ctx["idle_conns"]
    s = Section(KEY, f"Connections — {count} idle keep-alive connections on one worker",
                "the C10k promise of an event loop: a connection that waits costs a few "
                "kilobytes, not a thread (no seed measures this).",
                "the worker's resident memory per idle keep-alive connection, after each has "
                "served one /hello.")
    s.setup += [
        "forkd -w 1, the bench config (worker_connections = 10000); client: this harness, "
        "non-blocking sockets, at most 256 handshakes or answers pending at once",
        f"{count} connections" + (f" (the goal says {GOAL_COUNT}; profile "
                                  f"{ctx.profile_name} opens fewer)" if count < GOAL_COUNT
                                  else "")
        + ": each sends `GET /hello` (keep-alive), reads the answer, then stays idle",
        "RSS: the worker's VmRSS after 20 warm-up requests, then at every tenth of the "
        "connections, then once all are idle; per connection = (after - before) / count",
    ]
    limits = resource.getrlimit(resource.RLIMIT_NOFILE)
    # Raised before forkd starts, so that it inherits the limit too; put back after.
    why = raise_fd_limit(count + 64)
    if why:
        ctx.not_measured(KEY, why)
        s.note(f"Not measured: {why}.")
        return s
    try:
        return measure(ctx, s, count)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, limits)


def measure(ctx, s, count):
    with Fleet(ctx, KEY) as fleet:
        forkd = fleet.start("forkd", workers=1)
        worker = forkd.worker_pids()[0]
        server_times(forkd.url("/hello"), 20)
        before = rss_kib(worker)
        points = [(0, before)]
        conns = IdleConnections(forkd.port, count)
        try:
            conns.open(lambda n: points.append((n, rss_kib(worker))), every=max(1, count // 10))
            time.sleep(SETTLE_S)
            after = rss_kib(worker)
            closed = conns.closed_by_peer()
            idle = len(conns.idle)
        finally:
            conns.close()
        if idle:
            forkd.answered = True
    if idle == 0:
        raise ClientError(f"no idle connection opened ({conns.errors} errors)")
    points.append((idle, after))
    per_conn = (after - before) / idle
    result = {"connections": idle, "errors": conns.errors, "closed_by_server": closed,
              "rss_before_kib": before, "rss_after_kib": after, "kib_per_conn": per_conn,
              "points": points}
    ctx.record(KEY, [result])
    s.table("worker RSS with idle keep-alive connections",
            ["connections", "failed", "closed by the server", "RSS before KiB",
             "RSS after KiB", "KiB per connection"],
            [[idle, conns.errors, closed, before, after, f"{per_conn:.2f}"]])
    png = ctx.out / f"{KEY}_rss.png"
    s.plot(memory(png, "forkd worker RSS by idle keep-alive connections", points),
           "connections: one worker's RSS as idle keep-alive connections accumulate")
    note = (f"{idle} of the goal's {GOAL_COUNT} (profile {ctx.profile_name})"
            if count < GOAL_COUNT else "")
    if conns.errors:
        note = (note + "; " if note else "") + f"{conns.errors} failed to open"
    ctx.metrics["idle_conns"] = {"count": idle, "kib_per_conn": per_conn, "closed": closed,
                                 "failed": conns.errors, "rss_before_kib": before,
                                 "rss_after_kib": after, "note": note}
    return s
