"""The seeds' Python clients, standard library only, run as their own process.

Owns the three clients of seed 001 (sequential, thread pool, asyncio) and
the timeline client of seed 002. Runs as `python3 pyclient.py MODE URL N
[LIMIT]` so that the harness can pin it to the client core with taskset,
and prints one JSON object: requests, errors, duration_s, latencies_ms
(and for `timeline`, each request's [start_s, end_s] from a common zero).

  sequential  one request after another, a new connection each (requests.get)
  pool        a ThreadPoolExecutor of LIMIT threads (default N), new connections
  async       asyncio, LIMIT keep-alive connections (default min(N, 100): aiohttp's
              connector limit in the seed), N requests shared between them
  timeline    N threads released together, one request each

Must not: retry, hide an error (a non-200 or a broken connection is counted),
or talk to anything but the URL it is given.
"""

import asyncio
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

TIMEOUT_S = 60.0


def get(url):
    """(ok, latency_s) of one GET on a fresh connection."""
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
            r.read()
            ok = r.status == 200
    except (OSError, urllib.error.URLError):
        ok = False
    return ok, time.perf_counter() - start


def sequential(url, n, _limit):
    return [get(url) for _ in range(n)]


def pool(url, n, limit):
    with ThreadPoolExecutor(max_workers=limit or n) as executor:
        return list(executor.map(get, [url] * n))


async def read_response(reader):
    """Read one HTTP/1.1 response with Content-Length; (status, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep_alive = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value == "close":
            keep_alive = False
    if length:
        await reader.readexactly(length)
    return status, keep_alive


async def async_all(url, n, limit):
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    remaining = [n]
    results = []

    async def connection():
        reader = writer = None
        while remaining[0] > 0:
            remaining[0] -= 1
            start = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                writer.write(request)
                status, keep_alive = await asyncio.wait_for(read_response(reader), TIMEOUT_S)
                results.append((status == 200, time.perf_counter() - start))
                if not keep_alive:
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                results.append((False, time.perf_counter() - start))
                if writer is not None:
                    writer.close()
                writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(limit or min(n, 100))))
    return results


def run_async(url, n, limit):
    return asyncio.run(async_all(url, n, limit))


def timeline(url, n, _limit):
    """n threads wait on a barrier, then each sends one request; (ok, lat, start, end)."""
    barrier = threading.Barrier(n + 1)
    out = [None] * n
    zero = [0.0]

    def one(i):
        barrier.wait()
        start = time.perf_counter()
        ok, latency = get(url)
        out[i] = (ok, latency, start - zero[0], start - zero[0] + latency)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    zero[0] = time.perf_counter()
    barrier.wait()
    for t in threads:
        t.join()
    return out


MODES = {"sequential": sequential, "pool": pool, "async": run_async, "timeline": timeline}


def main(argv):
    mode, url, n = argv[1], argv[2], int(argv[3])
    limit = int(argv[4]) if len(argv) > 4 else 0
    start = time.perf_counter()
    results = MODES[mode](url, n, limit)
    duration = time.perf_counter() - start
    report = {
        "requests": len(results),
        "errors": sum(1 for r in results if not r[0]),
        "duration_s": duration,
        "latencies_ms": [r[1] * 1000 for r in results],
    }
    if mode == "timeline":
        report["spans_s"] = [[r[2], r[3], r[0]] for r in results]
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
