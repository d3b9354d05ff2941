"""The network path end to end: the agent inside the sandbox, the proxy outside, real origins.

Every test starts a real `ringfence run` (bubblewrap, its own network namespace with only
loopback) and real clients inside (curl, /usr/bin/python3). The origins are servers this
test starts on the host's 127.0.0.1 at a kernel-chosen port: a threaded plain-HTTP server,
and the same behind TLS with a self-signed certificate (curl inside uses -k). They are
reachable from inside only through the proxy, which listens on 127.0.0.1:3128 *inside* the
sandbox's namespace. The audit log is read back with `ringfence log --json --audit PATH`.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shlex
import socket
import sqlite3
import ssl
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Ringfence

pytestmark = pytest.mark.boundary
PY = "/usr/bin/python3"  # reachable by every account (the venv's interpreter may not be)
PROXY = "http://127.0.0.1:3128"
BODY = b"hello from the origin\n"
BIG_SIZE = 20 * 1024 * 1024
BLOCKED = "blocked.example"  # never resolved: a name outside the allow list is refused before DNS

PROXY_VARS = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "GRPC_PROXY", "NO_PROXY",
    "http_proxy", "https_proxy", "all_proxy", "grpc_proxy", "no_proxy",
    "NODE_USE_ENV_PROXY", "npm_config_proxy", "npm_config_https_proxy", "PIP_PROXY",
    "CLOUDSDK_PROXY_TYPE", "CLOUDSDK_PROXY_ADDRESS", "CLOUDSDK_PROXY_PORT",
)


# ---- origins on the host -------------------------------------------------------------------


@pytest.fixture(scope="session")
def big_payload() -> bytes:
    return os.urandom(BIG_SIZE)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _OriginServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.seen.append((self.path, self.headers.get("Host", "")))
        if self.path.split("?", 1)[0] == "/big":
            payload = self.server.big
        elif self.path.split("?", 1)[0] == "/hello":
            payload = BODY
        else:
            payload = b"not here\n"
            self.send_response(404)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        view = memoryview(payload)
        for start in range(0, len(view), 1 << 20):
            self.wfile.write(view[start : start + (1 << 20)])

    def do_POST(self) -> None:  # noqa: N802
        self.server.seen.append((self.path, self.headers.get("Host", "")))
        remaining = int(self.headers["Content-Length"])
        digest = hashlib.sha256()
        while remaining:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            remaining -= len(chunk)
        payload = digest.hexdigest().encode() + b"\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _OriginServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, big: bytes, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.big = big
        self.seen: list[tuple[str, str]] = []
        if tls is not None:
            # the handshake happens on the first read, in the request's own thread
            self.socket = tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def paths(self) -> list[str]:
        return [p for p, _ in self.seen]


def _serve(server: _OriginServer) -> Iterator[_OriginServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="session")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture
def origin(big_payload: bytes) -> Iterator[_OriginServer]:
    yield from _serve(_OriginServer(big_payload, None))


@pytest.fixture
def tls_origin(big_payload: bytes, tls_context: ssl.SSLContext) -> Iterator[_OriginServer]:
    yield from _serve(_OriginServer(big_payload, tls_context))


# ---- helpers -------------------------------------------------------------------------------


def _sh(rf: Ringfence, lines: str, *flags: str, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run a shell script from a file in the workspace (the command line stays short)."""
    script = rf.script(lines, name="probe.sh")
    return rf.run(f"sh {script}", *flags, timeout=timeout)


def _log(rf: Ringfence, *args: str) -> list[dict[str, Any]]:
    proc = rf.cli("log", "--json", "--audit", str(rf.audit), "--limit", "1000", *args)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def _marked(stdout: str, tag: str) -> str:
    """The value of a `tag=...` line the script printed."""
    found = [line.split("=", 1)[1] for line in stdout.splitlines() if line.startswith(f"{tag}=")]
    assert len(found) == 1, f"no single {tag}= line in:\n{stdout}"
    return found[0]


# ---- allowed destinations, each protocol ---------------------------------------------------


