"""AuditLog: schema, permissions, round trip, batching, durability, failing closed."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ringfence.audit import AuditLog, ConnectionRecord, Decision, query
from ringfence.audit import store
from ringfence.audit import schema
from ringfence.audit.schema import SCHEMA_VERSION
from ringfence.errors import AuditError, ExitCode

from .conftest import T0, V1_ROWS, MakeRecord, Unprivileged, run_python


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM connections").fetchone()
    return int(n)


@contextmanager
def _write_lock(db: Path) -> Iterator[None]:
    """Hold the database's write lock from another connection, as a busy writer would."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


# --- schema and permissions ------------------------------------------------------------


def test_schema(log: AuditLog, db: Path) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(connections)")]
    assert columns == ["id", *(f.name for f in dataclasses.fields(ConnectionRecord))]
    runs = [row[1] for row in conn.execute("PRAGMA table_info(runs)")]
    assert runs == ["run_id", "command", "started", "ended", "exit_status", "sources", "backend", "degraded"]
    indexed = {
        conn.execute(f"PRAGMA index_info({name})").fetchone()[2]
        for _, name, *_ in conn.execute("PRAGMA index_list(connections)")
    }
    assert indexed == {"time", "run_id"}
    autoincrement = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'connections'").fetchone()
    assert "AUTOINCREMENT" in autoincrement[0]
    conn.close()


def test_writer_connection_settings(db: Path) -> None:
    conn = store._connect(db)  # the connection AuditLog hands to its writer thread
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    finally:
        conn.close()


def test_reopen_keeps_records(db: Path, make_record: MakeRecord) -> None:
    with AuditLog.open(db) as log:
        log.record(make_record())
    with AuditLog.open(db) as log:
        log.record(make_record())
    assert _count(db) == 2


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o077, 0o277])
def test_private_permissions(tmp_path: Path, make_record: MakeRecord, umask: int) -> None:
    db = tmp_path / "a" / "b" / "audit.db"
    old = os.umask(umask)
    try:
        with AuditLog.open(db) as log:
            log.record(make_record())
            log.flush()
            companions = [db.with_name(db.name + s) for s in ("-wal", "-shm")]
            assert {p.name: _mode(p) for p in companions} == {p.name: 0o600 for p in companions}
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a") == 0o700
    assert _mode(tmp_path / "a" / "b") == 0o700
    assert _mode(db) == 0o600


def test_existing_parent_keeps_its_mode(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    AuditLog.open(tmp_path / "audit.db").close()
    assert _mode(tmp_path) == 0o755


def test_existing_file_is_made_private(db: Path) -> None:
    db.parent.mkdir()
    db.touch(mode=0o644)
    db.chmod(0o644)
    AuditLog.open(db).close()
    assert _mode(db) == 0o600


# --- version 1 logs --------------------------------------------------------------------


def _table_info(db: Path, table: str = "connections") -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(f"PRAGMA table_info({table})"))


