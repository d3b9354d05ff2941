"""The command line end to end: `python -m ringfence ...` as a subprocess, the way a person runs it.

Covers the standalone proxy (`ringfence proxy --listen tcp:...|unix:...`) with real clients
and a real origin, the error messages and exit codes of every command, `doctor` and `--version`.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringfence import __version__
from tests.conftest import Ringfence

pytestmark = pytest.mark.boundary
BODY = b"hello from the origin\n"
BLOCKED = "blocked.example"
CURL_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}  # the host's own proxy settings


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Origin

    def do_GET(self) -> None:  # noqa: N802
        self.server.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


class _Origin(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[str] = []

    @property
    def port(self) -> int:
        return int(self.server_address[1])


@pytest.fixture
def origin() -> Iterator[_Origin]:
    server = _Origin()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _StandaloneProxy:
    """`ringfence proxy` as a subprocess; stopped with SIGTERM."""

    def __init__(self, rf: Ringfence, listen: str, *flags: str) -> None:
        argv = rf.argv("proxy", "--listen", listen, "--policy", str(rf.policy), *flags)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     cwd=rf.workspace)

    def wait_until_accepting(self, connect: Any) -> None:
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.proc.communicate(timeout=10)
            try:
                connect().close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=30)


def _curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", "-m", "30", *args], capture_output=True, text=True, timeout=60,
                          env=CURL_ENV)


def _http_over(sock: socket.socket, target: str, host: str) -> tuple[int, bytes]:
    """One proxy request over a connected socket; returns the status and the body."""
    sock.settimeout(30)
    sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _records(rf: Ringfence) -> list[dict[str, Any]]:
    proc = rf.cli("log", "--json", "--audit", str(rf.audit))
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def _runs(rf: Ringfence) -> list[tuple[str, int | None]]:
    conn = sqlite3.connect(rf.audit.absolute().as_uri() + "?mode=ro", uri=True)
    try:
        return [(r[0], r[1]) for r in conn.execute("SELECT run_id, exit_status FROM runs")]
    finally:
        conn.close()


# ---- the standalone proxy ------------------------------------------------------------------


def test_proxy_over_tcp(rf: Ringfence, origin: _Origin) -> None:
    port = _free_port()
    proxy = _StandaloneProxy(rf, f"tcp:127.0.0.1:{port}", "--allow-domain", "127.0.0.1")
    try:
        proxy.wait_until_accepting(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
        ok = _curl("-x", f"http://127.0.0.1:{port}", "-w", "\n%{http_code}", f"http://127.0.0.1:{origin.port}/hello")
        assert ok.stdout == BODY.decode() + "\n200", ok.stderr
        refused = _curl("-x", f"http://127.0.0.1:{port}", "-w", "\n%{http_code}", f"http://{BLOCKED}/")
        assert refused.stdout.endswith("\n403"), refused.stdout + refused.stderr
        assert f"{BLOCKED}:80" in refused.stdout and f'allow = ["{BLOCKED}"]' in refused.stdout
        socks = _curl("--socks5-hostname", f"127.0.0.1:{port}", f"http://127.0.0.1:{origin.port}/hello")
        assert socks.stdout == BODY.decode(), socks.stderr
        status, err = proxy.stop()
    finally:
        proxy.kill()
    assert status == 0, err
    assert f"listening on tcp:127.0.0.1:{port}" in err
    assert origin.seen == ["/hello", "/hello"]
    rows = _records(rf)
    assert [(r["protocol"], r["host"], r["decision"], r["status"]) for r in rows] == [
        ("http", "127.0.0.1", "allow", 200), ("http", BLOCKED, "deny", 403), ("socks5", "127.0.0.1", "allow", 0)]
    (run_id,) = {r["run_id"] for r in rows}
    assert run_id.startswith("proxy-")
    assert _runs(rf) == [(run_id, 0)]


def test_proxy_audit_as_json_lines_on_stdout(rf: Ringfence, origin: _Origin) -> None:
    """For a cluster's log pipeline: every record a JSON line on stdout, no SQLite file."""
    port = _free_port()
    proxy = _StandaloneProxy(rf, f"tcp:127.0.0.1:{port}", "--allow-domain", "127.0.0.1", "--audit-stdout")
    try:
        proxy.wait_until_accepting(lambda: socket.create_connection(("127.0.0.1", port), timeout=5))
        ok = _curl("-x", f"http://127.0.0.1:{port}", "-w", "\n%{http_code}", f"http://127.0.0.1:{origin.port}/hello?t=1")
        assert ok.stdout.endswith("\n200"), ok.stderr
        refused = _curl("-x", f"http://127.0.0.1:{port}", "-w", "\n%{http_code}", f"http://{BLOCKED}/")
        assert refused.stdout.endswith("\n403")
        proxy.proc.send_signal(signal.SIGTERM)
        out, err = proxy.proc.communicate(timeout=30)
    finally:
        proxy.kill()
    assert proxy.proc.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["event"] for line in lines] == ["run-start", "connection", "connection", "run-end"]
    allowed, denied = lines[1], lines[2]
    assert (allowed["host"], allowed["decision"], allowed["status"], allowed["path"]) == ("127.0.0.1", "allow", 200,
                                                                                         "/hello")
    assert (denied["host"], denied["decision"], denied["status"]) == (BLOCKED, "deny", 403)
    assert lines[-1]["exit_status"] == 0 and "audit stdout" in err
    assert not rf.audit.exists()


