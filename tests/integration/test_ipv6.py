"""Binding IPv6 loopback, alone and next to IPv4 (DESIGN.md, "Configuration": bind).

Owns only the [::1] binds. Its own file so that, on a host without ::1, meson
reports this test file as SKIP (conftest turns "passed with skips" into exit
status 77) instead of counting the skipped tests as passed.
"""

import subprocess

import pytest

from conftest import free_port, ipv6_loopback_available

pytestmark = pytest.mark.skipif(bool(ipv6_loopback_available()),
                                reason=f"IPv6 loopback unavailable: {ipv6_loopback_available()}")


def test_ipv6_loopback_bind(forkd):
    server = forkd(bind=[f"[::1]:{free_port('::1')}"])
    assert server.host == "::1"
    server.assert_serves_hello()
    status, _, body = server.get("/fib/10")
    assert status == 200 and b'"fib"' in body
    result = subprocess.run(["curl", "-sS", "-g", "--max-time", "10", server.url("/hello")],
                            capture_output=True, timeout=20)
    assert result.returncode == 0 and result.stdout == b"hello", result.stderr
    # /stats is allowed from ::1 (stats.allow defaults to loopback, both families).
    assert server.served_by()["pid"] in server.worker_pids()


def test_ipv4_and_ipv6_binds_together(forkd):
    v4, v6 = free_port(), free_port("::1")
    server = forkd(bind=[f"127.0.0.1:{v4}", f"[::1]:{v6}"], config={"workers": 2})
    for host, port in (("127.0.0.1", v4), ("::1", v6)):
        status, _, body = server.get("/hello", host=host, port=port)
        assert (status, body) == (200, b"hello"), (host, port)
