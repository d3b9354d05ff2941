"""query() and parse_since(): filters, order, limits, concurrent readers, bad paths."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ringfence.audit import AuditLog, ConnectionRecord, Decision, parse_since, query
from ringfence.errors import AuditError

from .conftest import T0, V1_ROWS, MakeRecord, Unprivileged, run_python

# (run_id, seconds after T0, decision, host, credential)
_RECORDS = [
    ("run-a", 0, Decision.ALLOW, "pypi.org", ""),
    ("run-a", 10, Decision.DENY, "evil.example", ""),
    ("run-a", 20, Decision.ALLOW, "api.github.com", "github"),
    ("run-b", 30, Decision.DENY, "169.254.169.254", ""),
    ("run-b", 40, Decision.ERROR, "down.example", "pypi-token"),
    ("run-b", 50, Decision.DENY, "evil.example", ""),
]


@pytest.fixture
def filled(db: Path, make_record: MakeRecord) -> Path:
    with AuditLog.open(db) as log:
        # Recorded out of time order, as several proxy tasks may: queries sort by time.
        for run_id, offset, decision, host, credential in reversed(_RECORDS):
            log.record(
                make_record(run_id=run_id, time=T0 + offset, decision=decision, host=host, credential=credential)
            )
    return db


@pytest.mark.parametrize(
    ("filters", "hosts"),
    [
        ({}, [r[3] for r in _RECORDS]),
        ({"denied_only": True}, ["evil.example", "169.254.169.254", "evil.example"]),
        ({"run_id": "run-a"}, ["pypi.org", "evil.example", "api.github.com"]),
        ({"run_id": "nope"}, []),
        ({"since": T0 + 30}, ["169.254.169.254", "down.example", "evil.example"]),
        ({"since": T0 + 31}, ["down.example", "evil.example"]),
        ({"since": T0 + 99}, []),
        ({"run_id": "run-b", "denied_only": True, "since": T0 + 35}, ["evil.example"]),
        ({"limit": 2}, ["down.example", "evil.example"]),  # the newest two, newest last
        ({"limit": 1, "run_id": "run-a"}, ["api.github.com"]),
        ({"credential": "github"}, ["api.github.com"]),
        ({"credential": "pypi-token", "run_id": "run-b"}, ["down.example"]),
        ({"credential": "github", "run_id": "run-b"}, []),
        ({"credential": "nope"}, []),
        ({"credential": ""}, ["pypi.org", "evil.example", "169.254.169.254", "evil.example"]),
        ({"limit": None}, [r[3] for r in _RECORDS]),
    ],
)
def test_filters(filled: Path, filters: dict[str, Any], hosts: list[str]) -> None:
    assert [row["host"] for row in query(filled, **filters)] == hosts


def test_newest_last(filled: Path) -> None:
    times = [row["time"] for row in query(filled)]
    assert times == sorted(times)


def test_same_time_keeps_record_order(log: AuditLog, db: Path, make_record: MakeRecord) -> None:
    for port in (1, 2, 3):
        log.record(make_record(port=port))
    log.flush()
    assert [row["port"] for row in query(db, limit=2)] == [2, 3]


def test_default_limit_is_50(log: AuditLog, db: Path, make_record: MakeRecord) -> None:
    for i in range(60):
        log.record(make_record(time=T0 + i))
    log.flush()
    rows = query(db)
    assert len(rows) == 50
    assert rows[-1]["time"] == T0 + 59


@pytest.mark.parametrize("limit", [0, -1])
def test_bad_limit(filled: Path, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        query(filled, limit=limit)


def test_reads_while_a_write_is_in_progress(log: AuditLog, db: Path, make_record: MakeRecord) -> None:
    log.record(make_record(host="committed.example"))
    log.flush()
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE connections SET host = 'uncommitted.example'")
    try:
        started = time.monotonic()
        rows = query(db)
        assert time.monotonic() - started < 1.0  # not waiting for the busy timeout
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert [row["host"] for row in rows] == ["committed.example"]


_WRITER = """
import sys, time
from pathlib import Path
from ringfence.audit import AuditLog, ConnectionRecord, Decision
with AuditLog.open(Path(sys.argv[1])) as log:
    log.record(ConnectionRecord(time.time(), "w", "", "http", "h", 0, Decision.ALLOW, ""))
    log.flush()
    print("writing", flush=True)
    for i in range(1, 60_000):  # about a minute; the test kills it long before
        log.record(ConnectionRecord(time.time(), "w", "", "http", "h", i, Decision.ALLOW, ""))
        time.sleep(0.001)