def test_plain_forward_through_http_proxy(rf: Ringfence, origin: _OriginServer) -> None:
    url = f"http://127.0.0.1:{origin.port}/hello"
    proc = _sh(rf, f"curl -sS -m 30 -o body.out -w 'code=%{{http_code}}\\n' {url}\n", "--allow-domain", "127.0.0.1")
    assert _marked(proc.stdout, "code") == "200", proc.stdout + proc.stderr
    assert (rf.workspace / "body.out").read_bytes() == BODY
    assert origin.paths() == ["/hello"]  # the request did arrive, once
    rows = _log(rf)
    assert [(r["protocol"], r["host"], r["port"], r["decision"], r["status"]) for r in rows] == [
        ("http", "127.0.0.1", origin.port, "allow", 200)]


def test_https_through_connect(rf: Ringfence, tls_origin: _OriginServer) -> None:
    url = f"https://127.0.0.1:{tls_origin.port}/hello"
    proc = _sh(rf, f"curl -sS -k -m 30 -o body.out -w 'code=%{{http_code}} connect=%{{http_connect}}\\n' {url}\n",
               "--allow-domain", "127.0.0.1")
    assert "code=200 connect=200" in proc.stdout, proc.stdout + proc.stderr
    assert (rf.workspace / "body.out").read_bytes() == BODY
    assert tls_origin.paths() == ["/hello"]
    rows = _log(rf)
    assert [(r["protocol"], r["host"], r["port"], r["decision"]) for r in rows] == [
        ("connect", "127.0.0.1", tls_origin.port, "allow")]


def test_socks5_explicit_and_http_through_all_proxy(rf: Ringfence, origin: _OriginServer) -> None:
    url = f"http://127.0.0.1:{origin.port}/hello"
    script = (
        f"curl -sS -m 30 --socks5-hostname 127.0.0.1:3128 -o a.out -w 'explicit=%{{http_code}}\\n' {url}\n"
        # only ALL_PROXY left (http://, which httpx accepts without extras): curl still gets out
        "env -u HTTP_PROXY -u http_proxy -u HTTPS_PROXY -u https_proxy "
        f"curl -sS -m 30 -o b.out -w 'all_proxy=%{{http_code}}\\n' {url}\n"
    )
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1")
    assert _marked(proc.stdout, "explicit") == "200", proc.stdout + proc.stderr
    assert _marked(proc.stdout, "all_proxy") == "200", proc.stdout + proc.stderr
    assert (rf.workspace / "a.out").read_bytes() == BODY
    assert (rf.workspace / "b.out").read_bytes() == BODY
    rows = _log(rf)
    assert [(r["protocol"], r["host"], r["port"], r["decision"]) for r in rows] == [
        ("socks5", "127.0.0.1", origin.port, "allow"), ("http", "127.0.0.1", origin.port, "allow")]


# ---- refusals ------------------------------------------------------------------------------


def test_name_not_allowed_is_refused_with_the_fix(rf: Ringfence, origin: _OriginServer) -> None:
    script = (
        f"curl -sS -m 30 -o http.out -w 'http=%{{http_code}}\\n' http://{BLOCKED}:8081/x\n"
        f"curl -sS -k -m 30 -o /dev/null -w 'connect=%{{http_connect}}\\n' https://{BLOCKED}/ ; echo connect_rc=$?\n"
        f"curl -sS -m 30 --socks5-hostname 127.0.0.1:3128 http://{BLOCKED}/ ; echo socks_rc=$?\n"
    )
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1")
    assert _marked(proc.stdout, "http") == "403", proc.stdout + proc.stderr
    body = (rf.workspace / "http.out").read_text()
    assert f"{BLOCKED}:8081" in body
    assert "not in [network] allow" in body
    assert f'[network]\nallow = ["{BLOCKED}"]' in body  # the policy lines that would allow it
    # CONNECT: the proxy answers 403 to the CONNECT itself; curl gives up (exit 56)
    assert _marked(proc.stdout, "connect") == "403"
    assert _marked(proc.stdout, "connect_rc") == "56"
    # SOCKS5: reply 0x02 "connection not allowed by ruleset", which curl reports as exit 97
    assert _marked(proc.stdout, "socks_rc") == "97"
    assert re.search(r"SOCKS5 connection to blocked\.example.*\(2\)", proc.stderr), proc.stderr
    denied = [(r["protocol"], r["host"], r["port"], r["decision"], r["rule"]) for r in _log(rf, "--denied")]
    assert denied == [("http", BLOCKED, 8081, "deny", ""), ("connect", BLOCKED, 443, "deny", ""),
                      ("socks5", BLOCKED, 80, "deny", "")]
    assert origin.seen == []


