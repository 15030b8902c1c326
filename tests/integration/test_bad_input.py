"""Bad input and slow clients (DESIGN.md, "Bad input and faults").

Owns every status a client can provoke by misbehaving: 400 for malformed
requests (and the connection closes), 414, 431, 413 (by Content-Length and by
chunked body), request smuggling shapes, 404, 405 with Allow, 400 for bad path
parameters, modes and limits, 408 on header_timeout, the keep-alive timeout,
and worker_connections backpressure. After each test the same worker (same
pid: nothing crashed) still serves /hello and its log holds no error line.
"""

import json
import time

import pytest

from rawhttp import RawConnection, get_request, parse_response

LIMITS = {
    "workers": 1,
    "threads": 2,
    "header_timeout": 1,
    "keepalive": 1,
    "limit_request_line": 8190,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
    "max_body_size": 1024,
}


@pytest.fixture(scope="module")
def server(module_forkd):
    server = module_forkd(config=LIMITS)
    server.initial_workers = server.wait_workers(1)
    return server


@pytest.fixture(autouse=True)
def worker_survives(server):
    yield
    server.assert_serves_hello()
    assert server.worker_pids() == server.initial_workers, "the worker was replaced: it crashed"
    server.check_log()


def answer_and_close(server, data):
    """Send data on a new connection; the server must answer once and close."""
    with server.connect() as conn:
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it may answer and close before reading everything
        response = conn.read_response()
        assert conn.closed_within(5), "the connection stayed open after the error"
    return response


def assert_json_error(response, status):
    assert response.status == status, response
    assert (response.header("Content-Type") or "").startswith("application/json")
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"], body
    return body["error"]


# ---------------------------------------------------------------- malformed: 400 and close

