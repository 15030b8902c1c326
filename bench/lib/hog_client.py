"""The `hog` scenario's client, run as its own process (standard library only).

Owns one measurement of seed 001's hog in puma PR 3969's shape: one long
request (the hog) is sent at `hog_at_s`, while CLIENTS threads each run a
closed loop for DURATION seconds: a new connection per request, alternating
/hello and /sleep/50, every request waited for and counted. Prints one JSON
object: the hog's own answer (status, X-Process-Time, start and end), and
each request as [path, start_s, end_s, ok] from a common zero.

  python3 hog_client.py BASE_URL HOG_PATH CLIENTS DURATION_S [HOG_AT_S]

HOG_PATH "-" runs no hog (the idle reference). Must not retry or hide an
error: a non-200 or a broken connection is a failed request.
"""

import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit

TIMEOUT_S = 60.0
PATHS = ("/hello", "/sleep/50")


def one(host, port, path):
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status == 200, r.getheader("X-Process-Time"), body
    except OSError:
        return False, None, b""
    finally:
        conn.close()


def main():
    base, hog_path, clients, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    hog_at = float(sys.argv[5]) if len(sys.argv) > 5 else 0.2
    url = urlsplit(base)
    host, port = url.hostname, url.port
    t0 = time.monotonic()
    stop_at = t0 + hog_at + duration
    records, lock = [], threading.Lock()
    hog = {}

    def run_hog():
        time.sleep(hog_at)
        start = time.monotonic() - t0
        ok, process_time, _ = one(host, port, hog_path)
        hog.update(ok=ok, process_time=process_time, start_s=start, end_s=time.monotonic() - t0)

    def loop(path):
        mine = []
        while time.monotonic() < stop_at:
            start = time.monotonic()
            ok, _, _ = one(host, port, path)
            mine.append([path, start - t0, time.monotonic() - t0, ok])
        with lock:
            records.extend(mine)

    threads = [threading.Thread(target=loop, args=(path,)) for path in PATHS for _ in range(clients)]
    if hog_path != "-":
        threads.append(threading.Thread(target=run_hog))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    json.dump({"hog": hog or None, "requests": records, "hog_at_s": hog_at, "duration_s": duration},
              sys.stdout)


if __name__ == "__main__":
    main()