def _user_version(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    return int(version)


def test_version_1_is_upgraded_in_place(v1_db: Path, tmp_path: Path, make_record: MakeRecord) -> None:
    with AuditLog.open(v1_db) as log:
        log.record(make_record(time=T0 + 2, host="new.example", credential="github"))
    assert _user_version(v1_db) == SCHEMA_VERSION == 3
    AuditLog.open(tmp_path / "fresh.db").close()
    assert _table_info(v1_db) == _table_info(tmp_path / "fresh.db")
    assert _table_info(v1_db, "runs") == _table_info(tmp_path / "fresh.db", "runs")
    rows = query(v1_db)
    assert [(r["host"], r["credential"]) for r in rows] == [
        *((host, "") for _, host, _ in V1_ROWS),
        ("new.example", "github"),
    ]
    assert rows[0]["bytes_down"] == 2  # the old rows are kept whole


def test_upgrade_is_all_or_nothing(v1_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A migration whose second statement fails must not leave the first one done.
    monkeypatch.setitem(schema.MIGRATIONS, 1, (*schema.MIGRATIONS[1], "SELECT no_such_column"))
    before = _table_info(v1_db)
    with pytest.raises(AuditError, match="cannot set up the audit log") as caught:
        AuditLog.open(v1_db)
    assert caught.value.hint
    assert _table_info(v1_db) == before
    assert _user_version(v1_db) == 1


def test_upgraded_log_opens_again(v1_db: Path, make_record: MakeRecord) -> None:
    AuditLog.open(v1_db).close()
    with AuditLog.open(v1_db) as log:
        log.record(make_record())
    assert _user_version(v1_db) == SCHEMA_VERSION
    assert _count(v1_db) == len(V1_ROWS) + 1


# --- recording -------------------------------------------------------------------------


T_FRACTION = 1_700_000_000.123456  # a time whose microseconds must survive the round trip


@pytest.mark.parametrize("decision", list(Decision))
def test_round_trip_of_every_field(log: AuditLog, db: Path, decision: Decision) -> None:
    rec = ConnectionRecord(
        time=T_FRACTION,
        run_id="run-7f3a9c",
        command="claude -p 'fix it'",
        protocol="connect",
        host="api.example.com",
        port=8443,
        decision=decision,
        rule="*.example.com",
        reason="matched allow rule *.example.com",
        method="POST",
        path="/v1/messages",
        status=201,
        bytes_up=12_345,
        bytes_down=9_876_543_210,
        duration_ms=12.75,
        credential="github",
    )
    log.record(rec)
    log.flush()
    (row,) = query(db)
    expected = {**dataclasses.asdict(rec), "decision": decision.value}
    assert {k: v for k, v in row.items() if k != "id"} == expected
    assert row["id"] == 1


@pytest.mark.parametrize("protocol", ["http", "https", "gateway", "connect", "socks5"])
def test_every_protocol_is_stored(log: AuditLog, db: Path, make_record: MakeRecord, protocol: str) -> None:
    log.record(make_record(protocol=protocol, credential="api" if protocol == "https" else ""))
    log.flush()
    assert [row["protocol"] for row in query(db)] == [protocol]


def test_credential_defaults_to_none_injected(log: AuditLog, db: Path) -> None:
    # Positional, as proxy.flow builds its records: the new field is last and optional.
    log.record(ConnectionRecord(1.0, "r", "c", "gateway", "h", 80, Decision.ALLOW, "h", "", "GET", "/", 200))
    log.flush()
    assert [row["credential"] for row in query(db)] == [""]


@pytest.mark.parametrize(
    ("path", "stored"),
    [
        ("/plain", "/plain"),
        ("", ""),
        ("/a?token=SECRET", "/a"),
        ("/a#SECRET", "/a"),
        ("/a?x=1#SECRET", "/a"),
        ("/a#frag?SECRET", "/a"),
        ("?SECRET", ""),
        ("http://h.example/p?key=SECRET", "http://h.example/p"),
        ("/a%3Fb", "/a%3Fb"),  # an escaped "?" is part of the path
    ],
)
def test_query_string_is_never_stored(
    log: AuditLog, db: Path, make_record: MakeRecord, path: str, stored: str
) -> None:
    log.record(make_record(path=path))
    log.flush()
    assert [row["path"] for row in query(db)] == [stored]
    files = [db, db.with_name(db.name + "-wal")]
    assert not any(b"SECRET" in f.read_bytes() for f in files)


def test_many_threads_all_committed(log: AuditLog, db: Path, make_record: MakeRecord) -> None:
    threads, each = 8, 1250

    def produce(worker: int) -> None:
        for i in range(each):
            log.record(make_record(run_id=f"w{worker}", port=i))

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    log.flush()
    with sqlite3.connect(db) as conn:
        seen = set(conn.execute("SELECT run_id, port FROM connections"))
    assert len(seen) == threads * each == _count(db)
    assert log.healthy


def test_record_does_not_wait_for_the_disk(log: AuditLog, db: Path, make_record: MakeRecord) -> None:
    with _write_lock(db):  # the writer is stuck waiting for the lock...
        started = time.monotonic()
        for i in range(2000):
            log.record(make_record(port=i))
        elapsed = time.monotonic() - started  # ...but record() returned at once each time
        assert _count(db) == 0
    log.flush()
    assert _count(db) == 2000
    assert elapsed < 1.0


def test_backlog_over_the_limit_is_refused(db: Path, make_record: MakeRecord) -> None:
    with AuditLog.open(db, max_queued=10) as log:
        with _write_lock(db):
            log.record(make_record())
            time.sleep(0.2)  # the writer took that one and now waits for the lock
            with pytest.raises(AuditError, match="records behind"):
                for _ in range(11):
                    log.record(make_record())
        log.flush()
        assert log.healthy  # a backlog is refused, not a failure of the log
        assert _count(db) == 11


def test_runs_commit_at_once(log: AuditLog, db: Path) -> None:
    before = time.time()
    log.start_run("run-1", "agent --task x", [Path("/w/ringfence.toml"), "/home/u/.config/r.toml"])
    with sqlite3.connect(db) as conn:  # visible to another connection without flush()
        row = conn.execute("SELECT * FROM runs").fetchone()
    assert row[:2] == ("run-1", "agent --task x")
    assert before <= row[2] <= time.time()
    assert row[3:5] == (None, None)
    assert json.loads(row[5]) == ["/w/ringfence.toml", "/home/u/.config/r.toml"]

    log.end_run("run-1", 7)
    with sqlite3.connect(db) as conn:
        ended, status = conn.execute("SELECT ended, exit_status FROM runs").fetchone()
    assert row[2] <= ended <= time.time()
    assert status == 7


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([("start", "r"), ("start", "r")], "already in the audit log"),
        ([("end", "never")], "never started"),
    ],
)
def test_run_mistakes_do_not_poison_the_log(
    log: AuditLog, db: Path, make_record: MakeRecord, steps: list[tuple[str, str]], message: str
) -> None:
    *setup, (last, run_id) = steps
    for _, rid in setup:
        log.start_run(rid, "cmd", [])
    with pytest.raises(ValueError, match=message):
        if last == "start":
            log.start_run(run_id, "cmd", [])
        else:
            log.end_run(run_id, 0)
    log.record(make_record())
    log.flush()
    assert log.healthy
    assert _count(db) == 1


