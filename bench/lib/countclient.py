"""An exact-count keep-alive HTTP/1.1 client, for counting a server's instructions.

Runs as `python3 countclient.py HOST PORT PATH REQUESTS CONNECTIONS [DEPTH]`:
opens CONNECTIONS keep-alive connections and sends exactly REQUESTS
`GET PATH` requests over them, DEPTH at a time per connection (1: one
request per round trip, like wrk; 16: pipelined like bench's pipeline.lua),
reading every response whole (Content-Length framing). Prints one JSON
object: requests, ok (status 200), errors.

wrk runs for a time, not a count; under callgrind a server is some 50x
slower, so a time-bound client would measure a different number of requests
every run. Instructions per request need the exact count.

Must not: retry, hide an error (a non-200, a short read or a reset is
counted), or talk to anything but the address it is given.
"""

import json
import selectors
import socket
import sys


def main(host, port, path, total, conns, depth):
    request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    sel = selectors.DefaultSelector()
    state = {}
    left = total  # requests not yet sent
    ok = errors = 0
    for _ in range(min(conns, total)):
        s = socket.create_connection((host, port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        state[s] = {"buf": b"", "pending": 0}
        sel.register(s, selectors.EVENT_READ)

    def send_batch(s):
        nonlocal left
        n = min(depth, left)
        if n == 0:
            return
        left -= n
        state[s]["pending"] += n
        s.sendall(request * n)

    for s in list(state):
        send_batch(s)
    while any(st["pending"] for st in state.values()):
        for key, _ in sel.select(timeout=60):
            s = key.fileobj
            st = state[s]
            data = s.recv(65536)
            if not data:
                errors += st["pending"]
                st["pending"] = 0
                sel.unregister(s)
                continue
            st["buf"] += data
            while True:
                head_end = st["buf"].find(b"\r\n\r\n")
                if head_end < 0:
                    break
                head = st["buf"][:head_end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if len(st["buf"]) < head_end + 4 + length:
                    break
                st["buf"] = st["buf"][head_end + 4 + length:]
                st["pending"] -= 1
                if head.startswith("HTTP/1.1 200 "):
                    ok += 1
                else:
                    errors += 1
            if st["pending"] == 0:
                send_batch(s)
    for s in state:
        s.close()
    print(json.dumps({"requests": total, "ok": ok, "errors": errors}))


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) not in (5, 6):
        sys.exit("usage: countclient.py HOST PORT PATH REQUESTS CONNECTIONS [DEPTH]")
    main(args[0], int(args[1]), args[2], int(args[3]), int(args[4]), int(args[5]) if len(args) == 6 else 1)
