"""The audit log store: one SQLite file in WAL mode, written by one thread.

Rules this module keeps:

- Fail closed. If the log cannot be opened or written, raise ``AuditError``. After a
  write failure the log stays unhealthy and ``record`` raises, so the proxy refuses
  connections rather than forwarding any it cannot account for.
- ``record`` never waits for the disk: it appends to a queue and returns. The queue has
  a limit; a writer that far behind is a failure to report, not memory to grow.
- One connection, owned by the writer thread once ``open`` returns. Every write, a
  run's start and end included, goes through it in the order it was asked for.
- A commit survives a crash of the process: in WAL mode with ``synchronous=NORMAL`` a
  commit is in the WAL file before ``COMMIT`` returns; only a power loss can lose the
  last commits (https://www.sqlite.org/pragma.html#pragma_synchronous).
- The log is private: folders it creates are 0700, the database 0600 (SQLite gives its
  ``-wal`` and ``-shm`` files the database's mode).
- No query string or fragment is ever stored, whatever the caller passes.
- A log an older ringfence wrote is upgraded in the transaction that opens it, all or
  nothing; one a newer ringfence wrote is refused.
"""

from __future__ import annotations

import errno
import os
# The C module sqlite3 re-exports: the same connection and errors, without the package's
# date and time adapters (unused here) and the datetime module they load (~2 ms of start-up).
import _sqlite3 as sqlite3
import stat
import sys
import threading

# queue.SimpleQueue without the queue module (and its heapq): start-up time is a feature.
from _queue import Empty, SimpleQueue
import time

from ringfence._struct import record as struct

from ringfence.audit import schema
from ringfence.errors import AuditError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from ringfence.audit.record import ConnectionRecord

MAX_QUEUED = 100_000  # records waiting for the writer; beyond this, record() refuses
MAX_BATCH = 10_000  # queue items written in one transaction
WAIT_TIMEOUT = 30.0  # seconds flush(), start_run(), end_run() and close() wait for the writer

_Row = tuple[object, ...]


