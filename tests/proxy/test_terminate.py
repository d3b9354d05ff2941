"""The proxy with credentials: TLS termination, injection, leak guard, scrubbing, request
rules, rate limits and the gateway -- real sockets, real TLS, real curl.

Each test writes a policy, loads it the way `ringfence run` does (`Egress.prepare`), starts
the proxy on port 0 with that configuration, and talks to test origins on 127.0.0.1 and
127.0.0.2 (two "hosts") that use their own test CA (`[network] upstream_ca`). Clients trust
ringfence's CA through the bundle the sandbox would get.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringfence.policy import load_policy
from ringfence.proxy import ProxyConfig, start_in_thread
from ringfence.proxy.egress import Egress
from tests.support.origin import Origin
from tests.support.pki import TestPki, make_test_pki

from .helpers import ListSink, listening_tcp

SECRET = "sk-test-0123456789abcdefghijklmnopqrstuv"
OTHER_SECRET = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make test installs it)")


@dataclass
class Terminating:
    port: int
    sink: ListSink
    egress: Egress
    bundle: str
    gateway_port: int

    def placeholder(self, name: str = "api") -> str:
        return self.egress.placeholders[name]

    def records(self) -> list[object]:
        return list(self.sink.records)

    def wait_for(self, predicate: Callable[[object], bool], timeout: float = 10.0) -> list[object]:
        """The records matching ``predicate``, once there is one (the client may see a failed
        handshake before the proxy has recorded it)."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.records() if predicate(r)]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def curl(self, url: str, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        argv = ["curl", "-sS", "--max-time", str(int(timeout)), "--proxy", f"http://127.0.0.1:{self.port}",
                "--cacert", self.bundle, "-w", "\n%{http_code}", *args, url]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NO_PROXY": ""}
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10, env=env)


def _status_and_body(proc: subprocess.CompletedProcess[str]) -> tuple[int, str]:
    body, _, code = proc.stdout.rpartition("\n")
    return int(code or 0), body


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return make_test_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def origin(pki: TestPki) -> Iterator[Origin]:
    with Origin(pki) as server:
        yield server


@pytest.fixture
def origin2(pki: TestPki) -> Iterator[Origin]:
    with Origin(pki, bind="127.0.0.2") as server:
        yield server


@pytest.fixture
def terminating(tmp_path: Path, pki: TestPki, proxy_loop: str) -> Iterator[Callable[..., Terminating]]:
    started: list[object] = []

    def start(policy_text: str, environ: dict[str, str] | None = None) -> Terminating:
        policy_file = tmp_path / "ringfence.toml"
        policy_file.write_text(policy_text + f'\n[audit]\npath = "{tmp_path / "audit.db"}"\n')
        policy = load_policy(policy_file=policy_file, cwd=tmp_path, home=tmp_path, managed=tmp_path / "none.toml")
        environ = {"API_KEY": SECRET, **(environ or {})}
        egress = Egress.prepare(policy, state_dir=str(tmp_path / "state"), environ=environ, port=3128)
        assert egress is not None
        sink = ListSink()
        sock = listening_tcp()
        port = sock.getsockname()[1]
        config = ProxyConfig(policy.network.rules(), run_id="test-run", command="agent", connect_timeout=5.0,
                             inspector=egress.inspector(), tls=egress.tls(), gateway_port=port)
        handle = start_in_thread(config, sink, [sock], use_uvloop=proxy_loop == "uvloop")
        started.append(handle)
        assert egress.bundle is not None or not policy.terminated_hosts()
        return Terminating(port, sink, egress, egress.bundle or "", port)

    yield start
    for handle in started:
        handle.stop()  # type: ignore[attr-defined]


def _policy(pki: TestPki, extra: str = "", *, hosts: str = '["127.0.0.1"]') -> str:
    return f"""
[network]
allow = ["127.0.0.1", "127.0.0.2"]
upstream_ca = ["{pki.ca_pem_path}"]

[[credentials]]
name = "api"
hosts = {hosts}
header = "x-api-key"
value = "env:API_KEY"
placeholder_env = "API_KEY"
{extra}
"""


def _by_protocol(records: list[object], protocol: str) -> list[object]:
    return [r for r in records if getattr(r, "protocol") == protocol]


