"""Credentials stay outside, end to end: real clients inside `ringfence run` get a credential
injected by the proxy while the sandbox never holds its value.

The origin is a test HTTPS server on the host's 127.0.0.1 with its own test CA (the policy's
`[network] upstream_ca`). Inside, every client trusts the ringfence CA through the bundle
the run provides (`SSL_CERT_FILE` and friends). The secret is given to `ringfence run` in its
own environment (`env:API_KEY`); the sandbox sees only a per-run placeholder, and the test
checks the whole of what the sandbox printed (its environment, /proc, its files) for the value.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Ringfence
from tests.support.origin import Origin
from tests.support.pki import TestPki, make_test_pki

pytestmark = pytest.mark.boundary
PY = "/usr/bin/python3"
SECRET = "sk-live-4f3c2b1a0987654321fedcbaABCDEFGHijk"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    folder = tmp_path_factory.mktemp("pki")
    made = make_test_pki(folder)
    os.chmod(folder, 0o755)  # the unprivileged pass reads the CA through the policy
    return made


@pytest.fixture
def origin(pki: TestPki) -> Iterator[Origin]:
    with Origin(pki) as server:
        yield server


def _env(rf: Ringfence) -> dict[str, str]:
    env = dict(os.environ)
    env["API_KEY"] = SECRET
    env["RINGFENCE_STATE_DIR"] = str(rf.audit.parent / "state")
    return env


def _policy(pki: TestPki, extra: str = "") -> str:
    return f"""
[network]
allow = ["127.0.0.1"]
upstream_ca = ["{pki.ca_pem_path}"]

[[credentials]]
name = "api"
hosts = ["127.0.0.1"]
header = "x-api-key"
value = "env:API_KEY"
placeholder_env = "API_KEY"
{extra}
"""


def _log(rf: Ringfence) -> list[dict[str, Any]]:
    proc = rf.cli("log", "--json", "--audit", str(rf.audit), "--limit", "1000")
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def _run(rf: Ringfence, script: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    path = rf.script(script, name="probe.sh")
    return rf.run(f"sh {path}", timeout=timeout, env=_env(rf), errors="replace")


PYTHON_CLIENTS = """
import os, sys, urllib.request
url, key = sys.argv[1], os.environ["API_KEY"]
req = urllib.request.Request(url + "?c=urllib", headers={"x-api-key": key})
print("urllib=%d" % urllib.request.urlopen(req, timeout=30).status)
import requests
print("requests=%d" % requests.get(url + "?c=requests", headers={"x-api-key": key}, timeout=30).status_code)
import httpx
print("httpx=%d" % httpx.get(url + "?c=httpx", headers={"x-api-key": key}, timeout=30).status_code)
"""


def test_curl_and_python_clients_get_the_key_injected_and_never_see_it(
    rf: Ringfence, origin: Origin, pki: TestPki
) -> None:
    rf.write_policy(_policy(pki))
    rf.script(PYTHON_CLIENTS, name="clients.py")
    url = f"{origin.url}/echo"
    proc = _run(rf, f"""
echo "placeholder=$API_KEY"
curl -sS -m 30 -H "x-api-key: $API_KEY" -o curl.out -w 'curl=%{{http_code}}\\n' "{url}?c=curl"
{PY} clients.py {url}
echo "--- what the sandbox holds"
env
tr '\\0' '\\n' < /proc/self/environ
cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '
ls -la /run/ringfence
cat curl.out
grep -rl . "$HOME" /tmp 2>/dev/null | head -50 | xargs cat 2>/dev/null
""")
    assert proc.returncode == 0, proc.stderr
    for client in ("curl", "urllib", "requests", "httpx"):
        assert f"{client}=200" in proc.stdout, proc.stdout + proc.stderr
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    placeholder = [line.split("=", 1)[1] for line in proc.stdout.splitlines() if line.startswith("placeholder=")][0]
    assert placeholder and placeholder != SECRET
    clients = {r.query["c"][0]: r for r in origin.requests}
    assert set(clients) == {"curl", "urllib", "requests", "httpx"}
    for request in clients.values():
        assert request.header_values("x-api-key") == [SECRET]
    rows = [r for r in _log(rf) if r["protocol"] == "https"]
    assert len(rows) == 4 and {r["credential"] for r in rows} == {"api"}
    assert all(r["path"] == "/echo" for r in rows)  # no query values in the log
    assert SECRET not in rf.audit.read_bytes().decode("latin-1")


def test_a_missing_secret_stops_the_run_naming_the_credential(rf: Ringfence, pki: TestPki) -> None:
    rf.write_policy(_policy(pki).replace("env:API_KEY", "env:RINGFENCE_TEST_UNSET_VARIABLE"))
    proc = rf.run("echo ran", timeout=60, env=_env(rf))
    assert proc.returncode == 3
    assert "ran" not in proc.stdout
    assert "credential 'api'" in proc.stderr and "RINGFENCE_TEST_UNSET_VARIABLE" in proc.stderr


def test_dry_run_shows_no_secret_and_runs_no_command_source(rf: Ringfence, pki: TestPki, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    rf.write_policy(_policy(pki, extra=f"""
[[credentials]]
name = "cmd"
hosts = ["example.org"]
header = "authorization"
value = "cmd:/usr/bin/touch {marker}"
"""))
    proc = subprocess.run(rf.run_args("--dry-run") + ["--", "true"], capture_output=True, text=True, timeout=60,
                          env=_env(rf), cwd=rf.workspace)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout
    plan = json.loads(proc.stdout)
    assert {"API_KEY", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"} <= set(plan["env"])  # names only, never values
    assert any(m["dest"] == "/run/ringfence/ca-bundle.pem" for m in plan["mounts"])
    assert not marker.exists()