def test_each_request_on_a_kept_alive_connection_is_decided(rf: Ringfence, origin: _OriginServer) -> None:
    allowed = f"http://127.0.0.1:{origin.port}/hello"
    blocked = f"http://{BLOCKED}:{origin.port}/hello"
    # one curl, one connection to the proxy (curl reuses it across hosts), four requests
    script = (f"curl -sS -m 30 -w 'code=%{{http_code}} conns=%{{num_connects}}\\n' -o /dev/null "
              f"{allowed} -o /dev/null {blocked} -o /dev/null {allowed} -o /dev/null {blocked} > codes.out\n")
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1")
    lines = (rf.workspace / "codes.out").read_text().split("\n")
    assert [line.split()[0] for line in lines if line] == ["code=200", "code=403", "code=200", "code=403"], (
        proc.stdout + proc.stderr)
    # a refused GET leaves the agent's connection open: curl connected to the proxy once
    assert [line.split()[1] for line in lines if line] == ["conns=1", "conns=0", "conns=0", "conns=0"]
    assert origin.paths() == ["/hello", "/hello"]
    assert [(r["host"], r["decision"]) for r in _log(rf)] == [
        ("127.0.0.1", "allow"), (BLOCKED, "deny"), ("127.0.0.1", "allow"), (BLOCKED, "deny")]


def test_deny_wins_over_allow(rf: Ringfence, origin: _OriginServer) -> None:
    rf.write_policy('[network]\ndeny = ["127.0.0.1"]\n')
    proc = _sh(rf, f"curl -sS -m 30 -o out -w 'code=%{{http_code}}\\n' http://127.0.0.1:{origin.port}/hello\n",
               "--allow-domain", "127.0.0.1")
    assert _marked(proc.stdout, "code") == "403", proc.stdout + proc.stderr
    body = (rf.workspace / "out").read_text()
    assert "denied by [network] deny rule '127.0.0.1'" in body
    assert origin.seen == []
    (row,) = _log(rf)
    assert (row["decision"], row["rule"], row["host"], row["port"]) == ("deny", "127.0.0.1", "127.0.0.1", origin.port)


def test_host_header_that_disagrees_with_the_target_is_refused(rf: Ringfence, origin: _OriginServer) -> None:
    script = (
        f"curl -sS -m 30 -o out -H 'Host: {BLOCKED}' -w 'code=%{{http_code}}\\n' "
        f"http://127.0.0.1:{origin.port}/hello\n"
    )
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1")
    assert _marked(proc.stdout, "code") == "403", proc.stdout + proc.stderr
    assert "does not match the request target" in (rf.workspace / "out").read_text()
    assert origin.seen == []  # nothing reached the origin
    (row,) = _log(rf)
    assert (row["protocol"], row["decision"], row["status"]) == ("http", "deny", 403)


def test_bypassing_the_proxy_fails(rf: Ringfence, origin: _OriginServer) -> None:
    probe = (
        "import errno, socket, sys\n"
        "port = int(sys.argv[1])\n"
        "for host in ('127.0.0.1', '1.1.1.1'):\n"
        "    s = socket.socket(); s.settimeout(10)\n"
        "    try:\n"
        "        s.connect((host, port if host == '127.0.0.1' else 80)); print('CONNECTED', host)\n"
        "    except OSError as e:\n"
        "        print('tcp', host, errno.errorcode.get(e.errno, e))\n"
        "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    u.sendto(b'\\x00' * 12, ('1.1.1.1', 53)); print('SENT')\n"
        "except OSError as e:\n"
        "    print('udp', errno.errorcode.get(e.errno, e))\n"
    )
    script = (
        f"curl -sS -m 10 --noproxy '*' http://127.0.0.1:{origin.port}/hello ; echo noproxy_rc=$?\n"
        f"{PY} {rf.script(probe)} {origin.port}\n"
    )
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1", "--allow-domain", "1.1.1.1")
    assert _marked(proc.stdout, "noproxy_rc") == "7", proc.stdout + proc.stderr  # connection refused
    assert "CONNECTED" not in proc.stdout and "SENT" not in proc.stdout
    assert "tcp 127.0.0.1 ECONNREFUSED" in proc.stdout, proc.stdout + proc.stderr
    assert "tcp 1.1.1.1 ENETUNREACH" in proc.stdout, proc.stdout + proc.stderr
    assert "udp ENETUNREACH" in proc.stdout, proc.stdout + proc.stderr
    assert origin.seen == []
    assert _log(rf) == []  # nothing went through the proxy


