"""Wire-level HTTP/1.1 client helpers for forkd's integration tests.

Owns what http.client cannot do: send exact bytes (malformed, pipelined,
byte by byte), read responses with deadlines and tell a close from a reset,
and put several requests in flight at once from one thread so that timings
measure the server rather than client threads. Knows nothing of forkd's
process or config (conftest.py owns those). Every read has a deadline.
"""

import json
import selectors
import socket
import time

REQUEST_TIMEOUT_S = 10.0


class Response:
    """One HTTP response as read from the wire."""

    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), in wire order
        self.body = body

    def header(self, name):
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.version} {self.status} {self.headers} {self.body[:200]!r}>"


def parse_response(buf, head=False, eof=False):
    """Parse one response from the front of buf: (Response, rest of buf), or
    None while it is incomplete. head: the request was HEAD (no body follows).
    eof: the peer closed, so a response without Content-Length ends here."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = buf[:end].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    status_text, _, reason = rest.partition(" ")
    status = int(status_text)
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        assert sep, f"malformed response header line {line!r}"
        headers.append((name.strip(), value.strip()))
    body_start = end + 4
    response = Response(version, status, reason, headers, b"")
    if head or status in (204, 304) or 100 <= status < 200:
        return response, buf[body_start:]
    length = response.header("Content-Length")
    if length is None:
        assert response.header("Transfer-Encoding") is None, "forkd never sends chunked bodies"
        if not eof:
            return None
        response.body = buf[body_start:]
        return response, b""
    length = int(length)
    if len(buf) - body_start < length:
        return None
    response.body = buf[body_start:body_start + length]
    return response, buf[body_start + length:]


def parse_all(data, eof=True):
    """Every complete response in data (none of them to HEAD requests)."""
    responses = []
    while data:
        parsed = parse_response(data, eof=eof)
        if parsed is None:
            break
        response, data = parsed
        responses.append(response)
    return responses


class RawConnection:
    """A client socket that sends exact bytes and reads responses with deadlines.
    A reset from the peer counts as the end of the stream (it is recorded)."""

    def __init__(self, host, port, timeout=REQUEST_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.eof = False
        self.reset = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _recv(self, deadline):
        """Read once before the deadline. False if nothing came in time."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            self.eof = self.reset = True
            return True
        if chunk:
            self.buf += chunk
        else:
            self.eof = True
        return True

    def read_response(self, head=False, timeout=REQUEST_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while True:
            parsed = parse_response(self.buf, head=head, eof=self.eof)
            if parsed:
                response, self.buf = parsed
                return response
            if self.eof:
                raise AssertionError(f"connection closed before a complete response; "
                                     f"got {self.buf[:500]!r} (reset: {self.reset})")
            if not self._recv(deadline):
                raise AssertionError(f"no complete response within {timeout} s; "
                                     f"got {self.buf[:500]!r}")

    def read_until_close(self, timeout=REQUEST_TIMEOUT_S):
        """Everything the peer sends until it closes (or the deadline passes)."""
        deadline = time.monotonic() + timeout
        while not self.eof and self._recv(deadline):
            pass
        data, self.buf = self.buf, b""
        return data

    def closed_within(self, timeout):
        """True if the peer closed within timeout with nothing more to say.
        Fails if it sent data instead."""
        deadline = time.monotonic() + timeout
        while not self.eof and self._recv(deadline):
            pass
        assert self.buf == b"", f"expected the connection to close, got {self.buf[:500]!r}"
        return self.eof

    def silent_for(self, seconds):
        """True if nothing arrived and the peer did not close for `seconds`
        (a bounded wait for an absence: there is no event to wait on)."""
        deadline = time.monotonic() + seconds
        got = self._recv(deadline)
        return not got


def fire_together(host, port, requests, timeout=REQUEST_TIMEOUT_S):
    """Connect one socket per request first, then send every request at once
    and read the answers as they come. Returns (results, t_total) where
    results[i] = (Response, seconds from the first send to its completion)."""
    socks = [socket.create_connection((host, port), timeout=timeout) for _ in requests]
    results = [None] * len(requests)
    selector = selectors.DefaultSelector()
    try:
        t0 = time.monotonic()
        for sock, request in zip(socks, requests):
            sock.sendall(request)
        buffers = {}
        for i, sock in enumerate(socks):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, i)
            buffers[i] = b""
        deadline = t0 + timeout
        pending = len(requests)
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{pending} of {len(requests)} requests unanswered "
                                     f"after {timeout} s: {buffers}")
            for key, _ in selector.select(remaining):
                i = key.data
                try:
                    chunk = key.fileobj.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                buffers[i] += chunk
                parsed = parse_response(buffers[i], eof=not chunk)
                if parsed:
                    results[i] = (parsed[0], time.monotonic() - t0)
                elif not chunk:
                    raise AssertionError(f"request {i} ({requests[i][:60]!r}) got a closed "
                                         f"connection and {buffers[i][:300]!r}")
                if results[i] is not None or not chunk:
                    selector.unregister(key.fileobj)
                    pending -= 1
        return results, max(elapsed for _, elapsed in results)
    finally:
        selector.close()
        for sock in socks:
            sock.close()


def get_request(path, host="x", extra=""):
    """The bytes of a plain GET request."""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
