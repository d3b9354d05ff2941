"""`ringfence export compose`: the hardened agent service behind the proxy service, the proxy's
own policy, the seccomp profile; every file checked as data, and by `ringfence lint`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ringfence.export.compose import proxy_policy, write_bundle
from ringfence.export.lint import lint_text
from ringfence.policy import load_policy

POLICY = """\
[container]
image = "agent:1"
proxy_image = "ringfence-proxy:1"
memory = "4G"
cpus = 1.5
pids = 128
user = "1000:1000"

[network]
allow = ["api.anthropic.com", "*.pythonhosted.org", "pypi.org"]
deny = ["evil.pythonhosted.org"]
rate = { "api.anthropic.com" = "120/min", "pypi.org" = "5/s" }

[[credentials]]
name = "anthropic"
hosts = ["api.anthropic.com"]
header = "x-api-key"
value = "env:ANTHROPIC_API_KEY"
placeholder_env = "ANTHROPIC_API_KEY"

[[credentials]]
name = "github"
hosts = ["api.github.com"]
header = "Authorization"
format = "Bearer {secret}"
value = "file:gh-token"
methods = ["GET"]
paths = ["/repos/acme/*"]

[[upstreams]]
name = "anthropic"
url = "https://api.anthropic.com"
credential = "anthropic"
base_url_env = "ANTHROPIC_BASE_URL"

[[requests]]
hosts = ["pypi.org"]
methods = ["GET", "HEAD"]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ws").mkdir()
    (tmp_path / "gh-token").write_text("not-a-real-token\n")
    (tmp_path / "ringfence.toml").write_text(POLICY + '\n[sandbox]\nworkspace = "ws"\n')
    return tmp_path


def _load(path: Path) -> object:
    return load_policy(policy_file=str(path), home=str(path.parent), managed=str(path.parent / "none.toml"))


def test_the_bundle(project: Path) -> None:
    policy = _load(project / "ringfence.toml")
    written = write_bundle(policy, str(project / "out"), "a header", "x86_64")  # type: ignore[arg-type]
    assert [os.path.basename(p) for p in written] == ["ringfence-seccomp.json", "ringfence-proxy.toml", "compose.yaml"]
    text = (project / "out" / "compose.yaml").read_text()
    assert text.startswith("# a header\n")
    doc = yaml.safe_load(text)
    agent, proxy = doc["services"]["agent"], doc["services"]["proxy"]
    assert agent["image"] == "agent:1" and agent["pull_policy"] == "never"
    assert agent["cap_drop"] == ["ALL"] and agent["read_only"] is True and agent["ipc"] == "private"
    assert agent["security_opt"] == ["no-new-privileges:true", f"seccomp={project / 'out' / 'ringfence-seccomp.json'}"]
    assert (agent["mem_limit"], agent["cpus"], agent["pids_limit"]) == (4 << 30, 1.5, 128)
    assert agent["networks"] == ["sandbox"] and doc["networks"]["sandbox"] == {"internal": True}
    assert agent["volumes"] == [f"{project / 'ws'}:/workspace"]  # writable, as allow_write says by default
    assert agent["environment"]["HTTPS_PROXY"] == "http://proxy:3128" and agent["environment"]["NO_PROXY"] == ""
    assert all("noexec" in t and "nosuid" in t for t in agent["tmpfs"])
    assert agent["user"] == "1000:1000"
    assert proxy["networks"] == ["sandbox", "egress"] and proxy["environment"] == ["ANTHROPIC_API_KEY"]
    assert f"{project / 'gh-token'}:/run/ringfence/secrets/github:ro" in proxy["volumes"]
    assert "not-a-real-token" not in text and "ANTHROPIC_API_KEY=" not in text
    assert [g for g in lint_text(text)[1] if g.severity == "error"] == []  # our own linter agrees
    (project / "ringfence.toml").write_text(POLICY + '\n[sandbox]\nworkspace = "ws"\n[filesystem]\nallow_write = ["scratch"]\n')
    write_bundle(_load(project / "ringfence.toml"), str(project / "out"), "h", "x86_64")  # type: ignore[arg-type]
    again = yaml.safe_load((project / "out" / "compose.yaml").read_text())["services"]["agent"]
    assert again["volumes"] == [f"{project / 'ws'}:/workspace:ro"]


