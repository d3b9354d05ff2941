"""`ringfence ca show|export|rotate` as a subprocess, with the state folder in tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ringfence.errors import ExitCode
from ringfence.tls.ca import load_or_create


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def ca(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(state.parent), "RINGFENCE_STATE_DIR": str(state)}
    return subprocess.run([sys.executable, "-m", "ringfence", "ca", *args], capture_output=True, text=True,
                          timeout=60, env=env, check=False)


def test_show_creates_the_ca_and_says_how_to_trust_it(state: Path) -> None:
    out = ca(state, "show")
    assert out.returncode == ExitCode.OK, out.stderr
    authority = load_or_create(str(state))
    assert authority.path in out.stdout and authority.fingerprint_sha256 in out.stdout
    assert authority.subject in out.stdout and f"{authority.not_after:%Y-%m-%d}" in out.stdout
    assert "hidden from every sandbox" in out.stdout and "ringfence ca export" in out.stdout


def test_show_json(state: Path) -> None:
    out = ca(state, "show", "--json")
    assert out.returncode == ExitCode.OK, out.stderr
    shown = json.loads(out.stdout)
    authority = load_or_create(str(state))
    assert shown["sha256"] == authority.fingerprint_sha256 and shown["path"] == authority.path
    assert shown["not_after"] == authority.not_after.isoformat()
    assert Path(shown["bundle"]).read_bytes().endswith(authority.cert_pem)


def test_export_prints_the_certificate_and_never_the_key(state: Path) -> None:
    out = ca(state, "export")
    assert out.returncode == ExitCode.OK, out.stderr
    assert out.stdout.encode() == load_or_create(str(state)).cert_pem
    assert "PRIVATE KEY" not in out.stdout + out.stderr


def test_export_to_a_file(state: Path, tmp_path: Path) -> None:
    target = tmp_path / "ringfence-ca.crt"
    out = ca(state, "export", "--out", str(target))
    assert out.returncode == ExitCode.OK, out.stderr
    assert target.read_bytes() == load_or_create(str(state)).cert_pem
    assert str(target) in out.stdout and "PRIVATE KEY" not in out.stdout
    bad = ca(state, "export", "--out", str(tmp_path / "missing" / "ca.crt"))
    assert bad.returncode == ExitCode.USAGE and "cannot write" in bad.stderr


def test_rotate_replaces_the_ca_and_keeps_the_old(state: Path) -> None:
    before = load_or_create(str(state))
    out = ca(state, "rotate")
    assert out.returncode == ExitCode.OK, out.stderr
    after = load_or_create(str(state))
    assert after.fingerprint_sha256 != before.fingerprint_sha256 and after.fingerprint_sha256 in out.stdout
    assert "until they are restarted" in out.stdout
    (kept,) = (state / "ca" / "old").iterdir()
    assert (kept / "ca.pem").read_bytes() == before.cert_pem


def test_an_exposed_key_is_refused_with_the_fix(state: Path) -> None:
    load_or_create(str(state))
    key = state / "ca" / "ca.key"
    key.chmod(0o644)
    out = ca(state, "show")
    assert out.returncode == ExitCode.SETUP
    assert str(key) in out.stderr and f"chmod 600 {key}" in out.stderr
    assert "PRIVATE KEY" not in out.stdout + out.stderr


def test_an_action_is_required(state: Path) -> None:
    out = ca(state)
    assert out.returncode == ExitCode.USAGE and "show" in out.stderr
    assert "RINGFENCE_STATE_DIR" in ca(state, "--help").stdout
