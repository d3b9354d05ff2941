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
    assert [(c["name"], c["source"]) for c in plan["credentials"]] == [("api", "env"), ("cmd", "cmd")]
    assert str(marker) not in proc.stdout  # not even the command line of a cmd: source
    assert set(plan["terminated_hosts"]) == {"127.0.0.1", "example.org"}
    assert not marker.exists()


# ---- Node, git and Claude Code ----
def _client_or_skip(found: object, reason: str) -> None:
    from tests.support.clients import world_reachable

    if found is None:
        pytest.skip(reason)
    path = found[0] if isinstance(found, list) else found
    if not world_reachable(str(path)):
        pytest.skip(f"{path} is not reachable by the agent's account (the checkout is in a private folder)")
    if str(path).startswith("/tmp/"):
        pytest.skip(f"{path} is under /tmp, which is private inside the sandbox (the unprivileged pass's copy)")


def test_node_fetch_with_node_use_env_proxy_gets_the_key(rf: Ringfence, origin: Origin, pki: TestPki) -> None:
    from tests.support.clients import NODE24_MISSING, node24

    node = node24()
    _client_or_skip(node, NODE24_MISSING)
    rf.write_policy(_policy(pki))
    rf.script(
        "fetch(process.argv[2], {headers: {'x-api-key': process.env.API_KEY}})"
        ".then(async r => { console.log('node=' + r.status); console.log(await r.text()) })"
        ".catch(e => { console.log('node-error=' + e + ' ' + (e.cause && e.cause.code)); process.exit(1) })\n",
        name="fetch.js")
    proc = _run(rf, f'{node} fetch.js "{origin.url}/echo?c=node"\n')
    assert "node=200" in proc.stdout, proc.stdout + proc.stderr
    assert SECRET not in proc.stdout
    assert origin.last.header_values("x-api-key") == [SECRET]
    assert [r["credential"] for r in _log(rf) if r["protocol"] == "https"] == ["api"]


def test_git_clone_over_https_gets_the_token_injected(rf: Ringfence, pki: TestPki) -> None:
    from tests.support.gitserver import README_TEXT, GitServer, bearer

    with GitServer(pki, authorization=bearer(SECRET)) as git:
        rf.write_policy(_policy(pki).replace('header = "x-api-key"', 'header = "Authorization"\nformat = "Bearer {secret}"'))
        proc = _run(rf, f"""
export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
git clone -q "{git.repo_url}" cloned && cat cloned/README && echo clone=ok
grep -r "Bearer" cloned/.git/config || echo no-token-in-config
""")
        assert "clone=ok" in proc.stdout, proc.stdout + proc.stderr
        assert README_TEXT.strip() in proc.stdout
        assert SECRET not in proc.stdout + proc.stderr
        assert "no-token-in-config" in proc.stdout
        assert all(r.header("authorization") == bearer(SECRET) for r in git.requests)
        rows = [r for r in _log(rf) if r["protocol"] == "https"]
        assert rows and {r["credential"] for r in rows} == {"api"}
        assert any(r["path"].endswith("/info/refs") for r in rows)


def test_claude_code_completes_a_prompt_through_the_gateway(rf: Ringfence, pki: TestPki) -> None:
    from tests.support.clients import CLAUDE_ENV, CLAUDE_MISSING, claude_argv, claude_cli
    from tests.support.messages_api import DEFAULT_REPLY, MessagesApi

    claude = claude_cli()
    _client_or_skip(claude, CLAUDE_MISSING)
    assert claude is not None
    with MessagesApi(pki, api_key=SECRET) as api:
        rf.write_policy(f"""
[sandbox]
env = ["PATH", "HOME", "LANG", "TERM", "USER", "SHELL", {", ".join(f'"{k}"' for k in CLAUDE_ENV)}]

[network]
allow = []
upstream_ca = ["{pki.ca_pem_path}"]

[[credentials]]
name = "anthropic"
hosts = ["127.0.0.1"]
header = "x-api-key"
value = "env:API_KEY"
placeholder_env = "ANTHROPIC_API_KEY"

[[upstreams]]
name = "anthropic"
url = "{api.url}"
credential = "anthropic"
base_url_env = "ANTHROPIC_BASE_URL"
""")
        argv = " ".join(f"'{a}'" for a in claude + claude_argv("say pong")[1:])
        env = {**_env(rf), **CLAUDE_ENV}
        path = rf.script(f'echo "base=$ANTHROPIC_BASE_URL"\n{argv}\necho "status=$?"\nenv\n', name="probe.sh")
        proc = rf.run(f"sh {path}", timeout=180, env=env, errors="replace")
        assert "status=0" in proc.stdout, proc.stdout + proc.stderr
        assert DEFAULT_REPLY in proc.stdout
        assert "base=http://127.0.0.1:3128/anthropic" in proc.stdout
        assert SECRET not in proc.stdout + proc.stderr
        messages = api.message_requests()
        assert messages and all(r.header("x-api-key") == SECRET for r in messages)
        rows = [r for r in _log(rf) if r["protocol"] == "gateway"]
        assert rows and rows[0]["credential"] == "anthropic" and rows[0]["path"].endswith("/v1/messages")
