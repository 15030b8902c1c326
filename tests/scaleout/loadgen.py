#!/usr/bin/python3
"""The scale-out test's client: a steady load through HAProxy, every request recorded.

Run inside the balancer's network namespace by scale_out.py:
    loadgen.py HOST PORT STOPFILE OUTFILE KEEPALIVE_THREADS NEW_THREADS
Keep-alive threads reuse one connection for GET /sleep/5 (a request in
flight while the operator acts); new-connection threads open one per
GET /hello. Every request is recorded as
    [t_start, t_end, kind, status, served_by, error, request_id]
(CLOCK_MONOTONIC, shared with the driver; the id is sent as X-Request-Id,
which HAProxy's log captures), and written as JSON to OUTFILE
once STOPFILE appears (or after 300 s at most). A failure is anything a
user would call one: a refused or reset connection, a timeout, a non-200
answer, a connection closed before its answer. Nothing is retried: the
balancer in front is the one that must hide a host's drain, reload or
upgrade.
"""

import http.client
import json
import os
import sys
import threading
import time

TIMEOUT_S = 10.0
MAX_RUN_S = 300.0


def run(host, port, kind, index, records, lock, stop):
    conn = None
    n = 0
    path = "/sleep/5" if kind == "keepalive" else "/hello"
    while not stop.is_set():
        if conn is None:
            conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        n += 1
        request_id = f"{index}-{n}"
        t0 = time.monotonic()
        status, served_by, error = -1, "", ""
        try:
            headers = {"X-Request-Id": request_id}
            if kind != "keepalive":
                headers["Connection"] = "close"
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
            served_by = response.getheader("X-Served-By", "")
            if kind != "keepalive" or response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            error = f"{type(e).__name__}: {e}"
            conn.close()
            conn = None
        with lock:
            records.append([t0, time.monotonic(), kind, status, served_by, error, request_id])
        time.sleep(0.002)


def main():
    host, port, stopfile, outfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    keepalive, new = int(sys.argv[5]), int(sys.argv[6])
    records, lock, stop = [], threading.Lock(), threading.Event()
    kinds = ["keepalive"] * keepalive + ["new"] * new
    threads = [threading.Thread(target=run, args=(host, port, k, i, records, lock, stop), daemon=True)
               for i, k in enumerate(kinds)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + MAX_RUN_S
    while not os.path.exists(stopfile) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(TIMEOUT_S + 1)
    with lock:
        data = {"threads": len(kinds), "records": list(records)}
    tmp = outfile + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f)
    os.rename(tmp, outfile)


if __name__ == "__main__":
    main()
