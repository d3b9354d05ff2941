"""Fixtures for the audit log tests: real SQLite files in tmp_path, real subprocesses."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ringfence.audit import AuditLog, ConnectionRecord, Decision

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z

MakeRecord = Callable[..., ConnectionRecord]


def _make_record(**fields: Any) -> ConnectionRecord:
    values: dict[str, Any] = {
        "time": T0,
        "run_id": "run-0001",
        "command": "agent --task x",
        "protocol": "http",
        "host": "example.org",
        "port": 443,
        "decision": Decision.ALLOW,
        "rule": "example.org",
    }
    values.update(fields)
    return ConnectionRecord(**values)


@pytest.fixture
def make_record() -> MakeRecord:
    """Build a ConnectionRecord: sensible defaults, any field overridden by keyword."""
    return _make_record


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "state" / "audit.db"


@pytest.fixture
def log(db: Path) -> Iterator[AuditLog]:
    with AuditLog.open(db) as opened:
        yield opened


def run_python(script: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter of this venv; never raises on its exit status."""
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass(frozen=True)
class Unprivileged:
    """Who a subprocess runs as when a test needs permissions to apply."""

    uid: int
    gid: int

    def drop_privileges(self) -> str:
        """Python lines that become this user; put them after every import the script needs.

        As root the interpreter itself lives where other users may not read (/root/.pyenv),
        so the child starts as root, imports, then calls setuid.
        """
        if os.geteuid() != 0:
            return ""
        return f"os.setgroups([]); os.setgid({self.gid}); os.setuid({self.uid})\n"


@pytest.fixture
def unprivileged() -> Unprivileged:
    if os.geteuid() != 0:
        return Unprivileged(os.geteuid(), os.getegid())
    try:
        user = pwd.getpwnam("rftest")
    except KeyError:
        pytest.skip("needs a non-root user: tests run as root and no user rftest exists")
    return Unprivileged(user.pw_uid, user.pw_gid)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder any user can traverse (pytest's tmp_path is private to its user)."""
    base = Path(tempfile.mkdtemp(prefix="ringfence-audit-test-"))
    base.chmod(0o755)
    try:
        yield base
    finally:
        for folder, dirs, _ in os.walk(base):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o755)
        shutil.rmtree(base)
