"""Every endpoint and every mode over real sockets (DESIGN.md, "Endpoints").

Owns: bodies, statuses and the common headers (X-Process-Time, Date, Server,
Content-Type) of each route in each mode; HEAD; HTTP/1.0; keep-alive reuse;
pipelining, answered in order even when an earlier request waits on a timer or
an offload thread; curl as a user would run it.
Does not own timing claims (test_concurrency.py) or bad input (test_bad_input.py).
One server (1 worker, 2 offload threads) serves the whole module.
"""

import email.utils
import http.client
import json
import re
import socket
import subprocess
import time

import pytest

from rawhttp import get_request, parse_all, parse_response

IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                         r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                         r"\d\d:\d\d:\d\d GMT$")


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


@pytest.fixture(scope="module")
def server(module_forkd):
    return module_forkd(config={"workers": 1, "threads": 2})


def assert_common_headers(headers, json_body=True):
    """What every response carries (headers: anything with .get(name))."""
    process_time = headers.get("X-Process-Time")
    assert process_time is not None, "X-Process-Time missing"
    assert float(process_time) >= 0
    date = headers.get("Date")
    assert date is not None and IMF_FIXDATE.match(date), f"Date {date!r} is no IMF-fixdate"
    skew = abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time())
    assert skew < 5, f"Date {date!r} is {skew:.1f} s off"
    assert (headers.get("Server") or "").startswith("forkd"), headers.get("Server")
    content_type = headers.get("Content-Type") or ""
    if json_body:
        assert content_type.startswith("application/json"), content_type


# ---------------------------------------------------------------- each route, each mode

@pytest.mark.parametrize("query", ["", "?mode=inline", "?mode=offload"])
def test_hello(server, query):
    status, headers, body = server.get("/hello" + query)
    assert (status, body) == (200, b"hello")
    assert headers["Content-Type"].startswith("text/plain")
    assert headers["Content-Length"] == "5"
    assert_common_headers(headers, json_body=False)


@pytest.mark.parametrize("query", ["", "?mode=timer", "?mode=offload", "?mode=block"])
def test_sleep(server, query):
    started = time.monotonic()
    status, headers, body = server.get("/sleep/60" + query)
    elapsed = time.monotonic() - started
    assert status == 200, body
    assert json.loads(body) == {"slept_ms": 60}
    assert elapsed >= 0.058, f"answered after {elapsed:.3f} s, before the 60 ms sleep ended"
    # X-Process-Time is the time spent handling, the wait included.
    assert float(headers["X-Process-Time"]) >= 0.055
    assert_common_headers(headers)


def test_sleep_zero(server):
    status, _, body = server.get("/sleep/0")
    assert (status, json.loads(body)) == (200, {"slept_ms": 0})


@pytest.mark.parametrize("query", ["", "?mode=offload", "?mode=inline"])
@pytest.mark.parametrize("n", [0, 1, 2, 10, 25])
def test_fib(server, n, query):
    status, headers, body = server.get(f"/fib/{n}{query}")
    assert status == 200, body
    assert json.loads(body) == {"n": n, "fib": fib(n)}
    assert_common_headers(headers)


def test_fib_at_the_limit(server):
    # fib_max_n defaults to 40; 40 itself is allowed (F(40) takes ~0.5 s here).
    status, _, body = server.get("/fib/40?mode=offload", timeout=60)
    assert (status, json.loads(body)) == (200, {"n": 40, "fib": fib(40)})


@pytest.mark.parametrize("query", ["", "?mode=par", "?mode=async", "?mode=baseline",
                                   "?mode=offload"])
def test_fibo_sleep(server, query):
    n = 22  # F(22) = 17711: sleeps 17.7 ms
    started = time.monotonic()
    status, headers, body = server.get(f"/fibo_sleep/{n}{query}")
    elapsed = time.monotonic() - started
    assert status == 200, body
    answer = json.loads(body)
    assert set(answer) == {"n", "fib", "slept_s"}
    assert (answer["n"], answer["fib"]) == (n, fib(n))
    assert answer["slept_s"] == pytest.approx(fib(n) / 1e6, rel=1e-6)
    assert elapsed >= fib(n) / 1e6 - 0.002
    assert_common_headers(headers)


def test_healthz(server):
    status, headers, body = server.get("/healthz")
    assert (status, body) == (200, b"ok")
    assert_common_headers(headers, json_body=False)


def test_stats_names_the_worker(server):
    status, headers, stats = server.get_json("/stats")
    assert status == 200
    assert_common_headers(headers)
    served_by = stats["served_by"]
    assert served_by["pid"] in server.worker_pids()
    assert served_by["slot"] == 0
    assert isinstance(served_by["generation"], int)
    assert isinstance(stats["worker"]["requests"], int)


def test_not_found_and_wrong_method_carry_common_headers(server):
    status, headers, body = server.get("/no/such/route")
    assert status == 404
    assert json.loads(body)["status"] == 404
    assert_common_headers(headers)
    status, headers, body = server.get("/hello", method="POST", body=b"")
    assert status == 405
    assert_common_headers(headers)


# ---------------------------------------------------------------- HEAD, HTTP/1.0, keep-alive

