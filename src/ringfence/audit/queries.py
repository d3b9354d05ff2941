"""Reading the audit log: filtered queries and ``--since`` durations.

A reader opens the database read-only; in WAL mode it sees every commit made before the
query started and never blocks, nor is blocked by, a writer in another process. Being
read-only, it reads a log of an older schema version as it is, a column that version lacks
as that column's default.
"""

from __future__ import annotations

import re
import os
import sqlite3
import stat
from pathlib import Path
from typing import cast

from ringfence.audit import schema
from ringfence.audit.record import AuditRow, Decision
from ringfence.errors import AuditError

_SINCE = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def query(
    path: str | os.PathLike[str],
    *,
    denied_only: bool = False,
    since: float | None = None,
    run_id: str | None = None,
    credential: str | None = None,
    limit: int | None = 50,
) -> list[AuditRow]:
    """The last ``limit`` records matching the filters (all if None), oldest first.

    ``since`` is a Unix time: records at or after it (``time.time() - parse_since("10m")``).
    ``credential`` is a credential's name: the requests it was injected into.
    """
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    path = Path(path)
    conn, version = _open_read_only(path)
    try:
        sql, params = _select(
            schema.column_sql(version),
            denied_only=denied_only, since=since, run_id=run_id, credential=credential, limit=limit,
        )
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise schema.sqlite_error(str(path), exc, "read") from exc
    finally:
        conn.close()
    names = ("id", *schema.COLUMNS)
    return [cast(AuditRow, dict(zip(names, row))) for row in reversed(rows)]


def runs(
    path: str | os.PathLike[str],
    *,
    since: float | None = None,
    run_id: str | None = None,
    degraded_only: bool = False,
    limit: int | None = 50,
) -> list[dict[str, object]]:
    """The last ``limit`` runs (started at or after ``since``; ``run_id``: that one;
    ``degraded_only``: those that ran without something), oldest first: command, start, end,
    exit status, policy files, back-end and what the back-end could not apply (``degraded``,
    accepted with ``--allow-degraded``). Lists are decoded."""
    import json

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    path = Path(path)
    conn, version = _open_read_only(path)
    columns = schema.run_column_sql(version)
    selected = ", ".join(expr if expr == name else f"{expr} AS {name}" for name, expr in columns.items())
    tests = [("started >= ?", since), ("run_id = ?", run_id)]
    where = [test for test, value in tests if value is not None]
    params: list[object] = [value for _, value in tests if value is not None]
    if degraded_only:
        where.append(f"{columns['degraded']} != '[]'")
    sql = f"SELECT {selected} FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY started DESC, rowid DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    try:
        rows = conn.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise schema.sqlite_error(str(path), exc, "read") from exc
    finally:
        conn.close()
    out = []
    for row in reversed(rows):
        item = dict(zip(columns, row))
        for name in ("sources", "degraded"):
            try:
                item[name] = json.loads(str(item[name]))
            except ValueError:
                item[name] = [str(item[name])]
        out.append(item)
    return out


def parse_since(text: str) -> float:
    """Seconds in a duration such as ``30s``, ``10m``, ``2h`` or ``1d``; ValueError otherwise."""
    match = _SINCE.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(
            f"bad duration {text!r}: expected a whole number above 0 and a unit "
            "s, m, h or d, such as 30s, 10m, 2h or 1d"
        )
    return float(int(match[1]) * _UNIT_SECONDS[match[2]])


def _select(
    columns: dict[str, str],
    *,
    denied_only: bool,
    since: float | None,
    run_id: str | None,
    credential: str | None,
    limit: int | None,
) -> tuple[str, list[object]]:
    """The query and its parameters; ``columns`` is ``schema.column_sql`` of the log's version."""
    tests = [
        ("decision = ?", Decision.DENY.value if denied_only else None),
        ("time >= ?", since),
        ("run_id = ?", run_id),
        (f"{columns['credential']} = ?", credential),
    ]
    where = [test for test, value in tests if value is not None]
    params: list[object] = [value for _, value in tests if value is not None]
    selected = ", ".join(expr if expr == name else f"{expr} AS {name}" for name, expr in columns.items())
    sql = f"SELECT id, {selected} FROM connections"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY time DESC, id DESC"  # newest first, so LIMIT keeps the newest
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params


def _open_read_only(path: Path) -> tuple[sqlite3.Connection, int]:
    """A read-only connection to the log at ``path`` and the log's schema version."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise AuditError(
            f"no audit log at {path}",
            hint="run `ringfence run` first or pass --audit PATH",
        ) from exc
    except OSError as exc:
        raise AuditError(
            f"cannot read the audit log {path}: {exc.strerror}",
            hint=f"make {path} readable by {schema.user()}, or pass --audit PATH",
        ) from exc
    if stat.S_ISDIR(mode):
        raise schema.is_directory(str(path))
    # mode=ro: a reader must never create or change the log (https://sqlite.org/uri.html).
    uri = path.absolute().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as exc:
        raise schema.sqlite_error(str(path), exc, "open") from exc
    try:
        version = _check_version(conn, path)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise schema.sqlite_error(str(path), exc, "open") from exc
        raise
    return conn, version


def _check_version(conn: sqlite3.Connection, path: Path) -> int:
    conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version <= 0:  # user_version is signed; ringfence never writes one below 0
        raise schema.not_a_log(str(path), "it has no ringfence schema")
    if version > schema.SCHEMA_VERSION:
        raise schema.newer_schema(str(path), version)
    return int(version)
