"""The recording forward proxy: CONNECT tunnels and absolute-form requests, loopback only."""

from __future__ import annotations

import subprocess

from tests.support.forward_proxy import ForwardProxy
from tests.support.origin import Origin
from tests.support.pki import TestPki


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=30)


def test_connect_tunnel(forward_proxy: ForwardProxy, https_origin: Origin, test_pki: TestPki) -> None:
    result = curl("-x", forward_proxy.url, "--cacert", str(test_pki.ca_pem_path), f"{https_origin.url}/via")
    assert result.stdout == "ok\n"
    assert [(r.method, r.target) for r in forward_proxy.requests] == [("CONNECT", https_origin.netloc)]
    assert https_origin.last.route == "/via"


def test_absolute_form(forward_proxy: ForwardProxy, http_origin: Origin) -> None:
    result = curl("-x", forward_proxy.url, "-H", "Proxy-Authorization: Basic eDp5", f"{http_origin.url}/via?q=1")
    assert result.stdout == "ok\n"
    assert forward_proxy.requests[0].target == f"{http_origin.url}/via?q=1"
    assert http_origin.last.path == "/via?q=1"
    assert http_origin.last.header("proxy-authorization") is None


def test_only_loopback_is_reached(forward_proxy: ForwardProxy) -> None:
    result = curl("-x", forward_proxy.url, "-o", "/dev/null", "-w", "%{http_code}", "http://example.com/")
    assert result.stdout == "403"
