"""A steady background load for the lifecycle tests, counting what clients see.

Three kinds of client threads run until stopped, each at a bounded rate:
  new        a new connection per request (GET /sleep/5: a request in flight
             while the operator acts),
  keepalive  one connection reused for many requests,
  pipelined  4 requests written at once on one connection.
A failure is what a user would call one: a refused or reset connection, a
timeout, a non-200 answer, or a connection closed mid-response. A server may
close an idle keep-alive connection, or answer with "Connection: close" and
leave later pipelined requests unanswered; HTTP clients retry those requests
(RFC 9112 9.3.1), and so does this one, counting them as `retried`. forkd
aims at none of either: the lifecycle tests require both to be 0.
"""

import socket
import threading
import time

from rawhttp import parse_response

REQUEST = b"GET %s HTTP/1.1\r\nHost: test\r\n\r\n"


class Load:
    def __init__(self, host, port, kinds=("new", "new", "keepalive", "pipelined"),
                 pause_s=0.005, timeout_s=10.0, max_seconds=120.0):
        self.host, self.port = host, port
        self.kinds = kinds
        self.pause_s = pause_s
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + max_seconds  # a bound even if stop() is never called
        self.lock = threading.Lock()
        self.ok = 0
        self.retried = 0
        self.failures = []
        self.pids = set()
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(k,), daemon=True) for k in kinds]

    # -- control

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self._stop.set()
        for t in self.threads:
            t.join(self.timeout_s + 5)

    def running(self):
        return not self._stop.is_set() and time.monotonic() < self.deadline

    def wait_ok(self, count, timeout=10.0):
        """Wait until at least `count` more requests succeeded (proof the load is flowing)."""
        start = self.ok
        deadline = time.monotonic() + timeout
        while self.ok - start < count:
            assert time.monotonic() < deadline, f"load stalled: {self.summary()}"
            time.sleep(0.01)

    def summary(self):
        return f"{self.ok} ok, {self.retried} retried, {len(self.failures)} failed: {self.failures[:5]}"

    # -- clients

    def _record(self, ok=0, retried=0, failure=None):
        with self.lock:
            self.ok += ok
            self.retried += retried
            if failure:
                self.failures.append(failure)

    def _connect(self):
        return socket.create_connection((self.host, self.port), timeout=self.timeout_s)

    def _exchange(self, sock, paths, buf, reused):
        """Send `paths` at once, read the answers. Returns (answered, buf, open)."""
        try:
            sock.sendall(b"".join(REQUEST % p for p in paths))
        except OSError as e:
            if reused:
                return 0, b"", False  # closed while idle: retry on a new connection
            raise
        answered = 0
        while answered < len(paths):
            parsed = parse_response(buf)
            if parsed:
                response, buf = parsed
                if response.status != 200:
                    self._record(failure=f"status {response.status} for {paths[answered]!r}")
                else:
                    self._record(ok=1)
                answered += 1
                if (response.header("Connection") or "").lower() == "close":
                    return answered, b"", False
                continue
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                chunk = None
            if not chunk:
                if buf or not (reused or answered):
                    raise ConnectionError(f"closed mid-response after {answered}/{len(paths)} "
                                          f"(reused={reused}, partial={buf[:80]!r}, reset={chunk is None})")
                return answered, b"", False
            buf += chunk
        return answered, buf, True

    def _run(self, kind):
        paths = {"new": [b"/sleep/5"], "keepalive": [b"/hello"],
                 "pipelined": [b"/hello", b"/sleep/2", b"/hello", b"/hello"]}[kind]
        sock, buf, reused = None, b"", False
        while self.running():
            try:
                if sock is None:
                    sock, buf, reused = self._connect(), b"", False
                answered, buf, still_open = self._exchange(sock, paths, buf, reused)
                if answered < len(paths):
                    self._record(retried=len(paths) - answered)
                reused = True
                if kind == "new" or not still_open:
                    sock.close()
                    sock = None
            except (OSError, ConnectionError, AssertionError) as e:
                self._record(failure=f"{kind}: {type(e).__name__}: {e}")
                if sock is not None:
                    sock.close()
                sock = None
            time.sleep(self.pause_s)
        if sock is not None:
            sock.close()