class _Reply:
    """The writer's one answer to a command: done, or failed with an error."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._error: Exception | None = None

    def send(self, error: Exception | None = None) -> None:
        self._error = error
        self._done.set()

    def wait(self, timeout: float, what: str, path: str) -> None:
        if not self._done.wait(timeout):
            raise AuditError(
                f"the audit log writer did not {what} within {timeout:g} s ({path})",
                hint=f"check that the disk holding {os.path.dirname(path)} is responsive",
            )
        if self._error is not None:
            raise _fresh(self._error)


@struct
class _StartRun:
    run_id: str
    command: str
    started: float
    sources: str
    backend: str
    degraded: str
    reply: _Reply


@struct
class _EndRun:
    run_id: str
    ended: float
    exit_status: int
    reply: _Reply


@struct
class _Flush:
    reply: _Reply


@struct
class _Stop:
    reply: _Reply


_Command = _StartRun | _EndRun | _Flush | _Stop
_Item = _Row | _Command


class AuditLog:
    """An open audit log; build it with ``AuditLog.open(path)``."""

    def __init__(self, path: str, conn: sqlite3.Connection, *, max_queued: int) -> None:
        self._path = path
        self._conn = conn
        self._max_queued = max_queued
        self._queue: SimpleQueue[_Item] = SimpleQueue()
        self._error: AuditError | None = None
        self._closed = False
        self._close_lock = threading.Lock()
        self._writer = threading.Thread(
            target=self._write_until_stopped, name="ringfence-audit-writer", daemon=True
        )
        self._writer.start()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, max_queued: int = MAX_QUEUED) -> AuditLog:
        """Open or create the log at ``path``; AuditError if it cannot be used."""
        path = os.fspath(path)
        return cls(path, _connect(path), max_queued=max_queued)

    @property
    def path(self) -> str:
        return self._path

    @property
    def healthy(self) -> bool:
        """False once a write has failed: from then on nothing more is recorded."""
        return self._error is None

    def record(self, rec: ConnectionRecord) -> None:
        """Queue ``rec`` for the writer; never waits for the disk."""
        self._check_usable()
        backlog = self._queue.qsize()
        if backlog >= self._max_queued:
            raise AuditError(
                f"the audit log writer is {backlog} records behind ({self._path})",
                hint=f"the disk holding {os.path.dirname(self._path)} is too slow for this request rate",
            )
        self._queue.put(_row(rec))

    def start_run(self, run_id: str, command: str, sources: Sequence[str | os.PathLike[str]], *,
                  backend: str = "bwrap", degraded: Sequence[str] = ()) -> None:
        """Record that a run started (on ``backend``, without what ``degraded`` names);
        committed before this returns."""
        names = _json_list([os.fspath(s) for s in sources])
        self._call(_StartRun(run_id, command, time.time(), names, backend, _json_list(list(degraded)), _Reply()),
                   "record the run")

    def end_run(self, run_id: str, exit_status: int) -> None:
        """Record how a started run ended; committed before this returns."""
        self._call(_EndRun(run_id, time.time(), exit_status, _Reply()), "record the run's end")

    def flush(self, timeout: float = WAIT_TIMEOUT) -> None:
        """Wait until every record queued so far is committed; AuditError if it cannot be."""
        if self._closed:
            self._check_healthy()
            return
        self._call(_Flush(_Reply()), "commit", timeout)

    def close(self, timeout: float = WAIT_TIMEOUT) -> None:
        """Commit what is queued and stop the writer; AuditError if records were lost."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            stop = _Stop(_Reply())
            self._queue.put(stop)
        stop.reply.wait(timeout, "stop", self._path)
        self._writer.join(timeout)
        self._check_healthy()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except AuditError:
            pass  # the exception already on its way out says more

    # --- caller side -------------------------------------------------------------------

    def _call(self, command: _Command, what: str, timeout: float = WAIT_TIMEOUT) -> None:
        self._check_usable()
        self._queue.put(command)
        command.reply.wait(timeout, what, self._path)

    def _check_usable(self) -> None:
        self._check_healthy()
        if self._closed:
            raise AuditError(
                f"the audit log {self._path} is closed",
                hint="open it again with AuditLog.open() before recording",
            )

    def _check_healthy(self) -> None:
        if self._error is not None:
            raise _fresh(self._error)

    # --- writer thread -----------------------------------------------------------------

    def _write_until_stopped(self) -> None:
        try:
            while not self._write(self._take_batch()):
                pass
        finally:
            self._conn.close()
            self._refuse_leftovers()

    def _take_batch(self) -> list[_Item]:
        # A batch is whatever queued up while the last one was being committed: one
        # record alone when the proxy is idle, thousands per commit when it is busy.
        batch = [self._queue.get()]
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except Empty:
                break
        return batch

    def _write(self, batch: list[_Item]) -> bool:
        """Commit one batch and answer its commands; True once asked to stop."""
        commands = [item for item in batch if not isinstance(item, tuple)]
        stop = any(isinstance(c, _Stop) for c in commands)
        if self._error is not None:
            _answer(commands, {}, self._error)
            return stop
        try:
            errors = self._commit(batch)
        except Exception as exc:  # any failure here means records are lost
            self._rollback()
            self._fail(exc)
            _answer(commands, {}, self._error)
            return stop
        _answer(commands, errors, None)
        return stop

    def _commit(self, batch: list[_Item]) -> dict[int, Exception]:
        """Write a batch in one transaction; return the caller mistakes it found, by command."""
        errors: dict[int, Exception] = {}
        rows = [item for item in batch if isinstance(item, tuple)]
        self._conn.execute("BEGIN IMMEDIATE")
        for item in batch:
            if isinstance(item, _StartRun | _EndRun):
                error = self._write_run(item)
                if error is not None:
                    errors[id(item)] = error
        self._conn.executemany(schema.INSERT_CONNECTION, rows)
        self._conn.execute("COMMIT")
        return errors

    def _write_run(self, item: _StartRun | _EndRun) -> Exception | None:
        if isinstance(item, _StartRun):
            try:
                self._conn.execute(
                    "INSERT INTO runs (run_id, command, started, sources, backend, degraded) VALUES (?, ?, ?, ?, ?, ?)",
                    (item.run_id, item.command, item.started, item.sources, item.backend, item.degraded),
                )
            except sqlite3.IntegrityError:  # only this statement is undone
                return ValueError(f"run {item.run_id!r} is already in the audit log")
            return None
        cursor = self._conn.execute(
            "UPDATE runs SET ended = ?, exit_status = ? WHERE run_id = ?",
            (item.ended, item.exit_status, item.run_id),
        )
        if cursor.rowcount == 0:
            return ValueError(f"run {item.run_id!r} was never started in the audit log")
        return None

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite rolls back itself when it cannot; the failure is reported already

    def _fail(self, exc: Exception) -> None:
        self._error = schema.sqlite_error(self._path, exc, "write")
        # The one place the store writes to stderr: a failure in a background thread
        # would otherwise go unseen until the next record() call.
        print(f"ringfence: {self._error}", file=sys.stderr, flush=True)

    def _refuse_leftovers(self) -> None:
        """Answer commands queued after the stop, so no caller waits for its timeout."""
        closed = AuditError(f"the audit log {self._path} is closed")
        while True:
            try:
                item = self._queue.get_nowait()
            except Empty:
                return
            if not isinstance(item, tuple):
                item.reply.send(self._error or closed)


