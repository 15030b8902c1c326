"""GET /status, the status page, as an operator sees it: in a real browser.

Owns: the page over HTTP (HTML, a policy that lets it load nothing else,
stats.allow, stats.bind), and the page rendered by headless Chromium against
a forkd under load, read through the DevTools protocol: one row per worker
with the pids the master really has, figures that move between two reads of
the same page (the page refreshes itself from /stats), charts that fill, the
busiest routes, no request but /status and /stats, no script error, and a
screenshot kept as an artifact (its path is printed; under meson it lands in
<builddir>/tests/integration/status-artifacts/).

Chromium is started by this file with its own profile in the test's
directory, on a DevTools port it picks itself, and stopped by pid (its own
process group). Without chromium or python3-websocket, or when it cannot
start, the browser tests are skipped with the reason, never passed.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import SOURCE_ROOT, free_port, wait_for
from load import Load
from test_stats import get_from

try:
    import websocket  # python3-websocket
except ImportError:  # pragma: no cover - reported as a skip
    websocket = None

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_START_S = 60.0  # a cold start on a loaded machine
DASH = "\u2013"


def artifact_dir(tmp_path):
    """Where the screenshot is kept: meson's build dir, else build/ by hand."""
    base = os.environ.get("FORKD_ARTIFACT_DIR")
    if base:
        path = Path(base)
    elif (SOURCE_ROOT / "build").is_dir():
        path = SOURCE_ROOT / "build" / "tests" / "integration" / "status-artifacts"
    else:
        path = tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


class Browser:
    """One headless Chromium, driven over the DevTools protocol; each test opens its own page."""

    def __init__(self, workdir):
        self.profile = Path(workdir) / "chromium-profile"
        self.profile.mkdir(parents=True, exist_ok=True)
        self.log_path = Path(workdir) / "chromium.log"
        args = [CHROMIUM, "--headless", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--password-store=basic", "--use-mock-keychain", "--hide-scrollbars",
                "--window-size=1280,1100", f"--user-data-dir={self.profile}",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        self.port = None

    def log_tail(self):
        return self.log_path.read_text(errors="replace")[-1500:] if self.log_path.exists() else ""

    def connect(self):
        """'' once the page's DevTools socket is open, else why it could not be."""
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + BROWSER_START_S
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                return f"chromium exited with status {self.proc.returncode}: {self.log_tail()}"
            if time.monotonic() > deadline:
                return f"chromium opened no DevTools port in {BROWSER_START_S:.0f} s: {self.log_tail()}"
            time.sleep(0.1)
        self.port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/version", timeout=10) as r:
            json.load(r)  # answers: the DevTools endpoint is up
        return ""

    def new_page(self):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/json/new?about:blank", method="PUT")
        with urllib.request.urlopen(request, timeout=10) as r:
            return Page(self.port, json.load(r))

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        try:  # a child that outlived it, in the group it led (its own session)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Page:
    """One tab: its DevTools socket, and the events it reported (requests, errors)."""

    def __init__(self, port, target):
        self.port, self.target_id = port, target["id"]
        # No Origin header: Chromium refuses DevTools clients from web origins.
        self.ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30,
                                              suppress_origin=True)
        self.next_id = 0
        self.events = []
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        """Send one command, return its result; events that arrive meanwhile are kept."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, f"{method}: {message['error']}"
                return message.get("result", {})
            self.events.append(message)

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def requested_urls(self):
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def errors(self):
        found = [e["params"] for e in self.events if e.get("method") == "Runtime.exceptionThrown"]
        found += [e["params"]["entry"] for e in self.events if e.get("method") == "Log.entryAdded"
                  and e["params"]["entry"].get("level") == "error"]
        return found

    def close(self):
        self.ws.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/close/{self.target_id}", timeout=10):
            pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian package chromium, conf/packages)")
    if websocket is None:
        pytest.skip("python3-websocket is not installed (conf/packages): no DevTools client")
    b = Browser(tmp_path_factory.mktemp("chromium"))
    try:
        problem = b.connect()
    except Exception as e:
        problem = f"{type(e).__name__}: {e}"
    if problem:
        b.close()
        pytest.skip(f"chromium cannot run here: {problem}")
    yield b
    b.close()


@pytest.fixture
def page(browser):
    """A fresh tab for one test: nothing of another test's page is seen."""
    p = browser.new_page()
    yield p
    p.close()


# What the tests read of the rendered page: plain data from the DOM.
READ_PAGE = """(() => {
  // Not loaded yet (the document is parsed while this runs): read again.
  if (document.readyState !== 'complete' || !document.getElementById('chart-rps') ||
      !document.getElementById('chart-p95')) return { reads: 0 };
  const text = (sel) => { const el = document.querySelector(sel); return el ? el.textContent : null; };
  const rows = [...document.querySelectorAll('#workers tbody tr')].map((tr) => {
    const cells = {};
    for (const td of tr.cells) cells[td.dataset.column] = td.textContent;
    return { pid: Number(tr.dataset.pid), slot: Number(tr.dataset.slot), cells };
  });
  return {
    reads: Number(document.body.dataset.reads || 0),
    updated: text('#updated'),
    requests: text('[data-path="totals.requests"]'),
    rps: text('[data-path="totals.requests_per_s"]'),
    master: text('[data-path="server.master_pid"]'),
    busy_workers: text('[data-path="totals.busy.workers"]'),
    rows,
    routes: [...document.querySelectorAll('#routes tbody tr')].map((tr) => tr.dataset.route),
    rps_points: Number(document.getElementById('chart-rps').dataset.points || 0),
    p95_points: Number(document.getElementById('chart-p95').dataset.points || 0),
  };
})()"""