MALFORMED = {
    "garbage": b"GARBAGE\r\n\r\n",
    "tls-client-hello": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 32 + b"\r\n\r\n",
    "header-without-colon": b"GET /hello HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
    "space-before-colon": b"GET /hello HTTP/1.1\r\nHost : x\r\n\r\n",
    "nul-in-header-name": b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A\x00B: c\r\n\r\n",
    "target-not-origin-form": b"GET hello HTTP/1.1\r\nHost: x\r\n\r\n",
    "missing-host": b"GET /hello HTTP/1.1\r\n\r\n",
    "two-hosts": b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "content-length-and-chunked": (b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                   b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    "duplicate-content-length": (b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                                 b"Content-Length: 3\r\n\r\nabc"),
    "negative-content-length": b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "non-numeric-content-length": (b"GET /hello HTTP/1.1\r\nHost: x\r\n"
                                   b"Content-Length: abc\r\n\r\n"),
    "transfer-encoding-not-chunked": (b"GET /hello HTTP/1.1\r\nHost: x\r\n"
                                      b"Transfer-Encoding: gzip\r\n\r\n"),
    "bad-chunk-size": (b"GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"zz\r\nabc\r\n0\r\n\r\n"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_request_is_400_and_closed(server, name):
    response = answer_and_close(server, MALFORMED[name])
    assert response.status == 400, response
    assert response.header("Date") is not None


# RFC 9112 / 9110 MUSTs that Debian's loose llhttp leaves to forkd: each is a
# 400 whose JSON error says which rule, then close.
STRICT = {
    "host-userinfo": (b"GET /hello HTTP/1.1\r\nHost: user@x\r\n\r\n", "Host header: userinfo in authority"),
    "host-path": (b"GET /hello HTTP/1.1\r\nHost: x/admin\r\n\r\n", "Host header: path or query in authority"),
    "host-list": (b"GET /hello HTTP/1.1\r\nHost: a, b\r\n\r\n", "Host header: a list of hosts in authority"),
    "host-bad-port": (b"GET /hello HTTP/1.1\r\nHost: x:99999\r\n\r\n", "Host header: invalid port in authority"),
    "absolute-form-userinfo": (b"GET http://u:p@x/hello HTTP/1.1\r\nHost: x\r\n\r\n",
                               "request-target: userinfo in authority"),
    "transfer-encoding-empty": (b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n\r\n",
                                "empty Transfer-Encoding header"),
    "bare-cr-ends-head": (b"GET /hello HTTP/1.1\r\nHost: x\r\n\rGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                          "bare CR in request head"),
    "bare-cr-before-request": (b"\rGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", "bare CR in request head"),
    "two-spaces-in-request-line": (b"GET  /hello HTTP/1.1\r\nHost: x\r\n\r\n", "more than one space in request line"),
    # llhttp built loose skips the two bytes after chunk data unseen: "AB"
    # would vanish and "0" end the body (request smuggling).
    "chunk-data-without-crlf": (b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"1\r\nxAB0\r\n\r\n", "chunk data not followed by CRLF"),
    "bare-cr-in-chunk-size": (b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"1\rxx\r\n0\r\n\r\n", "bare CR in chunked body"),
}


@pytest.mark.parametrize("name", sorted(STRICT))
def test_strict_rfc_rule_is_400_with_its_reason_and_closed(server, name):
    data, reason = STRICT[name]
    response = answer_and_close(server, data)
    assert assert_json_error(response, 400) == reason


def test_only_one_response_when_chunk_framing_is_broken(server):
    # The smuggling shape: one request whose body framing is broken, then a
    # second request that a lenient parser would see. Only the 400 comes back.
    data = server.raw(b"POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"1\r\nxAB0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    first, rest = parse_response(data, eof=True)
    assert first.status == 400, first
    assert rest == b"", f"something followed the 400: {rest!r}"


def test_valid_authorities_are_served(server):
    for host in (b"x", b"x:8000", b"127.0.0.1:1", b"[::1]:8000", b""):
        with server.connect() as conn:
            conn.send(b"GET /hello HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
            response = conn.read_response()
        assert (response.status, response.body) == (200, b"hello"), (host, response)


def test_unsupported_http_version(server):
    response = answer_and_close(server, b"GET /hello HTTP/9.9\r\nHost: x\r\n\r\n")
    assert response.status in (400, 505), response


def test_garbage_after_a_good_request_still_answers_the_good_one(server):
    data = server.raw(get_request("/hello") + b"NONSENSE\r\n\r\n")
    first, rest = parse_response(data, eof=True)
    assert first.status == 200 and first.body == b"hello"
    second, _ = parse_response(rest, eof=True)
    assert second.status == 400


# ---------------------------------------------------------------- limits: 414, 431, 413

def test_request_line_too_long_is_414(server):
    response = answer_and_close(server, get_request("/" + "a" * 9000))
    assert response.status == 414, response


def test_request_line_under_the_limit_is_routed(server):
    status, _, body = server.get("/" + "a" * 8000)
    assert status == 404, body


def test_too_many_headers_is_431(server):
    fields = "".join(f"X-Field-{i}: v\r\n" for i in range(101))
    response = answer_and_close(server, get_request("/hello", extra=fields))
    assert response.status == 431, response


def test_header_too_large_is_431(server):
    response = answer_and_close(server, get_request("/hello", extra=f"X-Big: {'a' * 9000}\r\n"))
    assert response.status == 431, response


def test_headers_under_the_limits_are_served(server):
    headers = {f"X-Field-{i}": "v" for i in range(90)}
    headers["X-Big"] = "a" * 4000
    status, _, body = server.get("/hello", headers=headers)
    assert (status, body) == (200, b"hello")


def test_body_over_limit_by_content_length_is_413(server):
    # The body is never sent: the head alone must be refused.
    response = answer_and_close(server, get_request("/hello", extra="Content-Length: 2048\r\n"))
    assert response.status == 413, response


def test_body_over_limit_by_chunks_is_413(server):
    data = (get_request("/hello", extra="Transfer-Encoding: chunked\r\n")
            + b"800\r\n" + b"a" * 1100)
    response = answer_and_close(server, data)
    assert response.status == 413, response


def test_bodies_under_the_limit_are_read_and_ignored(server):
    with server.connect() as conn:
        conn.send(get_request("/hello", extra="Content-Length: 100\r\n") + b"b" * 100
                  + get_request("/hello", extra="Transfer-Encoding: chunked\r\n")
                  + b"64\r\n" + b"c" * 100 + b"\r\n64\r\n" + b"d" * 100 + b"\r\n0\r\n\r\n"
                  + get_request("/fib/7"))
        assert conn.read_response().body == b"hello"
        assert conn.read_response().body == b"hello"
        assert conn.read_response().json() == {"n": 7, "fib": 13}


# ---------------------------------------------------------------- routes: 404, 405

@pytest.mark.parametrize("path", ["/", "/nope", "/hello/extra", "/HELLO", "/fibonacci/3"])
def test_unknown_route_is_404_json(server, path):
    status, _, body = server.get(path)
    assert status == 404, body
    assert json.loads(body)["status"] == 404


@pytest.mark.parametrize("method, path", [("POST", "/hello"), ("PUT", "/fib/3"),
                                          ("DELETE", "/sleep/10"), ("PATCH", "/healthz")])
def test_wrong_method_is_405_with_allow(server, method, path):
    status, headers, body = server.get(path, method=method, body=b"")
    assert status == 405, body
    assert headers["Allow"] == "GET, HEAD"
    assert json.loads(body)["status"] == 405


# ---------------------------------------------------------------- bad parameters: 400 JSON

BAD_PARAMS = [
    "/sleep/abc", "/sleep/-1", "/sleep/1.5", "/sleep/1e3", "/sleep/0x10", "/sleep/+5",
    "/sleep/99999999999999999999", "/fib/x", "/fib/-3", "/fib/99999999999999999999",
    "/fibo_sleep/abc", "/fibo_sleep/41",
    "/hello?mode=bogus", "/sleep/10?mode=inline", "/fib/10?mode=timer",
    "/fibo_sleep/5?mode=block",
]


@pytest.mark.parametrize("path", BAD_PARAMS)
def test_bad_parameter_is_400_json(server, path):
    status, headers, body = server.get(path)
    assert status == 400, (path, body)
    assert headers["Content-Type"].startswith("application/json")
    error = json.loads(body)
    assert error["status"] == 400 and error["error"], body


@pytest.mark.parametrize("path, limit", [("/fib/41", "40"), ("/sleep/60001", "60000")])
def test_over_the_limit_is_400_naming_the_limit(server, path, limit):
    with server.connect() as conn:
        conn.send(get_request(path))
        error = assert_json_error(conn.read_response(), 400)
    assert limit in error, f"the error {error!r} does not say the limit {limit}"


# ---------------------------------------------------------------- slow clients

def test_incomplete_head_gets_408_after_header_timeout(server):
    with server.connect() as conn:
        started = time.monotonic()
        conn.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
        response = conn.read_response(timeout=5)
        elapsed = time.monotonic() - started
        assert response.status == 408, response
        assert 0.9 <= elapsed < 3.5, f"408 after {elapsed:.2f} s with header_timeout = 1"
        assert conn.closed_within(5)


def test_header_timeout_is_absolute_not_per_byte(server):
    # A slowloris client sending one byte every 0.2 s is still cut off.
    trickle = b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    with server.connect() as conn:
        started = time.monotonic()
        for byte in trickle:  # bounded: at most 100+ bytes, 0.2 s apart
            try:
                conn.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if not conn.silent_for(0.2):
                break
        elapsed = time.monotonic() - started
        data = conn.read_until_close(timeout=3)
    assert elapsed < 3.5, f"still reading headers after {elapsed:.2f} s"
    assert data.startswith(b"HTTP/1.1 408"), data[:200]


def test_idle_keep_alive_connection_is_closed_after_keepalive(server):
    with server.connect() as conn:
        conn.send(get_request("/hello"))
        assert conn.read_response().body == b"hello"
        started = time.monotonic()
        assert conn.closed_within(5), "the idle connection stayed open"
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 3.5, f"closed after {elapsed:.2f} s with keepalive = 1"


def test_connection_that_sends_nothing_is_closed(server):
    with server.connect() as conn:
        data = conn.read_until_close(timeout=5)
        assert conn.eof, "a connection that sent nothing was kept open"
    assert data == b"" or data.startswith(b"HTTP/1.1 408"), data[:200]


# ---------------------------------------------------------------- backpressure

def test_worker_connections_backpressure(forkd):
    limited = forkd(config={"workers": 1, "worker_connections": 2, "keepalive": 30, "header_timeout": 30})
    first = limited.connect()
    second = limited.connect()
    third = None
    try:
        # Each has a request under way (head incomplete): nothing idle that
        # the worker could close to make room.
        for conn in (first, second):
            conn.send(b"GET /hello HTTP/1.1\r\nHost: t")
        # The third connection is not refused (the kernel queues it) but
        # the worker does not take it while two are open and busy.
        third = RawConnection(limited.host, limited.port)
        third.send(get_request("/hello"))
        assert third.silent_for(0.5), "a third connection was served past worker_connections = 2"
        assert not third.eof
        first.close()
        response = third.read_response(timeout=5)
        assert response.body == b"hello"
        # The second connection was never disturbed.
        second.send(b"\r\n\r\n")
        assert second.read_response().body == b"hello"
    finally:
        for conn in (first, second, third):
            if conn:
                conn.close()


def test_worker_connections_full_of_idle_keepalive_closes_the_longest_idle(forkd):
    limited = forkd(config={"workers": 1, "worker_connections": 2, "keepalive": 30})
    first = limited.connect()
    second = limited.connect()
    third = None
    try:
        for conn in (first, second):
            conn.send(get_request("/hello"))
            assert conn.read_response().body == b"hello"
        # Both idle: the one idle longest (first) makes way for a new client.
        third = RawConnection(limited.host, limited.port)
        third.send(get_request("/hello"))
        assert third.read_response(timeout=5).body == b"hello"
        assert first.closed_within(5)
        second.send(get_request("/hello"))
        assert second.read_response().body == b"hello"
    finally:
        for conn in (first, second, third):
            if conn:
                conn.close()