def _localhost_addresses() -> list[str]:
    infos = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def test_anti_rebinding_name_to_loopback(rf: Ringfence, origin: _OriginServer) -> None:
    url = f"http://localhost:{origin.port}/hello"
    script = f"curl -sS -m 30 -o out -w 'code=%{{http_code}}\\n' {url}\n"
    proc = _sh(rf, script, "--allow-domain", "localhost")
    assert _marked(proc.stdout, "code") == "403", proc.stdout + proc.stderr
    body = (rf.workspace / "out").read_text()
    assert f"localhost:{origin.port}" in body and "a loopback address" in body
    assert origin.seen == []
    (row,) = _log(rf)
    assert (row["host"], row["decision"]) == ("localhost", "deny")
    assert "resolves to" in row["reason"]

    # ... unless every address it resolves to is allowed as an address too
    flags = ["--allow-domain", "localhost"]
    for address in _localhost_addresses():
        flags += ["--allow-domain", address]
    proc = _sh(rf, script, *flags)
    assert _marked(proc.stdout, "code") == "200", proc.stdout + proc.stderr
    assert (rf.workspace / "out").read_bytes() == BODY
    assert origin.paths() == ["/hello"]


# ---- the environment inside ----------------------------------------------------------------


def test_proxy_environment_inside(rf: Ringfence) -> None:
    env = {**os.environ, "HTTP_PROXY": "http://outside.example:1", "NO_PROXY": "*"}  # the caller's are replaced
    proc = rf.run("env", env=env)
    assert proc.returncode == 0, proc.stderr
    inside = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "GRPC_PROXY"):
        assert inside[name] == PROXY
        assert inside[name.lower()] == PROXY
    assert inside["ALL_PROXY"] == inside["all_proxy"] == "http://127.0.0.1:3128"
    assert inside["NO_PROXY"] == inside["no_proxy"] == ""
    assert inside["NODE_USE_ENV_PROXY"] == "1"
    assert inside["npm_config_proxy"] == inside["npm_config_https_proxy"] == PROXY
    assert inside["PIP_PROXY"] == PROXY


def test_no_network_sets_nothing_and_reaches_nothing(rf: Ringfence, origin: _OriginServer,
                                                     tls_origin: _OriginServer) -> None:
    script = (
        "env > env.out\n"
        f"curl -sS -m 10 -x {PROXY} http://127.0.0.1:{origin.port}/hello ; echo proxy_rc=$?\n"
        f"curl -sS -m 10 --noproxy '*' http://127.0.0.1:{origin.port}/hello ; echo direct_rc=$?\n"
        f"curl -sS -k -m 10 -x {PROXY} https://127.0.0.1:{tls_origin.port}/hello ; echo connect_rc=$?\n"
        f"curl -sS -m 10 --socks5-hostname 127.0.0.1:3128 http://127.0.0.1:{origin.port}/ ; echo socks_rc=$?\n"
    )
    proc = _sh(rf, script, "--no-network", "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    names = {line.split("=", 1)[0] for line in (rf.workspace / "env.out").read_text().splitlines()}
    assert names.isdisjoint(PROXY_VARS), names & set(PROXY_VARS)
    for tag in ("proxy_rc", "direct_rc", "connect_rc", "socks_rc"):
        assert _marked(proc.stdout, tag) == "7", proc.stdout + proc.stderr  # nothing listens, nothing routes
    assert origin.seen == [] and tls_origin.seen == []
    assert _log(rf) == []


# ---- the audit log -------------------------------------------------------------------------


def _audit_files(rf: Ringfence) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in rf.audit.parent.iterdir() if p.name.startswith(rf.audit.name)}