def test_proxy_over_unix_socket(rf: Ringfence, origin: _Origin, state_dir: Path) -> None:
    path = state_dir / "proxy.sock"

    def connect() -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            raise
        return sock

    proxy = _StandaloneProxy(rf, f"unix:{path}", "--allow-domain", "127.0.0.1")
    try:
        proxy.wait_until_accepting(connect)
        authority = f"127.0.0.1:{origin.port}"
        with connect() as sock:
            assert _http_over(sock, f"http://{authority}/hello", authority) == (200, BODY)
        with connect() as sock:
            status, body = _http_over(sock, f"http://{BLOCKED}:8080/", f"{BLOCKED}:8080")
        assert status == 403 and f"{BLOCKED}:8080".encode() in body
        status, err = proxy.stop()
    finally:
        proxy.kill()
    assert status == 0, err
    assert origin.seen == ["/hello"]
    rows = _records(rf)
    assert [(r["host"], r["port"], r["decision"]) for r in rows] == [
        ("127.0.0.1", origin.port, "allow"), (BLOCKED, 8080, "deny")]
    assert [status for _, status in _runs(rf)] == [0]


@pytest.mark.parametrize("listen", [
    "bogus",
    "tcp:bogus",
    "unix:",
    "tcp:127.0.0.1:99999",
    "tcp::3128",
])
def test_proxy_bad_listen_address_is_a_usage_error(rf: Ringfence, listen: str) -> None:
    proc = rf.cli("proxy", "--listen", listen, "--policy", str(rf.policy), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"--listen {listen!r}" in proc.stderr or repr(listen) in proc.stderr
    assert "unix:PATH" in proc.stderr and "tcp:HOST:PORT" in proc.stderr


def test_proxy_port_in_use_is_a_setup_error(rf: Ringfence) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        proc = rf.cli("proxy", "--listen", f"tcp:127.0.0.1:{port}", "--policy", str(rf.policy), timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert f"cannot listen on 'tcp:127.0.0.1:{port}'" in proc.stderr and "fix:" in proc.stderr


def test_proxy_that_cannot_listen_neither_claims_to_nor_records_success(rf: Ringfence) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        proc = rf.cli("proxy", "--listen", f"tcp:127.0.0.1:{port}", "--policy", str(rf.policy), timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert "listening on" not in proc.stderr
    assert not rf.audit.exists() or all(status != 0 for _, status in _runs(rf))


def test_proxy_with_a_credential_whose_source_is_missing_stops_naming_it(rf: Ringfence) -> None:
    rf.write_policy('[[credentials]]\nname = "gh"\nhosts = ["api.github.com"]\nheader = "Authorization"\n'
                    'value = "cmd:/bin/false"\n')
    proc = rf.cli("proxy", "--listen", f"unix:{rf.audit.parent / 'p.sock'}", "--policy", str(rf.policy), timeout=30)
    assert proc.returncode == 3, proc.stderr
    assert "credential 'gh'" in proc.stderr and "/bin/false" in proc.stderr and "fix:" in proc.stderr
    assert "listening on" not in proc.stderr


# ---- run: exit codes and errors ------------------------------------------------------------


def test_run_returns_the_commands_status(rf: Ringfence) -> None:
    assert rf.run("exit 42").returncode == 42
    assert rf.run("true").returncode == 0


def test_run_missing_workspace_is_a_setup_error(rf: Ringfence) -> None:
    argv = rf.argv("run", "--policy", str(rf.policy), "--workspace", "/nonexistent/ws", "--", "true")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "/nonexistent/ws" in proc.stderr and "fix:" in proc.stderr


@pytest.mark.parametrize("tail", [[], ["--"]])
def test_run_without_a_command_shows_how(rf: Ringfence, tail: list[str]) -> None:
    proc = rf.cli("run", "--policy", str(rf.policy), *tail, timeout=30)
    assert "no command given" in proc.stderr
    assert "ringfence run [flags] -- CMD" in proc.stderr
    assert proc.returncode != 0


def test_run_without_a_command_is_a_usage_error(rf: Ringfence) -> None:
    proc = rf.cli("run", "--policy", str(rf.policy), "--", timeout=30)
    assert proc.returncode == 2, proc.stderr


@pytest.mark.parametrize(("text", "key", "expected"), [
    ('[network]\nallow = "pypi.org"\n', "network.allow", "a list of host rules"),
    ('[network]\nallowed = ["pypi.org"]\n', "network.allowed", ""),
    ('[network]\nunix_sockets = "all"\n', "network.unix_sockets", '"none" or "sandbox"'),
])
def test_bad_policy_is_a_usage_error_naming_file_and_key(rf: Ringfence, text: str, key: str, expected: str) -> None:
    rf.write_policy(text)
    marker = rf.workspace / "ran"
    for argv in (rf.run_args() + ["--", "/bin/sh", "-c", f"touch {marker}"],
                 rf.argv("proxy", "--listen", f"tcp:127.0.0.1:{_free_port()}", "--policy", str(rf.policy))):
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=rf.workspace)
        assert proc.returncode == 2, proc.stderr
        assert str(rf.policy) in proc.stderr and key in proc.stderr
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr
    assert not marker.exists()
    assert not rf.audit.exists()  # nothing was set up either


def test_unparsable_policy_names_the_file(rf: Ringfence) -> None:
    rf.policy.write_text("[network\nallow = [")
    proc = rf.run("true")
    assert proc.returncode == 2
    assert str(rf.policy) in proc.stderr and "Traceback" not in proc.stderr


# ---- log -----------------------------------------------------------------------------------


def test_log_without_a_database_is_a_setup_error_with_a_hint(rf: Ringfence) -> None:
    proc = rf.cli("log", "--audit", "/nonexistent/audit.db", timeout=30)
    assert proc.returncode == 3
    assert "no audit log at /nonexistent/audit.db" in proc.stderr
    assert "fix:" in proc.stderr and "--audit PATH" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize("args", [["--since", "10x"], ["--since", "0m"], ["--limit", "0"]])
def test_log_bad_filters_are_usage_errors(rf: Ringfence, args: list[str]) -> None:
    proc = rf.cli("log", "--audit", "/nonexistent/audit.db", *args, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert args[0] in proc.stderr


def test_log_of_an_empty_run(rf: Ringfence) -> None:
    assert rf.run("true").returncode == 0
    assert _records(rf) == []
    table = rf.cli("log", "--audit", str(rf.audit))
    assert table.returncode == 0
    assert table.stdout.split() == ["TIME", "RUN", "PROTO", "HOST:PORT", "DECISION", "RULE", "REQUEST", "STATUS",
                                    "UP", "DOWN", "MS"]


def test_log_runs_lists_each_run_with_its_status(rf: Ringfence) -> None:
    """A run without connections still has its record: command, back-end, exit status."""
    assert rf.run("exit 5").returncode == 5
    table = rf.cli("log", "--runs", "--audit", str(rf.audit))
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["STARTED", "RUN", "BACKEND", "EXIT", "SECONDS", "DEGRADED", "COMMAND"]
    cells = row.split()  # date, time, run, back-end, exit, seconds, degraded, the command
    assert cells[3:5] == ["bwrap", "5"] and cells[6] == "no" and row.endswith("exit 5'")
    mixed = rf.cli("log", "--runs", "--denied", "--audit", str(rf.audit))
    assert mixed.returncode == 2 and "--runs lists runs" in mixed.stderr


# ---- doctor, version, no command -----------------------------------------------------------


def test_doctor_lists_the_requirements(rf: Ringfence) -> None:
    proc = rf.cli("doctor", timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout.lower()
    for name in ("bubblewrap", "user namespaces", "seccomp", "landlock"):
        assert name in text, proc.stdout
    assert "ready: ringfence run works here" in proc.stdout


def test_doctor_json(rf: Ringfence) -> None:
    proc = rf.cli("doctor", "--json", timeout=60)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    names = {c["name"] for c in doc["checks"]}
    assert {"bubblewrap", "user namespaces", "seccomp", "landlock"} <= names
    for check in doc["checks"]:
        assert set(check) == {"name", "ok", "detail", "fix", "required"}
        assert check["ok"] or not check["required"]


def test_version(rf: Ringfence) -> None:
    proc = rf.cli("--version", timeout=30)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"ringfence {__version__}"


def test_no_subcommand_prints_usage(rf: Ringfence) -> None:
    proc = rf.cli(timeout=30)
    assert proc.returncode == 2
    assert "usage: ringfence" in proc.stdout
    for name in ("run", "proxy", "log", "doctor"):
        assert name in proc.stdout


def test_unknown_subcommand_is_a_usage_error(rf: Ringfence) -> None:
    proc = rf.cli("frobnicate", timeout=30)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
