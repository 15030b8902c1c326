"""The FastAPI peer: forkd's benchmark routes written the way the seeds write them.

Owns the Python side of every comparison in bench/: the same paths, modes and
bodies as forkd (README.md, "Endpoints"), so that one client and one URL can
be pointed at either server. Each mode is the FastAPI idiom the seeds use:
`async def` where forkd runs on its event loop (inline, timer, block), plain
`def` where forkd uses an offload thread (FastAPI runs those in its thread
pool), and a ProcessPoolExecutor for `fibo_sleep?mode=par` (seed 000).
Also serves the seed 001 routes /wait and /asyncwait verbatim (50 ms).

FastAPI routes on the path only, so a tiny ASGI wrapper (ModeDispatch) turns
`/sleep/50?mode=offload` into the internal path `/offload/sleep/50` before
routing; a missing mode takes forkd's default (conf/forkd.toml). It must not
add work per request beyond that rewrite: it is measured against nginx.
Must not: print per request, write files, or listen anywhere (uvicorn and
gunicorn bind; the harness passes 127.0.0.1).
"""

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from urllib.parse import parse_qs

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

api = FastAPI()
# seed 000's `par`. forkserver, not fork: a pool forked from inside a running
# uvloop process hung its first requests here (Python 3.11, uvloop 0.17).
executor = ProcessPoolExecutor(max_workers=os.cpu_count(),
                               mp_context=multiprocessing.get_context("forkserver"))

# forkd's default mode of each route (conf/forkd.toml, [endpoints]).
DEFAULT_MODE = {"hello": "inline", "sleep": "timer", "fib": "offload", "fibo_sleep": "par"}


def fibo(n: int) -> int:
    """Naive recursive Fibonacci, F(0)=0, F(1)=1: the CPU-bound work of seeds 000/001."""
    if n <= 1:
        return n
    return fibo(n - 2) + fibo(n - 1)


# ---------------------------------------------------------------- /hello (seed 003)

@api.get("/inline/hello", response_class=PlainTextResponse)
async def hello_inline():
    return "hello"


@api.get("/offload/hello", response_class=PlainTextResponse)
def hello_offload():
    return "hello"


# ---------------------------------------------------------------- /sleep/{ms} (seeds 001, 002)

@api.get("/timer/sleep/{ms}")
async def sleep_timer(ms: int):
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@api.get("/offload/sleep/{ms}")
def sleep_offload(ms: int):
    time.sleep(ms / 1000)
    return {"slept_ms": ms}


@api.get("/block/sleep/{ms}")
async def sleep_block(ms: int):
    time.sleep(ms / 1000)  # the seed 002 mistake: a blocking call inside async def
    return {"slept_ms": ms}


@api.get("/wait")
def wait():
    duration = 0.05
    time.sleep(duration)
    return {"duration": duration}


@api.get("/asyncwait")
async def asyncwait():
    duration = 0.05
    await asyncio.sleep(duration)
    return {"duration": duration}


# ---------------------------------------------------------------- /fib/{n} (seeds 001, 003)

@api.get("/offload/fib/{n}")
def fib_offload(n: int):
    return {"n": n, "fib": fibo(n)}


@api.get("/inline/fib/{n}")
async def fib_inline(n: int):
    return {"n": n, "fib": fibo(n)}


# ---------------------------------------------------------------- /fibo_sleep/{n} (seed 000)

@api.get("/par/fibo_sleep/{n}")
async def fibo_sleep_par(n: int):
    loop = asyncio.get_running_loop()
    fib = await loop.run_in_executor(executor, fibo, n)
    await asyncio.sleep(fib / 1_000_000.0)
    return {"n": n, "fib": fib, "slept_s": fib / 1_000_000.0}


@api.get("/async/fibo_sleep/{n}")
async def fibo_sleep_async(n: int):
    fib = fibo(n)
    await asyncio.sleep(fib / 1_000_000.0)
    return {"n": n, "fib": fib, "slept_s": fib / 1_000_000.0}


@api.get("/baseline/fibo_sleep/{n}")
async def fibo_sleep_baseline(n: int):
    # forkd's baseline blocks its loop; the async def + time.sleep twin does the same.
    fib = fibo(n)
    time.sleep(fib / 1_000_000.0)
    return {"n": n, "fib": fib, "slept_s": fib / 1_000_000.0}


@api.get("/offload/fibo_sleep/{n}")
def fibo_sleep_offload(n: int):
    # Seed 000's "baseline": a plain def, run whole in FastAPI's thread pool.
    fib = fibo(n)
    time.sleep(fib / 1_000_000.0)
    return {"n": n, "fib": fib, "slept_s": fib / 1_000_000.0}


@api.get("/healthz", response_class=PlainTextResponse)
async def healthz():
    return "ok"


class ModeDispatch:
    """ASGI wrapper: route `/{route}/...?mode=m` to the internal path `/{m}/{route}/...`."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            path = scope["path"]
            route = path[1:].split("/", 1)[0]
            default = DEFAULT_MODE.get(route)
            if default is not None:
                mode = default
                query = scope.get("query_string", b"")
                if query:
                    mode = parse_qs(query.decode("latin-1")).get("mode", [default])[0]
                scope = dict(scope, path=f"/{mode}{path}", raw_path=None)
        await self.inner(scope, receive, send)


app = ModeDispatch(api)