@pytest.mark.parametrize("path, length", [("/hello", 5), ("/fib/10?mode=inline", None)])
def test_head_has_the_get_headers_and_no_body(server, path, length):
    with server.connect() as conn:
        # HEAD then GET on one connection: had HEAD sent a body, the GET's
        # response would not parse where it should.
        conn.send(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() + get_request(path))
        head = conn.read_response(head=True)
        get = conn.read_response()
    assert head.status == get.status == 200
    assert head.header("Content-Length") == get.header("Content-Length") == str(len(get.body))
    if length is not None:
        assert len(get.body) == length
    assert head.header("Content-Type") == get.header("Content-Type")
    assert head.header("X-Process-Time") is not None
    assert conn.buf == b""


def test_http10_closes_after_the_response(server):
    data = server.raw(b"GET /hello HTTP/1.0\r\n\r\n")  # returns once the server closed
    response, rest = parse_one(data)
    assert response.status == 200 and response.body == b"hello"
    assert response.version in ("HTTP/1.0", "HTTP/1.1")
    assert rest == b""


def test_http10_keep_alive_when_asked(server):
    with server.connect() as conn:
        for _ in range(3):
            conn.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            response = conn.read_response()
            assert response.status == 200 and response.body == b"hello"
            assert (response.header("Connection") or "").lower() == "keep-alive"
        assert conn.silent_for(0.2), "the connection closed although keep-alive was asked"


def test_keep_alive_reuses_one_connection(server):
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        endpoints = set()
        for path in ["/hello", "/sleep/5", "/fib/12?mode=offload", "/fib/12?mode=inline",
                     "/fibo_sleep/10", "/healthz", "/hello?mode=offload"]:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, path
            assert not response.will_close, f"{path} closed the connection"
            endpoints.add(conn.sock.getsockname())
        assert len(endpoints) == 1, f"requests used {len(endpoints)} connections"
    finally:
        conn.close()


def test_connection_close_is_honoured(server):
    with server.connect() as conn:
        conn.send(get_request("/hello", extra="Connection: close\r\n"))
        response = conn.read_response()
        assert response.status == 200
        assert (response.header("Connection") or "").lower() == "close"
        assert conn.closed_within(5)


# ---------------------------------------------------------------- pipelining

PIPELINE = [
    ("/sleep/100", {"slept_ms": 100}),             # timer: answered after 100 ms
    ("/fib/27?mode=offload", {"n": 27, "fib": fib(27)}),
    ("/hello", b"hello"),                          # ready at once, must still wait its turn
    ("/sleep/30?mode=offload", {"slept_ms": 30}),
    ("/fib/15?mode=inline", {"n": 15, "fib": fib(15)}),
    ("/fibo_sleep/12?mode=par", {"n": 12, "fib": fib(12), "slept_s": fib(12) / 1e6}),
    ("/healthz", b"ok"),
]


def check_pipeline_answers(responses):
    assert len(responses) == len(PIPELINE)
    for (path, expected), response in zip(PIPELINE, responses):
        assert response.status == 200, (path, response)
        if isinstance(expected, bytes):
            assert response.body == expected, path
        else:
            assert response.json() == pytest.approx(expected), path


def test_pipelined_requests_are_answered_in_order(server):
    payload = b"".join(get_request(path) for path, _ in PIPELINE)
    with server.connect() as conn:
        conn.send(payload)
        check_pipeline_answers([conn.read_response() for _ in PIPELINE])
        # The connection stays usable afterwards.
        conn.send(get_request("/hello"))
        assert conn.read_response().body == b"hello"


def test_pipeline_sent_byte_by_byte(server):
    payload = b"".join(get_request(path) for path, _ in PIPELINE)
    with server.connect() as conn:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(payload)):
            conn.send(payload[i:i + 1])
        check_pipeline_answers([conn.read_response() for _ in PIPELINE])


def test_pipeline_ending_with_connection_close(server):
    payload = (get_request("/sleep/50") + get_request("/hello", extra="Connection: close\r\n")
               + get_request("/hello"))  # after "close": must not be answered
    data = server.raw(payload)
    responses = parse_all(data)
    assert [r.status for r in responses] == [200, 200], data
    assert responses[0].json() == {"slept_ms": 50}
    assert responses[1].body == b"hello"


# ---------------------------------------------------------------- curl

def curl(*args):
    result = subprocess.run(["curl", "-sS", "--max-time", "20", *args],
                            capture_output=True, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_curl_get(server):
    out = curl("-i", server.url("/hello")).stdout
    response, rest = parse_one(out)
    assert response.status == 200 and response.body == b"hello" and rest == b""
    assert response.header("X-Process-Time") is not None


def test_curl_json_and_head(server):
    out = curl("-i", server.url("/fib/20")).stdout
    response, _ = parse_one(out)
    assert response.json() == {"n": 20, "fib": fib(20)}
    out = curl("-I", server.url("/hello")).stdout
    head = parse_one(out, head=True)[0]
    assert head.status == 200 and head.header("Content-Length") == "5"


def test_curl_reuses_the_connection(server):
    result = curl("-v", "-o", "/dev/null", "-o", "/dev/null",
                  server.url("/hello"), server.url("/sleep/10"))
    assert b"Re-using existing connection" in result.stderr, result.stderr.decode()


def test_curl_http10(server):
    out = curl("-0", "-i", server.url("/hello")).stdout
    assert parse_one(out)[0].body == b"hello"


# ---------------------------------------------------------------- helpers

def parse_one(data, head=False):
    """The first response in data, which ends where the server closed."""
    parsed = parse_response(data, head=head, eof=True)
    assert parsed, f"no complete response in {data[:500]!r}"
    return parsed