def _answer(commands: list[_Command], errors: dict[int, Exception], failure: Exception | None) -> None:
    for command in commands:
        command.reply.send(failure or errors.get(id(command)))


def _fresh(error: Exception) -> Exception:
    """A new exception like ``error``, so raising it again does not grow one traceback."""
    if isinstance(error, AuditError):
        return AuditError(error.message, hint=error.hint)
    return type(error)(*error.args)


def _json_list(items: list[str]) -> str:
    """A JSON array of strings (RFC 8259, ASCII-only like ``json.dumps``); written by hand
    because the json module costs start-up time and these are plain path strings."""
    return "[" + ", ".join(_json_string(item) for item in items) + "]"


_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _json_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _JSON_ESCAPES:
            out.append(_JSON_ESCAPES[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        elif ord(ch) > 0xFFFF:  # a surrogate pair, as json.dumps writes it
            high, low = divmod(ord(ch) - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return '"' + "".join(out) + '"'


def strip_query(path: str) -> str:
    """``path`` without its query string or fragment, which may carry secrets."""
    return path.partition("?")[0].partition("#")[0]


def _row(rec: ConnectionRecord) -> _Row:
    return (
        rec.time,
        rec.run_id,
        rec.command,
        rec.protocol,
        rec.host,
        rec.port,
        rec.decision.value,
        rec.rule,
        rec.reason,
        rec.method,
        strip_query(rec.path),
        rec.status,
        rec.bytes_up,
        rec.bytes_down,
        rec.duration_ms,
        rec.credential,
    )


# --- opening ---------------------------------------------------------------------------


def _connect(path: str) -> sqlite3.Connection:
    _make_parents(path)
    _create_private_file(path)
    try:
        # isolation_level=None: transactions are the explicit BEGIN/COMMIT above.
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise schema.sqlite_error(path, exc, "open") from exc
    try:
        _configure(conn, path)
        _migrate(conn, path)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise schema.sqlite_error(path, exc, "set up") from exc
        raise
    return conn


def _make_parents(path: str) -> None:
    # Not str.mkdir(parents=True): it creates the parents with the default mode.
    missing: list[str] = []
    folder = os.path.dirname(path)
    try:
        while not os.path.lexists(folder) and folder != os.path.dirname(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for folder in reversed(missing):
            _make_private_folder(folder)
    except OSError as exc:  # exists() too raises, on a folder we may not search
        raise AuditError(
            f"cannot create the folder {folder} for the audit log {path}: {exc.strerror}",
            hint=f"create {folder} writable by {schema.user()}, or pass --audit PATH",
        ) from exc


def _make_private_folder(folder: str) -> None:
    try:
        os.mkdir(folder, 0o700)
    except FileExistsError:
        return  # another ringfence made it meanwhile
    os.chmod(folder, 0o700)  # the umask may have taken bits from mkdir's mode


def _create_private_file(path: str) -> None:
    """Create ``path`` as 0600 before SQLite does, so it is never readable by others."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise schema.is_directory(path) from exc
        raise AuditError(
            f"cannot open the audit log {path} for writing: {exc.strerror}",
            hint=f"make {path} and {os.path.dirname(path)} writable by {schema.user()}, or pass --audit PATH",
        ) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise schema.not_a_log(path, "it is not a regular file")
        if stat.S_IMODE(st.st_mode) != 0o600 and st.st_uid == os.geteuid():
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


def _configure(conn: sqlite3.Connection, path: str) -> None:
    conn.execute(f"PRAGMA busy_timeout = {schema.BUSY_TIMEOUT_MS}")
    (mode,) = conn.execute("PRAGMA journal_mode = WAL").fetchone()
    if str(mode).lower() != "wal":
        raise AuditError(
            f"the audit log {path} cannot use write-ahead logging (journal mode {mode})",
            hint="put the audit log on a local filesystem with --audit PATH",
        )
    conn.execute("PRAGMA synchronous = NORMAL")


def _migrate(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if version > schema.SCHEMA_VERSION:
            raise schema.newer_schema(path, version)
        if version < 0:  # user_version is a signed integer; ringfence never writes one below 0
            raise schema.not_a_log(path, f"its schema version is {version}")
        if version == 0:
            _create_tables(conn, path)
        elif version < schema.SCHEMA_VERSION:
            _upgrade(conn, version)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _create_tables(conn: sqlite3.Connection, path: str) -> None:
    (tables,) = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    if tables:
        raise schema.not_a_log(path, "it is an SQLite database with other tables")
    for statement in schema.DDL:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring a log written by an older ringfence to this version, inside the caller's
    transaction: a failure leaves it as it was (SQLite's DDL is transactional)."""
    for old in range(version, schema.SCHEMA_VERSION):
        for statement in schema.MIGRATIONS[old]:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")