def test_the_proxys_policy_loads_and_says_the_same(project: Path) -> None:
    original = _load(project / "ringfence.toml")
    text, mounts, env = proxy_policy(original, "h")  # type: ignore[arg-type]
    inside = project / "proxy.toml"
    inside.write_text(text.replace("/run/ringfence/secrets/github", str(project / "gh-token")))
    again = _load(inside)
    assert again.network.allow == original.network.allow and again.network.deny == original.network.deny  # type: ignore[attr-defined]
    assert again.network.rate == original.network.rate  # type: ignore[attr-defined]
    assert [c.name for c in again.credentials] == ["anthropic", "github"]  # type: ignore[attr-defined]
    assert again.credentials[1].format == "Bearer {secret}" and again.credentials[1].paths == ("/repos/acme/*",)  # type: ignore[attr-defined]
    assert again.gateways == original.gateways  # type: ignore[attr-defined]
    assert [(r.hosts, r.methods, r.paths, r.max_body) for r in again.requests] == \
        [(r.hosts, r.methods, r.paths, r.max_body) for r in original.requests]  # type: ignore[attr-defined]
    assert again.audit.path == "/var/lib/ringfence/audit.db"  # type: ignore[attr-defined]
    assert env == ["ANTHROPIC_API_KEY"] and mounts == [(str(project / "gh-token"), "/run/ringfence/secrets/github")]


def test_what_cannot_be_exported_is_refused(project: Path) -> None:
    policy_file = project / "ringfence.toml"
    policy_file.write_text(POLICY.replace('value = "file:gh-token"', 'value = "cmd:gh auth token"'))
    run = [sys.executable, "-m", "ringfence", "export", "compose", "--policy", str(policy_file)]
    refused = subprocess.run([*run, "--out", str(project / "out")], capture_output=True, text=True, cwd=project)
    assert refused.returncode == 2 and 'credential "github" comes from a command' in refused.stderr
    assert not (project / "out" / "compose.yaml").exists()
    no_out = subprocess.run(run, capture_output=True, text=True, cwd=project)
    assert no_out.returncode == 2 and "--out DIR" in no_out.stderr
    policy_file.write_text("[network]\nallow = []\n")
    no_image = subprocess.run([*run, "--out", str(project / "out")], capture_output=True, text=True, cwd=project)
    assert no_image.returncode == 2 and "[container] image" in no_image.stderr


def test_the_command_line_writes_the_bundle(project: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "ringfence", "export", "compose", "--out", "bundle"],
                          capture_output=True, text=True, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.split()) == 3 and "compose" in proc.stderr
    profile = json.loads((project / "bundle" / "ringfence-seccomp.json").read_text())
    assert profile["comment"].startswith("ringfence ") and "compose bundle" in profile["comment"]


def test_the_agent_user_defaults_to_the_workspace_owner_and_never_root(project: Path) -> None:
    (project / "ringfence.toml").write_text(POLICY.replace('user = "1000:1000"\n', "") + '\n[sandbox]\nworkspace = "ws"\n')
    policy = _load(project / "ringfence.toml")
    if os.getuid() == 0:
        from ringfence.errors import UsageError

        with pytest.raises(UsageError, match="owned by root"):
            write_bundle(policy, str(project / "out"), "h", "x86_64")  # type: ignore[arg-type]
        os.chown(project / "ws", 1000, 1000)
    write_bundle(policy, str(project / "out"), "h", "x86_64")  # type: ignore[arg-type]
    owner = (project / "ws").stat()
    agent = yaml.safe_load((project / "out" / "compose.yaml").read_text())["services"]["agent"]
    assert agent["user"] == f"{owner.st_uid}:{owner.st_gid}"


@pytest.mark.parametrize("engine", ["docker", "podman"])
def test_the_run_script(project: Path, engine: str) -> None:
    policy = _load(project / "ringfence.toml")
    written = write_bundle(policy, str(project / "out"), "a header", "x86_64", engine=engine)  # type: ignore[arg-type]
    script = Path(written[-1])
    assert script.name == "run.sh"
    text = script.read_text()
    assert subprocess.run(["sh", "-n", str(script)]).returncode == 0  # the shell accepts it
    assert f"{engine} network create --internal ringfence-sandbox" in text
    assert "not-a-real-token" not in text and "--env ANTHROPIC_API_KEY \\\n" in text  # by name only
    kind, gaps = lint_text(text)
    assert kind == "docker" and [g.rule for g in gaps if g.severity == "error"] == []
    import shlex

    agent = shlex.split(text.split("network connect ringfence-sandbox ringfence-proxy\n")[1].replace("\\\n", " "))
    joined = " ".join(agent)
    for flag in ("--cap-drop ALL", "--security-opt no-new-privileges", "--read-only", "--network ringfence-sandbox",
                 "--user 1000:1000", "--pids-limit 128", "--ipc private", "--pull never",
                 "--env HTTPS_PROXY=http://ringfence-proxy:3128"):
        assert flag in joined, flag
    assert agent[-2:] == ["agent:1", "$@"]