def test_closed_log_refuses(db: Path, make_record: MakeRecord) -> None:
    log = AuditLog.open(db)
    log.record(make_record())
    log.close()
    log.close()  # idempotent
    log.flush()  # nothing is queued
    assert _count(db) == 1
    with pytest.raises(AuditError, match="closed"):
        log.record(make_record())
    with pytest.raises(AuditError, match="closed"):
        log.start_run("r", "cmd", [])


_CRASH = """
import sys, time
from pathlib import Path
from ringfence.audit import AuditLog, ConnectionRecord, Decision
log = AuditLog.open(Path(sys.argv[1]))
log.start_run("crash", "agent", [])
for i in range(500):
    log.record(ConnectionRecord(time.time(), "crash", "agent", "http", "h", i, Decision.DENY, ""))
log.flush()
print("flushed", flush=True)
time.sleep(60)
"""


def test_flushed_records_survive_sigkill(db: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CRASH, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "flushed\n"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL
    with AuditLog.open(db):  # opening after a crash recovers the WAL
        pass
    rows = query(db, run_id="crash", limit=None)
    assert sorted(row["port"] for row in rows) == list(range(500))


# --- failing closed --------------------------------------------------------------------


def _garbage(db: Path) -> None:
    db.write_bytes(b"this is not a database, it is a text file " * 100)


def _other_sqlite(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE notes (text)")


def _newer_schema(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")


def _negative_schema(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA user_version = -1")


def _directory(db: Path) -> None:
    db.mkdir()


def _parent_is_a_file(db: Path) -> None:
    db.parent.rmdir()
    db.parent.write_text("a file where a folder should be")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_directory, "is a directory"),
        (_parent_is_a_file, "cannot"),
        (_garbage, "not an SQLite database"),
        (_other_sqlite, "other tables"),
        (_newer_schema, "schema version"),
        (_negative_schema, "not a ringfence audit log: its schema version is -1"),
    ],
)
def test_unusable_path_fails_closed(
    tmp_path: Path, make: Callable[[Path], None], message: str
) -> None:
    db = tmp_path / "parent" / "audit.db"
    db.parent.mkdir()
    make(db)
    with pytest.raises(AuditError, match=message) as caught:
        AuditLog.open(db)
    assert str(db) in caught.value.message or str(db.parent) in caught.value.message
    assert caught.value.hint
    assert caught.value.exit_code == ExitCode.SETUP


_OPEN_AS = """
import os, sys
from pathlib import Path
from ringfence.audit.store import AuditLog
from ringfence.errors import AuditError
{drop}
try:
    AuditLog.open(Path(sys.argv[1])).close()
except AuditError as e:
    print("AuditError:", e)
else:
    print("opened")
"""


def _locked(base: Path, who: Unprivileged) -> None:
    (base / "locked").mkdir(mode=0o555)
    (base / "locked").chmod(0o555)


def _unsearchable(base: Path, who: Unprivileged) -> None:
    (base / "private").mkdir(mode=0o000)
    (base / "private").chmod(0o000)


def _read_only_file(base: Path, who: Unprivileged) -> None:
    AuditLog.open(base / "read-only.db").close()
    (base / "read-only.db").chmod(0o444)


def _writable_file_in_locked_folder(base: Path, who: Unprivileged) -> None:
    # The file is theirs, but SQLite must also create audit.db-wal and -shm beside it.
    folder = base / "shut"
    folder.mkdir()
    AuditLog.open(folder / "audit.db").close()
    for path in folder.iterdir():
        os.chown(path, who.uid, who.gid)
    folder.chmod(0o555)


@pytest.mark.parametrize(
    ("setup", "where", "message"),
    [
        (_locked, "locked/audit.db", "cannot open the audit log"),
        (_locked, "locked/sub/audit.db", "cannot create the folder"),
        (_unsearchable, "private/audit.db", "cannot open the audit log"),
        (_unsearchable, "private/sub/audit.db", "cannot create the folder"),
        (_read_only_file, "read-only.db", "cannot open the audit log"),
        (_writable_file_in_locked_folder, "shut/audit.db", "cannot set up the audit log"),
    ],
)
def test_unwritable_fails_closed(
    shared_dir: Path,
    unprivileged: Unprivileged,
    setup: Callable[[Path, Unprivileged], None],
    where: str,
    message: str,
) -> None:
    setup(shared_dir, unprivileged)
    db = shared_dir / where
    result = run_python(_OPEN_AS.format(drop=unprivileged.drop_privileges()), str(db))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"AuditError: {message}"), result.stdout
    assert str(db) in result.stdout
    assert "fix:" in result.stdout


