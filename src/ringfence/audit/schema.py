"""The audit log's SQLite schema and the errors both its writer and its readers raise.

The schema version lives in ``PRAGMA user_version``: 0 is a database ringfence has not
initialised, ``SCHEMA_VERSION`` is this one, anything higher was written by a newer ringfence.
The writer brings an older log up to date when it opens it (``MIGRATIONS``); a reader opens
read-only and cannot, so it selects the default of a column the log predates (``column_sql``).

Versions: 1, the first; 2 added ``connections.credential``; 3 added ``runs.backend`` and
``runs.degraded`` (what the back-end could not apply, accepted with ``--allow-degraded``).
"""

from __future__ import annotations

import os
import pwd
import _sqlite3 as sqlite3  # see ringfence.audit.store

from ringfence.errors import AuditError

SCHEMA_VERSION = 3

# Every field of ConnectionRecord, in declaration order; the table adds an ``id``.
COLUMNS = (
    "time",
    "run_id",
    "command",
    "protocol",
    "host",
    "port",
    "decision",
    "rule",
    "reason",
    "method",
    "path",
    "status",
    "bytes_up",
    "bytes_down",
    "duration_ms",
    "credential",
)

# The values of record.Decision (spelled out: the writer must not import the record module,
# which the proxy needs but `ringfence run`'s start-up does not; a test keeps them equal).
DECISIONS = ("allow", "deny", "error")
_DECISIONS = ", ".join(f"'{d}'" for d in DECISIONS)

# One definition for new logs and migrated ones, so both end with the same table.
_CREDENTIAL = "credential TEXT NOT NULL DEFAULT ''"
_BACKEND = "backend TEXT NOT NULL DEFAULT 'bwrap'"
_DEGRADED = "degraded TEXT NOT NULL DEFAULT '[]'"

# The runs table's columns, as ``runs`` reads them.
RUN_COLUMNS = ("run_id", "command", "started", "ended", "exit_status", "sources", "backend", "degraded")

DDL = (
    f"""CREATE TABLE connections (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        time REAL NOT NULL,
        run_id TEXT NOT NULL,
        command TEXT NOT NULL,
        protocol TEXT NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        decision TEXT NOT NULL CHECK (decision IN ({_DECISIONS})),
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        bytes_up INTEGER NOT NULL,
        bytes_down INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        {_CREDENTIAL}
    )""",
    "CREATE INDEX connections_time ON connections (time)",
    "CREATE INDEX connections_run_id ON connections (run_id)",
    # sources: a JSON array of the policy files the run used, highest layer first;
    # degraded: a JSON array of what the back-end could not apply (``--allow-degraded``).
    f"""CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started REAL NOT NULL,
        ended REAL,
        exit_status INTEGER,
        sources TEXT NOT NULL,
        {_BACKEND},
        {_DEGRADED}
    )""",
)

# The statements that bring a log of version N (the key) to version N + 1. ALTER TABLE ADD
# COLUMN appends, so a migrated table has its columns in the same order as a new one; a
# NOT NULL column needs its non-NULL default (https://sqlite.org/lang_altertable.html).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (f"ALTER TABLE connections ADD COLUMN {_CREDENTIAL}",),
    2: (f"ALTER TABLE runs ADD COLUMN {_BACKEND}", f"ALTER TABLE runs ADD COLUMN {_DEGRADED}"),
}

# The columns added after version 1: name -> (the version that added it, its default as SQL).
_ADDED = {"credential": (2, "''")}
_RUN_ADDED = {"backend": (3, "'bwrap'"), "degraded": (3, "'[]'")}

INSERT_CONNECTION = (
    f"INSERT INTO connections ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
)

# How long a statement waits for another process's write lock before failing.
BUSY_TIMEOUT_MS = 5000

_OTHER_LOG = "or pass --audit PATH to use another audit log"


def column_sql(version: int) -> dict[str, str]:
    """Each of COLUMNS as SQL that reads it from a log of ``version``: the column itself, or
    the default of a column that version does not have yet."""
    return {
        name: _ADDED[name][1] if name in _ADDED and version < _ADDED[name][0] else name
        for name in COLUMNS
    }


def run_column_sql(version: int) -> dict[str, str]:
    """``column_sql`` for the runs table."""
    return {
        name: _RUN_ADDED[name][1] if name in _RUN_ADDED and version < _RUN_ADDED[name][0] else name
        for name in RUN_COLUMNS
    }


def sqlite_error(path: str, exc: BaseException, doing: str) -> AuditError:
    """Turn an SQLite or OS error about ``path`` into an AuditError that says what to do."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # primary code of an extended one
    if code == sqlite3.SQLITE_NOTADB:
        return not_a_log(path, "it is not an SQLite database")
    if code == sqlite3.SQLITE_FULL:
        hint = f"free space on the filesystem holding {os.path.dirname(path)}, {_OTHER_LOG}"
    elif code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        hint = f"make {path} and {os.path.dirname(path)} writable by {user()}, {_OTHER_LOG}"
    else:
        hint = f"check free space and permissions of {os.path.dirname(path)}, {_OTHER_LOG}"
    return AuditError(f"cannot {doing} the audit log {path}: {exc}", hint=hint)


def not_a_log(path: str, why: str) -> AuditError:
    return AuditError(
        f"{path} is not a ringfence audit log: {why}",
        hint=f"move {path} aside, {_OTHER_LOG}",
    )


def newer_schema(path: str, version: int) -> AuditError:
    return AuditError(
        f"the audit log {path} has schema version {version}; "
        f"this ringfence reads versions up to {SCHEMA_VERSION}",
        hint=f"upgrade ringfence, {_OTHER_LOG}",
    )


def is_directory(path: str) -> AuditError:
    return AuditError(
        f"the audit log path {path} is a directory",
        hint=f"pass --audit with a file path, such as {os.path.join(path, 'audit.db')}",
    )


def user() -> str:
    """Who this process writes as, for hints: `user alice`, or `uid 1234` without a name."""
    uid = os.geteuid()
    try:
        return f"user {pwd.getpwuid(uid).pw_name}"
    except KeyError:
        return f"uid {uid}"