"""


def test_reads_while_another_process_writes(db: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        counts = []
        for _ in range(20):
            counts.append(len(query(db, limit=None)))
            time.sleep(0.02)
        assert child.poll() is None, "the writer finished before the reads did"
    finally:
        child.kill()
        child.wait(timeout=10)
    assert counts == sorted(counts)
    assert counts[-1] > counts[0] >= 1


def test_rows_carry_the_credential(filled: Path) -> None:
    rows = query(filled)
    assert [row["credential"] for row in rows] == [r[4] for r in _RECORDS]
    assert list(rows[0]) == ["id", *(f.name for f in dataclasses.fields(ConnectionRecord))]


# --- a version-1 log, read as it is ------------------------------------------------------


def test_reads_a_version_1_log_without_changing_it(v1_db: Path) -> None:
    stored = v1_db.read_bytes()  # a reader may leave WAL companions, never change the file
    rows = query(v1_db)
    assert [(row["host"], row["decision"], row["credential"]) for row in rows] == [
        (host, decision, "") for _, host, decision in V1_ROWS
    ]
    assert v1_db.read_bytes() == stored
    with sqlite3.connect(v1_db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)


@pytest.mark.parametrize(
    ("filters", "hosts"),
    [
        ({"credential": "github"}, []),
        ({"credential": ""}, [host for _, host, _ in V1_ROWS]),
        ({"credential": "", "denied_only": True}, ["evil.example"]),
    ],
)
def test_filters_a_version_1_log(v1_db: Path, filters: dict[str, Any], hosts: list[str]) -> None:
    assert [row["host"] for row in query(v1_db, **filters)] == hosts


def test_reads_a_version_1_log_a_writer_upgrades_meanwhile(v1_db: Path) -> None:
    before = query(v1_db)
    AuditLog.open(v1_db).close()
    assert query(v1_db) == before


def _missing(db: Path) -> None:
    pass


def _directory(db: Path) -> None:
    db.mkdir()


def _empty_file(db: Path) -> None:
    db.touch()


def _negative(db: Path) -> None:
    AuditLog.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = -1")


def _garbage(db: Path) -> None:
    db.write_bytes(b"not a database " * 200)


def _newer(db: Path) -> None:
    AuditLog.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = 99")


@pytest.mark.parametrize(
    ("make", "message", "hint"),
    [
        (_missing, "no audit log at", "run `ringfence run` first or pass --audit PATH"),
        (_directory, "is a directory", "--audit"),
        (_empty_file, "not a ringfence audit log", "--audit PATH"),
        (_garbage, "not an SQLite database", "--audit PATH"),
        (_newer, "schema version 99", "upgrade ringfence"),
        (_negative, "not a ringfence audit log", "--audit PATH"),
    ],
)
def test_unreadable_log(tmp_path: Path, make: Any, message: str, hint: str) -> None:
    db = tmp_path / "audit.db"
    make(db)
    with pytest.raises(AuditError, match=message) as caught:
        query(db)
    assert str(db) in caught.value.message
    assert caught.value.hint is not None and hint in caught.value.hint


_QUERY_AS = """
import os, sys
from pathlib import Path
from ringfence.audit.queries import query
from ringfence.errors import AuditError
{drop}
try:
    query(Path(sys.argv[1]))
except AuditError as e:
    print("AuditError:", e)
"""


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("private/audit.db", "cannot read the audit log"),  # the folder is not searchable
        ("unreadable.db", "cannot open the audit log"),
    ],
)
def test_unreadable_by_this_user(
    shared_dir: Path, unprivileged: Unprivileged, where: str, message: str
) -> None:
    (shared_dir / "private").mkdir(mode=0o000)
    (shared_dir / "private").chmod(0o000)
    AuditLog.open(shared_dir / "unreadable.db").close()  # 0600, someone else's
    if os.geteuid() != 0:
        (shared_dir / "unreadable.db").chmod(0o000)
    db = shared_dir / where
    result = run_python(_QUERY_AS.format(drop=unprivileged.drop_privileges()), str(db))
    assert result.stdout.startswith(f"AuditError: {message} {db}"), result.stdout + result.stderr
    assert "fix:" in result.stdout


def test_query_does_not_create_a_log(tmp_path: Path) -> None:
    with pytest.raises(AuditError):
        query(tmp_path / "audit.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86400),
        ("90m", 5400),
        (" 5m ", 300),
    ],
)
def test_parse_since(text: str, seconds: float) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "10", "m", "0m", "-5m", "1.5h", "10M", "10 m", "2w", "10mm", "1h30m", "١٠m", "ten m"],
)
def test_parse_since_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="such as 30s, 10m, 2h or 1d"):
        parse_since(text)
