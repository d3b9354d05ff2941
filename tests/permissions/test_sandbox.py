"""The share of [permissions] that `ringfence run`'s boundary enforces too."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ringfence.permissions.sandbox import SandboxRules, apply, sandbox_rules
from ringfence.policy import load_policy
from tests.conftest import Ringfence


def _policy(tmp_path: Path, permissions: str) -> object:
    policy_file = tmp_path / "conf" / "ringfence.toml"
    policy_file.parent.mkdir(exist_ok=True)
    policy_file.write_text(f"[network]\nallow = [\"pypi.org\"]\n\n[permissions]\n{permissions}\n")
    return load_policy(policy_file=policy_file, cwd=tmp_path, home=tmp_path / "home", managed=tmp_path / "none.toml")


def test_domains_and_single_places_map_patterns_do_not(tmp_path: Path) -> None:
    policy = _policy(tmp_path, '''allow = ["WebFetch(domain:docs.python.org)", "WebFetch(domain:*.github.com)", "WebFetch(domain:*)"]
deny = ["WebFetch(domain:evil.example)", "Read(//etc/shadow)", "Read(~/.secrets/**)", "Read(/private/**)",
        "Read(./.env)", "Read(.env)", "Read(src/**/*.key)", "Edit(//etc/hosts)", "Bash(rm:*)"]
ask = ["Read(//var/log/**)"]''')
    rules = sandbox_rules(policy, cwd=str(tmp_path / "ws"), home=str(tmp_path / "home"))  # type: ignore[arg-type]
    assert rules.allow_domains == ("docs.python.org", "*.github.com")  # never domain:*
    assert rules.deny_domains == ("evil.example",)
    assert rules.deny_read == ("/etc/shadow", str(tmp_path / "home" / ".secrets"), str(tmp_path / "conf" / "private"),
                               str(tmp_path / "ws" / ".env"))
    assert rules.deny_write == ("/etc/hosts",)
    applied = apply(policy, rules)  # type: ignore[arg-type]
    assert applied.network.allow == ("pypi.org", "docs.python.org", "*.github.com")
    assert "/etc/shadow" in applied.filesystem.deny_read and "/etc/hosts" in applied.filesystem.deny_write


def test_nothing_to_map_leaves_the_policy_as_it_is(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'allow = ["Bash(npm test)"]')
    assert sandbox_rules(policy, cwd=str(tmp_path), home=str(tmp_path)) == SandboxRules()  # type: ignore[arg-type]
    assert apply(policy, SandboxRules()) is policy  # type: ignore[arg-type]


@pytest.mark.boundary
def test_a_read_deny_rule_hides_the_file_inside_ringfence_run(rf: Ringfence) -> None:
    (rf.workspace / "secret.txt").write_text("s3cr3t\n")
    (rf.workspace / "secret.txt").chmod(0o644)
    rf.write_policy(f'[permissions]\ndeny = ["Read(//{str(rf.workspace / "secret.txt").lstrip("/")})"]\n')
    proc = rf.run("cat secret.txt; echo rc=$?")
    assert proc.returncode == 0, proc.stderr
    assert "s3cr3t" not in proc.stdout
    dry = subprocess.run(rf.run_args("--dry-run") + ["--", "true"], capture_output=True, text=True, timeout=60,
                         cwd=rf.workspace)
    mounts = json.loads(dry.stdout)["mounts"]
    assert any(m["dest"] == str(rf.workspace / "secret.txt") and m["kind"] == "empty-file" for m in mounts)