def number(text):
    return int(text.replace(",", ""))


def read_when(page, condition, timeout, what):
    """The page's figures once condition(figures) holds."""
    return wait_for(lambda: (lambda f: f if condition(f) else None)(page.evaluate(READ_PAGE)),
                    timeout, what, interval=0.2)


def open_status(page, url, reads=1):
    page.call("Page.navigate", url=url)
    return read_when(page, lambda f: f["reads"] >= reads, 20, f"the page at {url} to read /stats {reads} times")


def test_status_is_one_self_contained_page_for_allowed_peers(forkd):
    server = forkd(config={"stats": {"interval": 0, "allow": ["127.0.0.1/32"]}})
    status, headers, body = server.get("/status")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Content-Security-Policy"].startswith("default-src 'none';"), headers
    assert body == (SOURCE_ROOT / "src" / "app" / "status.html").read_bytes()  # as built in
    assert server.get("/status", method="HEAD")[2] == b""
    denied = get_from(server, "127.0.0.2", "/status")
    assert denied.status == 403 and "stats.allow" in denied.json()["error"]
    assert server.get("/status", method="POST", body=b"")[0] == 405


def test_status_moves_to_stats_bind(forkd):
    admin_port = free_port()
    server = forkd(config={"stats": {"interval": 0, "bind": f"127.0.0.1:{admin_port}"}})
    status, _, body = server.get("/status")
    assert status == 404 and b"stats.bind" in body
    assert get_from(server, "127.0.0.2", "/status", port=admin_port).status == 200


def test_status_page_renders_live_figures_in_chromium(forkd, page, tmp_path, capsys):
    server = forkd(config={"workers": 2, "stats": {"interval": 0}})
    pids = server.wait_workers(2)
    with Load(server.host, server.port, kinds=("new", "keepalive", "pipelined")) as load:
        load.wait_ok(50)
        first = open_status(page, server.url("/status"), reads=3)
        # One row per worker: the master's real children, every one ready.
        assert sorted(r["pid"] for r in first["rows"]) == pids, first["rows"]
        assert sorted(r["slot"] for r in first["rows"]) == [0, 1]
        assert all(r["cells"]["state"] == "ready" for r in first["rows"]), first["rows"]
        assert first["master"] == str(server.pid)
        assert first["updated"].startswith("updated "), first["updated"]
        # The same page, two refreshes later: the figures moved under the load.
        second = read_when(page, lambda f: f["reads"] >= first["reads"] + 2, 15, "two more reads of /stats")
        load.wait_ok(10)
        assert number(second["requests"]) > number(first["requests"]), (first, second)
        before = {r["pid"]: number(r["cells"]["requests"]) for r in first["rows"]}
        after = {r["pid"]: number(r["cells"]["requests"]) for r in second["rows"]}
        assert sum(after.values()) > sum(before.values()), (before, after)
        # The master samples rates once a second; by now the page has them.
        third = read_when(page, lambda f: f["rps"] != DASH and f["rps_points"] >= 2, 15,
                          "a sampled req/s and two points in its chart")
        assert float(third["rps"].replace(",", "")) > 0, third
        assert third["p95_points"] >= 2, third
        assert "/hello inline" in third["routes"], third["routes"]
        assert all(r["cells"]["RSS"].endswith("MiB") and r["cells"]["CPU"].endswith("%")
                   for r in third["rows"]), third["rows"]
        # busy: what /stats says, or "–" where this forkd does not report it.
        doc = json.loads(server.get("/stats")[2])
        for row in third["rows"]:
            worker = next(w for w in doc["workers"] if w["pid"] == row["pid"])
            expected = {DASH} if worker.get("busy") is None else {"busy", "no"}
            assert row["cells"]["busy"] in expected, (row, worker)
        assert (third["busy_workers"] == DASH) == ("busy" not in doc["totals"]), third

        shot = artifact_dir(tmp_path) / "status-page.png"
        shot.write_bytes(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
        with capsys.disabled():
            print(f"\nstatus page screenshot: {shot}")
    assert not load.failures, load.summary()
    # Self-contained: the page asked its server for itself and /stats, nothing else.
    urls = page.requested_urls()
    assert urls and all(u in (server.url("/status"), server.url("/stats")) for u in urls), urls
    assert not page.errors(), page.errors()
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_status_page_on_stats_bind_reads_stats_there_and_says_when_it_cannot(forkd, page):
    admin_port = free_port()
    server = forkd(config={"workers": 2, "stats": {"interval": 0, "bind": f"127.0.0.1:{admin_port}"}})
    pids = server.wait_workers(2)
    figures = open_status(page, f"http://127.0.0.1:{admin_port}/status", reads=2)
    assert sorted(r["pid"] for r in figures["rows"]) == pids, figures
    assert figures["master"] == str(server.pid)
    urls = page.requested_urls()
    assert urls and all(u.startswith(f"http://127.0.0.1:{admin_port}/") for u in urls), urls
    assert not page.errors(), page.errors()
    # A server that is gone is said so, and the last figures read stay on the
    # page (those of the shutdown, maybe: one worker left, draining).
    server.stop()
    stale = read_when(page, lambda f: (f.get("updated") or "").startswith("cannot read /stats"), 15,
                      "the page to say that /stats cannot be read")
    assert stale["rows"] and {r["pid"] for r in stale["rows"]} <= set(pids), stale
