"""Hostile clients for test_abuse.py, in a process of their own.

Run as `python3 abusers.py MODE HOST PORT COUNT [SECONDS]`. A process of its
own so that the abusers' Python work never competes with the test's normal
clients for one interpreter lock: the test measures the server, not us.

Modes (COUNT connections each):
  slowloris  each sends a request head one byte every half second, never
             finishing it (the server must answer 408 at header_timeout)
  idle       each sends one GET /hello, reads the answer, then stays open
             and silent (keep-alive; the server may close it when full)
  pipeline   each writes pipelined GET /hello requests as fast as the socket
             takes them and never reads an answer (a small receive buffer)

Prints "ready N" (N connections set up) once all are, then watches them
until stdin closes or SECONDS pass, and prints one JSON line: how many
connections the server closed, and the status codes of what it answered
(slowloris: the 408s). Owns no server; talks to loopback only.
"""

import json
import resource
import selectors
import socket
import sys
import time

TRICKLE_EVERY_S = 0.5
HEAD = b"GET /hello HTTP/1.1\r\nHost: abuse\r\nX-Slow: " + b"a" * 4000
REQUEST = b"GET /hello HTTP/1.1\r\nHost: abuse\r\n\r\n"


def raise_nofile(count):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 64
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            print(f"skip RLIMIT_NOFILE hard limit {hard} < {wanted}", flush=True)
            sys.exit(0)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Conn:
    __slots__ = ("sock", "sent", "buf", "closed", "statuses")

    def __init__(self, sock):
        self.sock, self.sent, self.buf, self.closed, self.statuses = sock, 0, b"", False, []


def connect(host, port, rcvbuf=None):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect((host, port))
    s.setblocking(False)
    return Conn(s)


def take_statuses(c):
    """Status codes of the complete response heads in c.buf (bodies are short)."""
    while True:
        end = c.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        line = c.buf[:c.buf.find(b"\r\n")]
        c.statuses.append(int(line.split()[1]))
        head = c.buf[:end].lower()
        at = head.find(b"content-length:")
        length = int(head[at + 15:].split(b"\r\n")[0]) if at >= 0 else 0
        if len(c.buf) < end + 4 + length:
            return
        c.buf = c.buf[end + 4 + length:]


def read_some(c):
    """Read what is there; mark the connection closed on EOF or reset."""
    try:
        while True:
            data = c.sock.recv(65536)
            if not data:
                c.closed = True
                return
            c.buf += data
            take_statuses(c)
    except BlockingIOError:
        return
    except OSError:
        c.closed = True


def send_some(c, burst):
    """Write pipelined requests until the socket takes no more; the stream
    stays aligned on whole requests (burst is REQUEST repeated)."""
    try:
        while True:
            c.sent += c.sock.send(burst[c.sent % len(REQUEST):])
    except BlockingIOError:
        return
    except OSError:
        c.closed = True


def main():
    mode, host, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
    raise_nofile(count)
    conns = []
    if mode == "slowloris":
        conns = [connect(host, port) for _ in range(count)]
        for c in conns:
            c.sock.send(HEAD[:1])
            c.sent = 1
    elif mode == "idle":
        for _ in range(count):
            c = connect(host, port)
            c.sock.send(REQUEST)
            conns.append(c)
        deadline = time.monotonic() + 60
        while any(not c.statuses and not c.closed for c in conns) and time.monotonic() < deadline:
            for c in conns:
                if not c.statuses and not c.closed:
                    read_some(c)
            time.sleep(0.01)
    elif mode == "pipeline":
        conns = [connect(host, port, rcvbuf=4096) for _ in range(count)]
        burst = REQUEST * 1000
        for c in conns:
            send_some(c, burst)
    else:
        sys.exit(f"unknown mode {mode}")
    print(f"ready {sum(not c.closed for c in conns)}", flush=True)

    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ, None)
    if mode != "pipeline":
        for c in conns:
            if not c.closed:
                sel.register(c.sock, selectors.EVENT_READ, c)
    deadline = time.monotonic() + seconds
    next_round = time.monotonic() + TRICKLE_EVERY_S
    done = False
    while not done and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            if key.data is None:
                if not sys.stdin.readline():
                    done = True
                continue
            c = key.data
            read_some(c)
            if c.closed:
                sel.unregister(c.sock)
        if time.monotonic() >= next_round:
            next_round += TRICKLE_EVERY_S
            for c in conns:
                if c.closed:
                    continue
                if mode == "slowloris" and c.sent < len(HEAD):
                    try:
                        c.sock.send(HEAD[c.sent:c.sent + 1])
                        c.sent += 1
                    except BlockingIOError:
                        pass
                    except OSError:
                        c.closed = True
                elif mode == "pipeline":
                    send_some(c, burst)
    if mode == "pipeline":
        # A non-reader learns of a close only when a send fails, and the first
        # send after the server's close may still succeed: look a few more
        # times (bounded) so that what the server closed is seen closed.
        for _ in range(20):
            still = [c for c in conns if not c.closed]
            if not still:
                break
            for c in still:
                send_some(c, burst)
            time.sleep(0.1)
    statuses = {}
    for c in conns:
        for s in c.statuses:
            statuses[str(s)] = statuses.get(str(s), 0) + 1
    print(json.dumps({"opened": len(conns), "closed_by_server": sum(c.closed for c in conns),
                      "statuses": statuses}), flush=True)


if __name__ == "__main__":
    main()
