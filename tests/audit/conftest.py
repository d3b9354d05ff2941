"""Fixtures for the audit log tests: real SQLite files in tmp_path, real subprocesses."""

from __future__ import annotations

import os
import pwd
import shutil
import sqlite3
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


# The schema ringfence wrote before version 2 (which added connections.credential), as it
# was: tests build real version-1 files with it, not with today's DDL minus a column.
V1_DDL = (
    """CREATE TABLE connections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        run_id TEXT NOT NULL,
        command TEXT NOT NULL,
        protocol TEXT NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ('allow', 'deny', 'error')),
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        duration_ms REAL NOT NULL
    )""",
    "CREATE INDEX connections_time ON connections (time)",
    "CREATE INDEX connections_run_id ON connections (run_id)",
    """CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL,
        exit_status INTEGER,
        sources TEXT NOT NULL
    )""",
)

# Rows of the version-1 log: (time, host, decision); the other columns are fixed.
V1_ROWS = [(T0, "pypi.org", "allow"), (T0 + 1, "evil.example", "deny")]


def make_v1_log(db: Path) -> None:
    """A version-1 audit log at ``db`` holding ``V1_ROWS``, as ringfence 1 left it (WAL mode)."""
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in V1_DDL:
            conn.execute(statement)
        conn.executemany(
            "INSERT INTO connections (time, run_id, command, protocol, host, port, decision, rule, reason,"
            " method, path, status, bytes_up, bytes_down, duration_ms)"
            " VALUES (?, 'run-v1', 'agent', 'http', ?, 443, ?, '', '', 'GET', '/', 200, 1, 2, 3.5)",
            V1_ROWS,
        )
        conn.execute("PRAGMA user_version = 1")
    finally:
        conn.close()


@pytest.fixture
def v1_db(db: Path) -> Path:
    make_v1_log(db)
    return db


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
