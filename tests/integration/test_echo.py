"""ANY /echo (DESIGN.md, "Endpoints"; README.md): the request as forkd parsed
it, in HTTP Garden's format (every field base64), for conformance tools.

Owns: /echo is a 404 unless `[endpoints] echo = true`; when on it answers any
method with method, uri (as received), version, headers (in order, as
received), body (chunks joined); binary bytes survive; HEAD gets no body;
a body past max_body_size is still a 413. The worker never crashes (conftest
fails the test on an unexpected worker death).
"""

import base64
import json

import pytest

from rawhttp import parse_response


def b64(data):
    return base64.b64encode(data).decode("ascii")


def decoded(response):
    """The echo body with every field base64-decoded (as HTTP Garden reads it)."""
    body = json.loads(response.body)
    assert set(body) == {"method", "uri", "version", "headers", "body"}, body
    return {
        "method": base64.b64decode(body["method"], validate=True),
        "uri": base64.b64decode(body["uri"], validate=True),
        "version": base64.b64decode(body["version"], validate=True),
        "headers": [(base64.b64decode(k, validate=True), base64.b64decode(v, validate=True))
                    for k, v in body["headers"]],
        "body": base64.b64decode(body["body"], validate=True),
    }


@pytest.fixture(scope="module")
def server(module_forkd):
    return module_forkd(config={"workers": 1, "max_body_size": 64, "endpoints": {"echo": True}})


def exchange(server, data, head=False):
    with server.connect() as conn:
        conn.send(data)
        return conn.read_response(head=head)


def test_echo_is_404_by_default(forkd):
    server = forkd(config={"workers": 1})
    for method in ("GET", "POST"):
        status, headers, body = server.get("/echo", method=method)
        assert status == 404, body
        assert "no such path" in json.loads(body)["error"]


def test_echo_shows_the_request_as_parsed(server):
    response = exchange(server, b"POST /echo?a=1&b HTTP/1.1\r\nHost: x\r\nX-Second: two  \r\n"
                                b"x-first:one\r\nContent-Length: 5\r\n\r\nhello")
    assert response.status == 200, response
    assert response.header("Content-Type") == "application/json"
    echo = decoded(response)
    assert echo["method"] == b"POST"
    assert echo["uri"] == b"/echo?a=1&b"
    assert echo["version"] == b"1.1"
    assert echo["headers"] == [(b"Host", b"x"), (b"X-Second", b"two"), (b"x-first", b"one"),
                               (b"Content-Length", b"5")]
    assert echo["body"] == b"hello"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"])
def test_echo_answers_any_method(server, method):
    response = exchange(server, method.encode() + b" /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert response.status == 200, response
    assert decoded(response)["method"] == method.encode()


def test_echo_joins_chunks_and_keeps_binary_bytes(server):
    response = exchange(server, b"POST http://example.com/echo HTTP/1.1\r\nHost: example.com\r\n"
                                b"X-Bin: caf\xc3\xa9\xff\r\nTransfer-Encoding: chunked\r\n\r\n"
                                b"2\r\n\x00\x01\r\n3;ext=1\r\n\xff\xfe\r\r\n0\r\nX-Trailer: t\r\n\r\n")
    assert response.status == 200, response
    echo = decoded(response)
    assert echo["uri"] == b"http://example.com/echo"  # as received: absolute-form stays
    assert (b"X-Bin", b"caf\xc3\xa9\xff") in echo["headers"]
    assert all(name != b"X-Trailer" for name, _ in echo["headers"])
    assert echo["body"] == b"\x00\x01\xff\xfe\r"


def test_echo_of_pipelined_requests_keeps_each_apart(server):
    data = server.raw(b"POST /echo HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nhi"
                      b"GET /echo HTTP/1.0\r\n\r\n")
    first, rest = parse_response(data, eof=True)
    second, rest = parse_response(rest, eof=True)
    assert rest == b""
    one, two = decoded(first), decoded(second)
    assert (one["body"], one["version"]) == (b"hi", b"1.1")
    assert (two["body"], two["headers"], two["version"]) == (b"", [], b"1.0")


def test_echo_head_has_no_body(server):
    response = exchange(server, b"HEAD /echo HTTP/1.1\r\nHost: x\r\n\r\n", head=True)
    assert response.status == 200
    assert int(response.header("Content-Length")) > 0
    assert response.body == b""


def test_echo_body_past_max_body_size_is_413(server):
    response = exchange(server, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n" + b"b" * 65)
    assert response.status == 413, response
