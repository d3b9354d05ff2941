"""The real clients of `make clients`, outside any sandbox: Node 24's fetch and `claude -p`.

They skip, naming `make clients`, when .cache/clients lacks them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support import clients
from tests.support.forward_proxy import ForwardProxy
from tests.support.messages_api import DEFAULT_REPLY, MessagesApi
from tests.support.origin import Origin
from tests.support.pki import TestPki

FETCH = "const r = await fetch(process.argv[1], {headers: {'x-probe': 'node'}}); console.log(r.status, await r.text());"
SYSTEM_NODE = shutil.which("node")


def node_fetch(node: str, url: str, proxy: ForwardProxy, pki: TestPki) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url, "NO_PROXY": "",
           "NODE_USE_ENV_PROXY": "1", "NODE_EXTRA_CA_CERTS": str(pki.ca_pem_path)}
    return subprocess.run([node, "--input-type=module", "-e", FETCH, url], env=env, capture_output=True, text=True,
                          timeout=60)


def node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    return int(version.lstrip("v").split(".")[0])


@pytest.fixture
def node24() -> str:
    node = clients.node24()
    if node is None:
        pytest.skip(clients.NODE24_MISSING)
    return node


@pytest.fixture
def claude(tmp_path: Path) -> list[str]:
    if clients.claude_cli() is None:
        pytest.skip(clients.CLAUDE_MISSING)
    return clients.claude_argv("say pong")


def test_the_installed_node_is_24_or_later(node24: str) -> None:
    assert node_major(node24) >= 24


def test_node24_fetch_honours_node_use_env_proxy(node24: str, forward_proxy: ForwardProxy, https_origin: Origin,
                                                 test_pki: TestPki) -> None:
    result = node_fetch(node24, f"{https_origin.url}/node", forward_proxy, test_pki)
    assert result.stdout.strip() == "200 ok", result.stderr
    assert [(r.method, r.target) for r in forward_proxy.requests] == [("CONNECT", https_origin.netloc)]
    assert https_origin.last.header("x-probe") == "node"


def test_node24_tunnels_even_plain_http(node24: str, forward_proxy: ForwardProxy, http_origin: Origin,
                                        test_pki: TestPki) -> None:
    assert node_fetch(node24, f"{http_origin.url}/node", forward_proxy, test_pki).stdout.strip() == "200 ok"
    assert [r.method for r in forward_proxy.requests] == ["CONNECT"]


@pytest.mark.skipif(SYSTEM_NODE is None, reason="no system Node.js")
def test_the_system_node_before_24_ignores_node_use_env_proxy(forward_proxy: ForwardProxy, https_origin: Origin,
                                                              test_pki: TestPki) -> None:
    assert SYSTEM_NODE is not None
    if node_major(SYSTEM_NODE) >= 24:
        pytest.skip(f"the system Node ({SYSTEM_NODE}) is 24 or later")
    result = node_fetch(SYSTEM_NODE, f"{https_origin.url}/node", forward_proxy, test_pki)
    assert result.stdout.strip() == "200 ok"
    assert forward_proxy.requests == []  # it went straight to the origin


def run_claude(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_claude_p_completes_against_the_stand_in_over_https(claude: list[str], messages_api: MessagesApi,
                                                            test_pki: TestPki, tmp_path: Path) -> None:
    env = clients.claude_env(messages_api.url, messages_api.api_key, str(tmp_path), str(test_pki.ca_pem_path))
    started = time.monotonic()
    result = run_claude(claude, env)
    assert (result.returncode, result.stdout.strip()) == (0, DEFAULT_REPLY), result.stderr
    assert time.monotonic() - started < 20
    (request,) = messages_api.requests  # nothing else: no /api/hello, no count_tokens
    assert request.route == "/v1/messages" and request.query == {"beta": ["true"]}
    assert request.header("x-api-key") == messages_api.api_key
    assert json.loads(request.body)["stream"] is True


def test_claude_p_over_plain_http_with_a_path_prefix_and_json_output(claude: list[str], tmp_path: Path) -> None:
    with MessagesApi() as api:
        env = clients.claude_env(f"{api.url}/anthropic", api.api_key, str(tmp_path))
        result = run_claude(clients.claude_argv("say pong", output_format="json"), env)
    assert json.loads(result.stdout)["result"] == DEFAULT_REPLY, result.stderr
    assert api.last.route == "/anthropic/v1/messages"


def test_claude_p_through_a_proxy(claude: list[str], messages_api: MessagesApi, forward_proxy: ForwardProxy,
                                  test_pki: TestPki, tmp_path: Path) -> None:
    env = clients.claude_env(messages_api.url, messages_api.api_key, str(tmp_path), str(test_pki.ca_pem_path))
    env |= {"HTTPS_PROXY": forward_proxy.url, "https_proxy": forward_proxy.url, "NO_PROXY": "", "no_proxy": ""}
    result = run_claude(claude, env)
    assert result.stdout.strip() == DEFAULT_REPLY, result.stderr
    assert [(r.method, r.target) for r in forward_proxy.requests] == [("CONNECT", messages_api.netloc)]


def test_claude_p_sends_an_http_base_url_to_the_proxy_in_absolute_form(
        claude: list[str], forward_proxy: ForwardProxy, tmp_path: Path) -> None:
    with MessagesApi() as api:
        env = clients.claude_env(f"{api.url}/anthropic", api.api_key, str(tmp_path))
        env |= {"HTTP_PROXY": forward_proxy.url, "http_proxy": forward_proxy.url, "NO_PROXY": "", "no_proxy": ""}
        assert run_claude(claude, env).stdout.strip() == DEFAULT_REPLY
    assert [(r.method, r.target) for r in forward_proxy.requests] == [
        ("POST", f"{api.url}/anthropic/v1/messages?beta=true")]


def test_claude_p_with_a_wrong_key_fails_at_once(claude: list[str], messages_api: MessagesApi, test_pki: TestPki,
                                                 tmp_path: Path) -> None:
    env = clients.claude_env(messages_api.url, "sk-ant-wrong", str(tmp_path), str(test_pki.ca_pem_path))
    result = run_claude(claude, env)
    assert result.returncode != 0
    assert "Invalid API key" in result.stdout + result.stderr
    assert len(messages_api.requests) == 1  # x-should-retry: false stopped the retries


def test_claude_p_needs_no_writable_home(claude: list[str], messages_api: MessagesApi, test_pki: TestPki,
                                         tmp_path: Path) -> None:
    if os.getuid() == 0:
        pytest.skip("root writes anywhere: an unwritable HOME needs an unprivileged runner")
    home = tmp_path / "home"
    home.mkdir(mode=0o555)
    env = clients.claude_env(messages_api.url, messages_api.api_key, str(home), str(test_pki.ca_pem_path))
    assert run_claude(claude, env).stdout.strip() == DEFAULT_REPLY


def test_world_reachable(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    (private / "f").write_text("x")
    (private / "f").chmod(0o644)
    assert not clients.world_reachable(private / "f")
    private.chmod(0o755)
    assert clients.world_reachable(private / "f") == all(
        p.stat().st_mode & 0o001 for p in (private / "f").resolve().parents)