def test_audit_records_filters_and_summary(rf: Ringfence, origin: _OriginServer,
                                           tls_origin: _OriginServer) -> None:
    secret = "SECRETVALUE"
    script = (
        f"curl -sS -m 30 -o /dev/null -w 'http=%{{http_code}}\\n' "
        f"'http://127.0.0.1:{origin.port}/hello?token={secret}'\n"
        f"curl -sS -k -m 30 -o /dev/null -w 'https=%{{http_code}}\\n' "
        f"'https://127.0.0.1:{tls_origin.port}/hello?token={secret}'\n"
        f"curl -sS -m 30 --socks5-hostname 127.0.0.1:3128 -o /dev/null -w 'socks=%{{http_code}}\\n' "
        f"'http://127.0.0.1:{origin.port}/hello?token={secret}'\n"
        f"curl -sS -m 30 -o /dev/null -w 'denied=%{{http_code}}\\n' 'http://{BLOCKED}:8081/x?token={secret}'\n"
        f"curl -sS -k -m 30 -o /dev/null 'https://{BLOCKED}/y?token={secret}'\n"
        "exit 5\n"
    )
    script_path = rf.script(script, name="probe.sh")
    proc = rf.run(f"sh {script_path}", "--allow-domain", "127.0.0.1")
    assert proc.returncode == 5, proc.stderr  # the command's own status
    assert [_marked(proc.stdout, t) for t in ("http", "https", "socks", "denied")] == ["200", "200", "200", "403"]
    assert origin.paths() == [f"/hello?token={secret}"] * 2  # the secret did travel through the proxy
    assert tls_origin.paths() == [f"/hello?token={secret}"]

    rows = _log(rf)
    assert len(rows) == 5, rows
    run_ids = {r["run_id"] for r in rows}
    assert len(run_ids) == 1
    (run_id,) = run_ids
    command = shlex.join(["/bin/sh", "-c", f"sh {script_path}"])
    for row in rows:
        assert row["command"] == command
        assert isinstance(row["bytes_up"], int) and isinstance(row["bytes_down"], int)
        assert isinstance(row["duration_ms"], float) and row["duration_ms"] >= 0
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", row["time"])
    by_key = {(r["protocol"], r["host"], r["decision"]): r for r in rows}
    assert set(by_key) == {
        ("http", "127.0.0.1", "allow"), ("connect", "127.0.0.1", "allow"), ("socks5", "127.0.0.1", "allow"),
        ("http", BLOCKED, "deny"), ("connect", BLOCKED, "deny"),
    }
    http = by_key["http", "127.0.0.1", "allow"]
    assert (http["port"], http["rule"], http["method"], http["path"], http["status"]) == (
        origin.port, "127.0.0.1", "GET", "/hello", 200)
    assert http["bytes_down"] == len(BODY) and http["bytes_up"] == 0
    for key, port in ((("connect", "127.0.0.1", "allow"), tls_origin.port),
                      (("socks5", "127.0.0.1", "allow"), origin.port)):
        tunnel = by_key[key]
        assert (tunnel["port"], tunnel["rule"]) == (port, "127.0.0.1")
        assert tunnel["bytes_up"] > 0 and tunnel["bytes_down"] > len(BODY)
    denied_http = by_key["http", BLOCKED, "deny"]
    assert (denied_http["port"], denied_http["rule"], denied_http["status"], denied_http["path"]) == (
        8081, "", 403, "/x")
    assert denied_http["reason"] == "not in [network] allow"
    assert by_key["connect", BLOCKED, "deny"]["port"] == 443

    # filters
    denied = _log(rf, "--denied")
    assert sorted((r["protocol"], r["host"], r["port"]) for r in denied) == [
        ("connect", BLOCKED, 443), ("http", BLOCKED, 8081)]
    assert [r["id"] for r in _log(rf, "--since", "10m")] == [r["id"] for r in rows]
    assert [r["id"] for r in _log(rf, "--run", run_id)] == [r["id"] for r in rows]
    assert _log(rf, "--run", "no-such-run") == []
    bad = rf.cli("log", "--json", "--audit", str(rf.audit), "--since", "yesterday")
    assert bad.returncode == 2
    assert "--since 'yesterday'" in bad.stderr and "10m" in bad.stderr
    assert bad.stdout == ""

    # the run itself: its command and the command's status
    conn = sqlite3.connect(rf.audit.absolute().as_uri() + "?mode=ro", uri=True)
    try:
        runs = conn.execute("SELECT run_id, command, exit_status, ended >= started FROM runs").fetchall()
    finally:
        conn.close()
    assert runs == [(run_id, command, 5, 1)]

    # the one-line summary of refusals, naming this run
    summary = [line for line in proc.stderr.splitlines() if "refused" in line]
    assert summary == [
        f"ringfence: 2 connection(s) refused ({BLOCKED}:443, {BLOCKED}:8081); "
        f"see `ringfence log --run {run_id} --denied`"
    ], proc.stderr

    # no query value anywhere: not in the database files, not in either output format
    files = _audit_files(rf)
    assert rf.audit.name in files
    for name, data in files.items():
        assert secret.encode() not in data, name
    table = rf.cli("log", "--audit", str(rf.audit))
    assert table.returncode == 0 and BLOCKED in table.stdout
    assert secret not in table.stdout
    assert secret not in rf.cli("log", "--json", "--audit", str(rf.audit)).stdout


