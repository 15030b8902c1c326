"""The scoreboard seen from outside: /stats, /metrics and the master's reports
(DESIGN.md, "Statistics"; README.md, "Statistics" for the schema).

Owns: counters in /stats and /metrics match, exactly, the requests a test sent
(per route, mode and status code, bytes in and out); latency percentiles of a
known sleep; in-flight and offload gauges; a killed worker's restart and exit
signal; `promtool check metrics` on a live /metrics; the stats.allow check
(403 for a peer outside it); the master's periodic summary line.
Counters are updated when a response is queued, before it is written, so a
response the client has read is always counted; the /stats request itself
is counted only after its own document was rendered.
"""

import http.client
import json
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import wait_for
from rawhttp import get_request, parse_all


def stats(server):
    status, _, body = server.get_json("/stats")
    assert status == 200, body
    return body


def metrics(server):
    status, headers, body = server.get("/metrics")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    return body.decode()


def endpoint(doc, route, mode):
    for e in doc["endpoints"]:
        if e["route"] == route and e["mode"] == mode:
            return e
    raise AssertionError(f"no endpoint {route} {mode} in {doc['endpoints']}")


def samples(text):
    """{'name{labels}': value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def needs_master_sampling(server):
    """Wait (bounded) for the master's first per-second sample
    (stats::sample_master); skip the test if the master never takes one."""
    deadline = time.monotonic() + 2.5
    while not stats(server)["server"]["sampled"]:
        if time.monotonic() > deadline:
            pytest.skip("the master does not call stats::sample_master() yet")
        time.sleep(0.1)


# The requests of the exact-count test: (request bytes, route, mode, status).
KNOWN = (
    [(get_request("/hello", extra="Connection: close\r\n"), "/hello", "inline", 200)] * 7
    + [(get_request("/hello?mode=offload", extra="Connection: close\r\n"), "/hello", "offload", 200)] * 3
    + [(get_request("/sleep/5", extra="Connection: close\r\n"), "/sleep/{ms}", "timer", 200)] * 4
    + [(get_request("/sleep/5?mode=offload", extra="Connection: close\r\n"),
        "/sleep/{ms}", "offload", 200)] * 2
    + [(get_request("/sleep/2?mode=block", extra="Connection: close\r\n"), "/sleep/{ms}", "block", 200)]
    + [(get_request("/fib/15?mode=inline", extra="Connection: close\r\n"), "/fib/{n}", "inline", 200)] * 2
    + [(get_request("/fib/15", extra="Connection: close\r\n"), "/fib/{n}", "offload", 200)] * 5
    + [(get_request("/fibo_sleep/10", extra="Connection: close\r\n"), "/fibo_sleep/{n}", "par", 200)]
    + [(get_request("/fibo_sleep/10?mode=async", extra="Connection: close\r\n"),
        "/fibo_sleep/{n}", "async", 200)]
    + [(get_request("/fibo_sleep/10?mode=baseline", extra="Connection: close\r\n"),
        "/fibo_sleep/{n}", "baseline", 200)]
    + [(get_request("/fibo_sleep/10?mode=offload", extra="Connection: close\r\n"),
        "/fibo_sleep/{n}", "offload", 200)]
    + [(get_request("/healthz", extra="Connection: close\r\n"), "/healthz", "none", 200)] * 3
    + [(get_request("/nowhere", extra="Connection: close\r\n"), "other", "none", 404)] * 2
    + [(get_request("/fib/abc", extra="Connection: close\r\n"), "other", "none", 400)]
    + [(get_request("/fib/99999", extra="Connection: close\r\n"), "other", "none", 400)]
    + [(b"POST /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "other", "none", 405)]
    # Answered by the connection itself, before any route: still counted.
    + [(b"GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "other", "none", 400)]
)


def test_counters_match_the_requests_sent(forkd):
    server = forkd(config={"workers": 1, "threads": 2})
    sent = received = 0
    expected = {}
    for request, route, mode, status in KNOWN:
        answer = server.raw(request)
        responses = parse_all(answer)
        assert len(responses) == 1 and responses[0].status == status, (request, answer[:300])
        sent += len(request)
        received += len(answer)
        key = (route, mode)
        expected.setdefault(key, {})
        expected[key][str(status)] = expected[key].get(str(status), 0) + 1

    doc = stats(server)
    total = len(KNOWN)
    assert doc["totals"]["requests"] == total
    assert doc["totals"]["bytes_out"] == received
    # The /stats request was read but not yet answered: it may or may not be
    # in bytes_in yet (the worker's tick stores the connection totals too).
    stats_request_bytes = len(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1:00000\r\n"
                              b"Accept-Encoding: identity\r\n\r\n")
    assert sent <= doc["totals"]["bytes_in"] <= sent + stats_request_bytes + 10
    assert doc["totals"]["responses"] == {
        "1xx": 0, "2xx": sum(1 for k in KNOWN if k[3] < 300), "3xx": 0,
        "4xx": sum(1 for k in KNOWN if 400 <= k[3] < 500), "5xx": 0}
    assert doc["totals"]["in_flight"] == 1  # this /stats request
    for e in doc["endpoints"]:
        key = (e["route"], e["mode"])
        want = expected.get(key, {})
        assert e["responses"] == want, (key, e)
        assert e["requests"] == sum(want.values())
        if want:
            assert e["latency_ms"]["p50"] is not None and e["latency_ms"]["max"] >= e["latency_ms"]["p50"]
    [worker] = doc["workers"]
    assert worker["requests"] == total
    assert worker["pid"] == doc["served_by"]["pid"]
    assert worker["state"] == "ready"
    assert doc["worker"] == worker  # the answering worker's own object

    # /metrics: the same counts, plus the /stats request just answered.
    text = metrics(server)
    got = samples(text)
    for (route, mode), codes in expected.items():
        for code, n in codes.items():
            key = f'forkd_requests_total{{worker="0",route="{route}",mode="{mode}",code="{code}"}}'
            assert got.get(key) == n, (key, got.get(key))
    assert got['forkd_requests_total{worker="0",route="/stats",mode="none",code="200"}'] == 1
    requests_total = sum(v for k, v in got.items() if k.startswith("forkd_requests_total{"))
    assert requests_total == total + 1
    count_total = sum(v for k, v in got.items() if k.startswith("forkd_request_duration_seconds_count{"))
    assert count_total == total + 1

    # And /stats again: the first /stats and the /metrics request are in.
    doc = stats(server)
    assert doc["totals"]["requests"] == total + 2
    assert endpoint(doc, "/metrics", "none")["responses"] == {"200": 1}


def test_latency_percentiles_of_a_known_sleep(forkd):
    # The histogram against the server's own per-request figures: every
    # percentile lies between the shortest and the longest X-Process-Time
    # the answers carried (within the histogram's 3 %), and none is below
    # the 40 ms the timer waits (less libuv's millisecond). How long a busy
    # machine took is no bound.
    server = forkd()
    took_ms = []
    for _ in range(10):
        status, headers, _ = server.get("/sleep/40")
        assert status == 200
        took_ms.append(float(headers["X-Process-Time"]) * 1000)
    e = endpoint(stats(server), "/sleep/{ms}", "timer")
    assert e["requests"] == 10
    # libuv's loop clock counts whole milliseconds: a timer started at
    # t0 fires once the clock reads floor(t0) + 40, up to 1 ms early in real
    # time (as test_timers and test_concurrency allow too).
    assert min(took_ms) >= 40 - 1, took_ms
    for q in ("p50", "p95", "p99"):
        assert 40 * 0.97 <= e["latency_ms"][q], e
        assert min(took_ms) * 0.97 <= e["latency_ms"][q] <= max(took_ms) * 1.03, (e, took_ms)
    assert e["latency_ms"]["p50"] <= e["latency_ms"]["p95"] <= e["latency_ms"]["p99"] <= e["latency_ms"]["max"]


def test_in_flight_and_offload_gauges(forkd):
    server = forkd(config={"workers": 1, "threads": 2})
    conns = []
    try:
        for path in ["/sleep/3000?mode=offload"] * 2 + ["/sleep/3000?mode=offload", "/sleep/3000"]:
            c = server.connect()
            c.send(get_request(path))
            conns.append(c)

        def settled():
            doc = stats(server)
            w = doc["workers"][0]
            # 4 waiting plus this /stats request; 2 threads busy, 1 job queued.
            if w["in_flight"] == 5 and w["offload"] == {"threads": 2, "busy": 2, "queued": 1}:
                return doc
            return None
        doc = wait_for(settled, 2.5, "in_flight 5 and offload busy 2, queued 1")
        assert doc["totals"]["in_flight"] == 5
        assert doc["totals"]["offload"] == {"busy": 2, "queued": 1}
        assert doc["workers"][0]["connections"] == 5
    finally:
        for c in conns:
            c.close()


def test_killed_worker_restart_and_exit_signal_show_up(forkd):
    server = forkd(config={"workers": 1})
    needs_master_sampling(server)
    for _ in range(5):
        server.assert_serves_hello()
    before = stats(server)
    [old_pid] = server.worker_pids()
    server.allow_errors(r"worker 0 .* (died|exited|killed)|signal 9")
    server.kill_worker(old_pid, signal.SIGKILL)
    server.wait_workers(1, without=[old_pid])

    def restarted():
        doc = stats(server)
        return doc if doc["slots"] and doc["slots"][0]["restarts"] == 1 else None
    doc = wait_for(restarted, 5, "/stats to show the restart")
    slot = doc["slots"][0]
    assert slot["last_exit"]["signal"] == 9
    assert slot["last_exit"]["code"] is None
    assert "signal 9" in slot["last_exit"]["reason"]
    assert slot["exits"] == 1
    assert doc["totals"]["restarts"] == 1
    assert [w["pid"] for w in doc["workers"]] != [old_pid]
    # The dead worker's requests still count (up to and including `before`).
    served = before["workers"][0]["requests"] + 1
    assert doc["totals"]["requests"] >= served
    assert endpoint(doc, "/hello", "inline")["requests"] == 5
    text = metrics(server)
    assert 'forkd_worker_restarts_total{worker="0"} 1' in text
    assert 'forkd_worker_last_exit_time_seconds{worker="0",reason="signal 9 (Killed)"}' in text
    # The master logs the dead worker's final counters.
    wait_for(lambda: f"served {served} requests" in server.log_text(), 5,
             "the exit line with the final counters")


def test_master_samples_rss_cpu_and_rates(forkd):
    server = forkd(config={"workers": 2})
    needs_master_sampling(server)

    def sampled():
        d = stats(server)
        return d if all(w["rss_bytes"] for w in d["workers"]) else None
    doc = wait_for(sampled, 3, "RSS of every worker")
    for w in doc["workers"]:
        assert w["rss_bytes"] > 1 << 20
        assert w["cpu_percent"] is not None and w["cpu_ms"] is not None
        assert w["requests_per_s"] is not None
    assert doc["server"]["workers_target"] == 2
    assert len(doc["slots"]) == 2
    assert all(s["accept_queue"]["backlog"] > 0 for s in doc["slots"])


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian package prometheus) missing")
def test_promtool_accepts_live_metrics(forkd, tmp_path):
    server = forkd(config={"workers": 2, "threads": 2})
    for path in ["/hello", "/hello?mode=offload", "/sleep/3", "/fib/12?mode=inline", "/nowhere",
                 "/fib/x", "/healthz", "/stats"]:
        server.get(path)
    text = metrics(server)
    assert "forkd_request_duration_seconds_bucket{" in text
    result = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def get_from(server, source, path, port=None):
    """GET path from the client address `source` (to `port`, default the server's)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.bind((source, 0))
        s.connect((server.host, port or server.port))
        s.sendall(get_request(path, extra="Connection: close\r\n"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    [response] = parse_all(data)
    return response


def test_byte_counters_never_decrease_across_both_addresses(forkd):
    """totals.bytes_in and bytes_out only grow, whichever address a request
    came to. (They used to be stored from one address's totals when it
    answered and from both at the tick, so a /stats on stats.bind lowered
    them until the next tick.) One worker, so both addresses are its own."""
    import threading
    from conftest import free_port
    admin_port = free_port()
    server = forkd(config={"workers": 1, "stats": {"interval": 0, "allow": ["127.0.0.1/32"],
                                                   "bind": f"127.0.0.1:{admin_port}"}})
    stop = threading.Event()
    failures = []

    def traffic():
        paths = ("/hello", "/sleep/1", "/stats", "/fib/5?mode=inline")  # /stats: a 404 here
        i = 0
        while not stop.is_set():
            try:
                server.get(paths[i % len(paths)])
            except Exception as e:  # noqa: BLE001 (reported below)
                failures.append(repr(e))
                return
            i += 1

    thread = threading.Thread(target=traffic, daemon=True)
    thread.start()
    seen = []
    try:
        for i in range(80):
            path = "/stats" if i % 2 == 0 else "/healthz"  # both admin routes move the bytes
            status, _, body = server.get(path, port=admin_port)
            assert status == 200, body
            if path == "/stats":
                totals = json.loads(body)["totals"]
                seen.append((totals["bytes_in"], totals["bytes_out"]))
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not failures, failures
    for (in_before, out_before), (in_after, out_after) in zip(seen, seen[1:]):
        assert in_after >= in_before and out_after >= out_before, seen
    assert seen[-1][1] > seen[0][1], seen  # the traffic was counted


def test_stats_answer_only_allowed_peers(forkd):
    server = forkd(config={"stats": {"interval": 0, "allow": ["127.0.0.1/32"]}})
    for path in ("/stats", "/metrics"):
        denied = get_from(server, "127.0.0.2", path)
        assert denied.status == 403, denied
        assert "stats.allow" in denied.json()["error"]
        assert get_from(server, "127.0.0.1", path).status == 200
    # Other routes answer everyone.
    assert get_from(server, "127.0.0.2", "/hello").status == 200
    # The refusals are counted like any response.
    doc = stats(server)
    assert endpoint(doc, "/stats", "none")["responses"] == {"403": 1, "200": 1}
    assert endpoint(doc, "/metrics", "none")["responses"] == {"403": 1, "200": 1}


def test_master_logs_a_summary_line(forkd):
    server = forkd(config={"stats": {"interval": 1}})
    server.assert_serves_hello()
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline and "stats: " not in server.log_text():
        time.sleep(0.05)
    assert "stats: " in server.log_text(), server.log_text()
    line = next(l for l in server.log_text().splitlines() if "stats: " in l)
    assert "1/1 workers ready" in line
    assert "req/s" in line and "p95" in line and "restarts" in line


def test_stats_bind_serves_stats_on_its_own_address_only(forkd):
    from conftest import free_port
    admin_port = free_port()
    server = forkd(config={"workers": 2, "stats": {"interval": 0, "allow": ["127.0.0.1/32"],
                                                    "bind": f"127.0.0.1:{admin_port}"}})
    assert f"/stats, /metrics and /status on 127.0.0.1:{admin_port}" in server.log_text()
    # The main address no longer serves them...
    status, _, body = server.get("/stats")
    assert status == 404 and b"stats.bind" in body
    # ...the admin address does, to whoever reaches it (the bind is the control),
    for path in ("/stats", "/metrics"):
        assert get_from(server, "127.0.0.2", path, port=admin_port).status == 200
    status, _, body = server.get("/stats", port=admin_port)
    assert status == 200 and len(json.loads(body)["workers"]) == 2
    # and nothing else but /healthz.
    assert server.get("/healthz", port=admin_port)[0] == 200
    assert server.get("/hello", port=admin_port)[0] == 404
    assert server.get("/hello")[0] == 200


def test_bytes_of_a_request_that_got_no_answer_are_counted(forkd):
    """A client that sends half a request head and leaves gets no answer;
    its bytes still reach the worker's counters (stored by the worker's tick
    and at its exit, not only with a response): the master's exit line for
    a worker that answered nothing says so. (/stats cannot show it: reading
    it is itself a response, which stores the totals.)"""
    server = forkd(config={"workers": 1})
    [pid] = server.worker_pids()
    partial = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"p" * 200
    with server.connect() as conn:
        conn.send(partial)
        assert conn.silent_for(0.3)  # read by the worker; no answer to wait for
    server.stop()
    line = next(l for l in server.log_text().splitlines() if f"(pid {pid}, generation 1) served" in l)
    assert "served 0 requests" in line and f"; {len(partial)} B in," in line, line