# ---- injection through a terminated connection ----
def test_terminated_request_gets_the_credential_the_agent_never_had(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    placeholder = proxy.placeholder()
    assert SECRET not in placeholder and len(placeholder) >= 24
    proc = proxy.curl(f"{origin.url}/echo?token=abc", "-H", f"x-api-key: {placeholder}")
    status, body = _status_and_body(proc)
    assert status == 200, proc.stderr
    received = origin.last
    assert received.header_values("x-api-key") == [SECRET]  # replaced, not added
    assert received.sni is None  # an IP literal: no SNI
    # the echo carries the key back: the scrub replaced it before the agent saw it
    assert SECRET not in body
    assert json.loads(body)["headers"]
    records = proxy.records()
    connect = _by_protocol(records, "connect")
    https = _by_protocol(records, "https")
    assert [getattr(r, "decision").value for r in connect] == ["allow"]
    assert "terminated" in getattr(connect[0], "reason")
    assert len(https) == 1
    rec = https[0]
    assert (getattr(rec, "method"), getattr(rec, "path"), getattr(rec, "status"), getattr(rec, "credential")) == (
        "GET", "/echo", 200, "api")
    assert "abc" not in repr(records) and SECRET not in repr(records)


def test_keep_alive_requests_each_get_a_decision_and_the_credential(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    proc = proxy.curl(f"{origin.url}/echo", f"{origin.url}/status/204")  # curl reuses the connection
    assert proc.returncode == 0, proc.stderr
    assert [r.header("x-api-key") for r in origin.requests] == [SECRET, SECRET]
    https = _by_protocol(proxy.records(), "https")
    assert sorted((getattr(r, "path"), getattr(r, "status")) for r in https) == [("/echo", 200), ("/status/204", 204)]
    assert len(_by_protocol(proxy.records(), "connect")) == 1  # one connection, two requests


def test_reflected_key_is_scrubbed_from_headers_and_a_chunked_body(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    proc = proxy.curl(f"{origin.url}/reflect", "-D", "-")
    status, output = _status_and_body(proc)
    assert status == 200, proc.stderr
    assert origin.last.header("x-api-key") == SECRET  # the origin had it ...
    assert SECRET not in output  # ... the agent never does: not in headers, not in the 3-byte chunks
    mask = proxy.placeholder()[: len(SECRET)] if len(proxy.placeholder()) >= len(SECRET) else None
    assert f"x-reflect-x-api-key: {mask}" in output.lower() or proxy.placeholder()[:8] in output


def test_compressed_answer_to_a_credentialed_request_is_refused(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    from tests.support.origin import Reply

    origin.route("/gz", Reply(body=b"\x1f\x8b\x08\x00hidden", headers=(("Content-Encoding", "gzip"),)))
    proxy = terminating(_policy(pki))
    status, body = _status_and_body(proxy.curl(f"{origin.url}/gz"))
    assert status == 502
    assert "compressed" in body
    assert origin.last.header("accept-encoding") == "identity"


# ---- leaks ----
def test_placeholder_to_another_host_is_refused_as_a_leak(
    terminating: Callable[..., Terminating], origin2: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki).replace("[network]", '[network]\ninspect = ["127.0.0.2"]'))
    status, body = _status_and_body(proxy.curl(f"{origin2.url}/echo", "-H", f"authorization: {proxy.placeholder()}"))
    assert status == 403
    assert "leak guard" in body and "'api'" in body
    assert origin2.requests == []
    denied = [r for r in proxy.records() if getattr(r, "decision").value == "deny"]
    assert [getattr(r, "rule") for r in denied] == ["leak guard"]
    assert proxy.placeholder() not in repr(denied)


def test_placeholder_over_plain_http_to_another_host_is_refused(
    terminating: Callable[..., Terminating], pki: TestPki
) -> None:
    with Origin(bind="127.0.0.2") as plain:
        proxy = terminating(_policy(pki))
        for where in (["-H", f"x-other: {proxy.placeholder()}"], ["--data-binary", f"k={proxy.placeholder()}"]):
            status, body = _status_and_body(proxy.curl(f"{plain.url}/echo", *where))
            assert status == 403, body
        status, body = _status_and_body(proxy.curl(f"{plain.url}/echo?key={proxy.placeholder()}"))
        assert status == 403 and "leak guard" in body
        assert plain.requests == []


def test_secret_split_across_a_chunked_body_never_reaches_another_host_whole(
    terminating: Callable[..., Terminating], origin2: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki).replace("[network]", '[network]\ninspect = ["127.0.0.2"]'))
    placeholder = proxy.placeholder()
    body_file = Path(proxy.bundle).parent / "body.txt"
    body_file.write_text("x" * 70000 + placeholder + "y" * 10)
    proc = proxy.curl(f"{origin2.url}/big-upload", "-H", "Transfer-Encoding: chunked",
                      "--data-binary", f"@{body_file}")
    status, body = _status_and_body(proc)
    assert status == 403, (status, body)
    assert "request body" in body
    for request in origin2.requests:
        assert not request.contains(placeholder)


# ---- domain fronting ----
def test_host_header_that_differs_from_the_connect_target_is_refused(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    status, body = _status_and_body(proxy.curl(f"{origin.url}/echo", "-H", "Host: 127.0.0.2"))
    assert status == 403
    assert "does not match the CONNECT target" in body
    assert origin.requests == []
    assert [getattr(r, "rule") for r in proxy.records() if getattr(r, "decision").value == "deny"] == [
        "domain fronting"]


def test_sni_that_differs_from_the_connect_target_fails_the_handshake(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    with _tunnel(proxy.port, f"127.0.0.1:{origin.port}") as sock:
        context = ssl.create_default_context(cafile=proxy.bundle)
        context.check_hostname = False
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(sock, server_hostname="example.com").close()
    refused = proxy.wait_for(lambda r: getattr(r, "rule") == "domain fronting")
    assert refused and "example.com" in getattr(refused[0], "reason")


# ---- upstream verification ----
def test_upstream_certificate_that_cannot_be_verified_is_a_502_with_the_reason(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    text = _policy(pki).replace(f'upstream_ca = ["{pki.ca_pem_path}"]', "upstream_ca = []")
    proxy = terminating(text)
    status, body = _status_and_body(proxy.curl(f"{origin.url}/echo"))
    assert status == 502
    assert "could not be verified" in body and "127.0.0.1" in body
    assert origin.requests == []


# ---- request rules and rates ----
def test_request_rules_refuse_methods_paths_and_dodges(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki, extra='methods = ["GET"]\npaths = ["/repos/acme/*"]\nmax_body = "10"\n'))
    assert _status_and_body(proxy.curl(f"{origin.url}/repos/acme/widget?x=1"))[0] == 200
    assert _status_and_body(proxy.curl(f"{origin.url}/repos/other/widget"))[0] == 403
    assert _status_and_body(proxy.curl(f"{origin.url}/repos/acme/widget", "-X", "DELETE"))[0] == 403
    assert _status_and_body(proxy.curl(f"{origin.url}/repos/acme/../other/x", "--path-as-is"))[0] == 400
    assert _status_and_body(proxy.curl(f"{origin.url}/repos/acme/%2e%2e/other", "--path-as-is"))[0] == 400
    assert [r.path for r in origin.requests] == ["/repos/acme/widget?x=1"]
    rules = {getattr(r, "rule") for r in proxy.records() if getattr(r, "decision").value == "deny"}
    assert rules == {'credentials "api"'} or all("api" in rule for rule in rules)


def test_rate_limit_answers_429_with_retry_after(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki, extra='\n[network.rate]\n"127.0.0.1" = "2/min"\n'))
    codes = [_status_and_body(proxy.curl(f"{origin.url}/echo", "-D", "-")) for _ in range(3)]
    assert [c for c, _ in codes] == [200, 200, 429]
    assert "retry-after:" in codes[2][1].lower()
    assert len(origin.requests) == 2


# ---- the gateway ----
def test_gateway_forwards_origin_form_and_absolute_form_with_the_key(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki, extra=f"""
[[upstreams]]
name = "api"
url = "{origin.url}/base"
credential = "api"
base_url_env = "API_BASE_URL"
"""))
    assert proxy.egress.env["API_BASE_URL"] == "http://127.0.0.1:3128/api"
    # origin-form, straight to the proxy's address (NO_PROXY clients)
    direct = subprocess.run(["curl", "-sS", "--noproxy", "*", "-H", f"x-api-key: {proxy.placeholder()}",
                             f"http://127.0.0.1:{proxy.port}/api/v1/messages?beta=true", "-d", "{}"],
                            capture_output=True, text=True, timeout=30)
    assert direct.returncode == 0, direct.stderr
    assert origin.last.path == "/base/v1/messages?beta=true"
    assert origin.last.header("x-api-key") == SECRET
    assert origin.last.header("host") == origin.netloc
    # absolute-form to the proxy itself (HTTP_PROXY clients)
    status, _ = _status_and_body(proxy.curl(f"http://127.0.0.1:{proxy.port}/api/echo"))
    assert status == 200
    assert origin.last.path == "/base/echo" and origin.last.header("x-api-key") == SECRET
    gateway = _by_protocol(proxy.records(), "gateway")
    assert [(getattr(r, "host"), getattr(r, "credential")) for r in gateway] == [("127.0.0.1", "api")] * 2


def test_unknown_gateway_name_is_not_a_proxy_request(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    direct = subprocess.run(["curl", "-sS", "--noproxy", "*", "-w", "\n%{http_code}",
                             f"http://127.0.0.1:{proxy.port}/nope/x"], capture_output=True, text=True, timeout=30)
    assert _status_and_body(direct)[0] == 400


# ---- streaming ----
def test_server_sent_events_pass_through_without_buffering(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki))
    # The second event comes 30 s after the first: if the proxy buffered the stream (or held
    # it for the scrub), the first one would not arrive within the 10 s this test waits.
    with _tunnel(proxy.port, f"127.0.0.1:{origin.port}") as sock:
        context = ssl.create_default_context(cafile=proxy.bundle)
        with context.wrap_socket(sock, server_hostname="127.0.0.1") as tls:
            tls.sendall(b"GET /sse?n=2&delay=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = b""
            while b"event: tick" not in received:
                chunk = tls.recv(65536)
                assert chunk, "the stream ended early"
                received += chunk
    assert b"id: 0" in received and b"id: 1" not in received


def _tunnel(port: int, target: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_plain_http_inside_a_connect_to_the_proxy_reaches_the_gateway(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    # Node 24's fetch with NODE_USE_ENV_PROXY reaches http:// URLs by CONNECT, even the
    # gateway's own http://127.0.0.1:3128/NAME base URL.
    proxy = terminating(_policy(pki, extra=f'\n[[upstreams]]\nname = "api"\nurl = "{origin.url}"\ncredential = "api"\n'))
    with _tunnel(proxy.port, f"127.0.0.1:{proxy.gateway_port}") as sock:
        sock.sendall(f"GET /api/echo HTTP/1.1\r\nHost: 127.0.0.1:{proxy.gateway_port}\r\n"
                     "Connection: close\r\n\r\n".encode())
        response = _read_response(sock)
    assert response.startswith(b"HTTP/1.1 200"), response[:200]
    assert origin.last.header("x-api-key") == SECRET
    assert SECRET.encode() not in response
    assert [getattr(r, "credential") for r in _by_protocol(proxy.records(), "gateway")] == ["api"]


def test_plain_http_inside_a_connect_to_a_terminated_host_is_inspected(
    terminating: Callable[..., Terminating], pki: TestPki
) -> None:
    with Origin(bind="127.0.0.2") as plain:
        proxy = terminating(_policy(pki).replace("[network]", '[network]\ninspect = ["127.0.0.2"]'))
        with _tunnel(proxy.port, f"127.0.0.2:{plain.port}") as sock:
            sock.sendall(f"GET /echo HTTP/1.1\r\nHost: 127.0.0.2:{plain.port}\r\nx-leak: {proxy.placeholder()}\r\n"
                         "Connection: close\r\n\r\n".encode())
            response = _read_response(sock)
        assert response.startswith(b"HTTP/1.1 403"), response[:200]
        assert b"leak guard" in response and b"x-should-retry: false" in response
        assert plain.requests == []
        with _tunnel(proxy.port, f"127.0.0.2:{plain.port}") as sock:
            sock.sendall(f"GET /echo HTTP/1.1\r\nHost: 127.0.0.2:{plain.port}\r\nConnection: close\r\n\r\n".encode())
            assert _read_response(sock).startswith(b"HTTP/1.1 200")
        assert [getattr(r, "path") for r in _by_protocol(proxy.records(), "http")] == ["/echo", "/echo"]


def test_the_real_secret_to_another_host_is_refused_in_any_encoding(
    terminating: Callable[..., Terminating], origin2: Origin, pki: TestPki
) -> None:
    import base64
    import urllib.parse

    # The agent never has the secret; this is what a leak of one found elsewhere looks like.
    proxy = terminating(_policy(pki).replace("[network]", '[network]\ninspect = ["127.0.0.2"]'))
    attempts = [
        (f"{origin2.url}/echo?k={SECRET}", []),
        (f"{origin2.url}/echo?k={urllib.parse.quote(SECRET + '/', safe='')}", []),
        (f"{origin2.url}/echo", ["-H", "x-data: " + base64.b64encode(b"user=" + SECRET.encode()).decode()]),
        (f"{origin2.url}/echo", ["--data-binary", f"secret={SECRET}"]),
    ]
    for url, args in attempts:
        status, body = _status_and_body(proxy.curl(url, *args))
        assert status == 403 and "leak guard" in body, (url, args, body)
        assert SECRET not in body
    assert origin2.requests == []


def test_max_body_refuses_a_large_body_up_front_or_while_it_streams(
    terminating: Callable[..., Terminating], origin: Origin, pki: TestPki
) -> None:
    proxy = terminating(_policy(pki, extra='max_body = "1K"\n'))
    status, body = _status_and_body(proxy.curl(f"{origin.url}/big-upload", "--data-binary", "x" * 2000))
    assert status == 413 and "over the limit of 1024 bytes" in body  # Content-Length known: refused before anything goes up
    status, body = _status_and_body(proxy.curl(f"{origin.url}/big-upload", "-H", "Transfer-Encoding: chunked",
                                               "--data-binary", "y" * 5000))
    assert status == 413 and "max_body" in body, body  # chunked: refused once the count passes 1 KiB
    assert _status_and_body(proxy.curl(f"{origin.url}/big-upload", "--data-binary", "z" * 500))[0] == 200
    assert [r.body_size for r in origin.requests if r.route == "/big-upload"][-1] == 500