def test_query_secret_on_the_command_line_is_not_stored(rf: Ringfence, origin: _OriginServer) -> None:
    secret = "SECRETVALUE"
    proc = rf.run(f"curl -sS -m 30 -o /dev/null 'http://127.0.0.1:{origin.port}/hello?token={secret}'",
                  "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    assert origin.paths() == [f"/hello?token={secret}"]
    log = rf.cli("log", "--json", "--audit", str(rf.audit))
    assert log.returncode == 0 and log.stdout
    assert secret not in log.stdout
    (row,) = [json.loads(line) for line in log.stdout.splitlines()]
    assert f"127.0.0.1:{origin.port}/hello?***" in row["command"]  # the shape stays, the value goes
    for name, data in _audit_files(rf).items():
        assert secret.encode() not in data, name


def test_no_summary_line_without_refusals(rf: Ringfence, origin: _OriginServer) -> None:
    proc = _sh(rf, f"curl -sS -m 30 -o /dev/null http://127.0.0.1:{origin.port}/hello\n",
               "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    assert "refused" not in proc.stderr
    assert _log(rf, "--denied") == []


# ---- large transfers -----------------------------------------------------------------------


@pytest.mark.parametrize("how", ["forward", "connect", "socks5"])
def test_large_download_arrives_complete(rf: Ringfence, origin: _OriginServer, tls_origin: _OriginServer,
                                         big_payload: bytes, how: str) -> None:
    if how == "forward":
        fetch = f"curl -sS -m 90 -o /tmp/big http://127.0.0.1:{origin.port}/big"
    elif how == "connect":
        fetch = f"curl -sS -k -m 90 -o /tmp/big https://127.0.0.1:{tls_origin.port}/big"
    else:
        fetch = f"curl -sS -m 90 --socks5-hostname 127.0.0.1:3128 -o /tmp/big http://127.0.0.1:{origin.port}/big"
    script = f"{fetch} -w 'code=%{{http_code}}\\n'; echo rc=$?\nsha256sum /tmp/big\nstat -c 'size=%s' /tmp/big\n"
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1", timeout=110)
    assert _marked(proc.stdout, "rc") == "0", proc.stdout + proc.stderr
    assert _marked(proc.stdout, "code") == "200"
    assert _marked(proc.stdout, "size") == str(BIG_SIZE)
    assert hashlib.sha256(big_payload).hexdigest() + "  /tmp/big" in proc.stdout
    (row,) = _log(rf)
    assert row["decision"] == "allow"
    assert row["bytes_down"] >= BIG_SIZE
    if how == "forward":
        assert row["bytes_down"] == BIG_SIZE and row["status"] == 200


def test_large_upload_through_plain_forward(rf: Ringfence, origin: _OriginServer, big_payload: bytes) -> None:
    make = f"{PY} -c \"import sys; sys.stdout.buffer.write(bytes(range(256)) * {BIG_SIZE // 256})\" > /tmp/up\n"
    script = make + (f"curl -sS -m 90 -H 'Content-Type: application/octet-stream' --data-binary @/tmp/up "
                     f"-w 'code=%{{http_code}}\\n' http://127.0.0.1:{origin.port}/upload\n")
    proc = _sh(rf, script, "--allow-domain", "127.0.0.1", timeout=110)
    assert _marked(proc.stdout, "code") == "200", proc.stdout + proc.stderr
    expected = hashlib.sha256(bytes(range(256)) * (BIG_SIZE // 256)).hexdigest()
    assert proc.stdout.splitlines()[0] == expected
    (row,) = _log(rf)
    assert (row["method"], row["path"], row["status"], row["bytes_up"]) == ("POST", "/upload", 200, BIG_SIZE)