_FULL_AT_OPEN = """
import resource, signal, sys
from pathlib import Path
from ringfence.audit.store import AuditLog
from ringfence.errors import AuditError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (0, resource.RLIM_INFINITY))
try:
    AuditLog.open(Path(sys.argv[1]))
except AuditError as e:
    print("AuditError:", e)
"""


def test_disk_full_at_open_fails_closed(db: Path) -> None:
    result = run_python(_FULL_AT_OPEN, str(db))
    assert result.stdout.startswith(f"AuditError: cannot set up the audit log {db}"), (
        result.stdout + result.stderr
    )
    assert "fix:" in result.stdout


_FULL_WHILE_WRITING = """
import json, resource, signal, sys, time
from pathlib import Path
from ringfence.audit import AuditLog, ConnectionRecord, Decision
from ringfence.errors import AuditError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
log = AuditLog.open(Path(sys.argv[1]))
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
out = {}
try:
    for i in range(2000):
        log.record(ConnectionRecord(time.time(), "r", "c", "http", "h", i, Decision.ALLOW, "", "x" * 2000))
    log.flush()
except AuditError as e:
    out["flush"] = str(e)
out["healthy"] = log.healthy
for name, call in [
    ("record", lambda: log.record(ConnectionRecord(0.0, "r", "c", "http", "h", 1, Decision.ALLOW, ""))),
    ("start_run", lambda: log.start_run("r2", "c", [])),
    ("close", log.close),
]:
    try:
        call()
        out[name] = "ok"
    except AuditError as e:
        out[name] = str(e)
print(json.dumps(out))
"""


def test_write_failure_fails_closed(db: Path) -> None:
    result = run_python(_FULL_WHILE_WRITING, str(db))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["healthy"] is False
    for name in ("flush", "record", "start_run", "close"):
        assert out[name].startswith(f"cannot write the audit log {db}"), (name, out[name])
    logged = [line for line in result.stderr.splitlines() if line.startswith("ringfence:")]
    assert len(logged) == 1, result.stderr  # reported once, not once per record


def test_schema_decisions_match_the_record_enum() -> None:
    from ringfence.audit.record import Decision
    from ringfence.audit.schema import DECISIONS

    assert DECISIONS == tuple(d.value for d in Decision)


@pytest.mark.parametrize(
    "items",
    [[], ["/a/b"], ['we"ird\\path', "tab\there", "nl\n", "ctl\x01", "ünï", "emoji 🙂", "del\x7f"], ["", " "]],
)
def test_sources_json_matches_the_json_module(items: list[str]) -> None:
    import json

    from ringfence.audit.store import _json_list

    assert _json_list(items) == json.dumps(items)
    assert json.loads(_json_list(items)) == items



def test_a_run_records_its_back_end_and_what_it_ran_without(v1_db: Path) -> None:
    """Version 3: a run's back-end and its accepted gaps (--allow-degraded); an older log's
    runs read as bubblewrap runs without any, before and after the upgrade."""
    from ringfence.audit.queries import runs

    with sqlite3.connect(v1_db) as conn:
        conn.execute("INSERT INTO runs (run_id, command, started, sources) VALUES ('old', 'agent', ?, '[]')", (T0,))
    assert [(r["run_id"], r["backend"], r["degraded"]) for r in runs(v1_db)] == [("old", "bwrap", [])]
    with AuditLog.open(v1_db) as log:
        log.start_run("new", "claude", ["/p/ringfence.toml"], backend="podman",
                      degraded=["the memory limit: not applied", 'a "quoted" one'])
        log.end_run("new", 0)
    found = {r["run_id"]: r for r in runs(v1_db)}
    assert found["old"]["backend"] == "bwrap" and found["old"]["degraded"] == []
    assert found["new"]["backend"] == "podman" and found["new"]["exit_status"] == 0
    assert found["new"]["degraded"] == ["the memory limit: not applied", 'a "quoted" one']
    assert found["new"]["sources"] == ["/p/ringfence.toml"]
    assert [r["run_id"] for r in runs(v1_db, degraded_only=True)] == ["new"]
