"""The audit log as JSON lines on a stream (``ringfence proxy --audit-stdout``): for a
cluster's log pipeline, where the proxy runs as a pod and SQLite in it would be lost.

One object per line, written and flushed under a lock before the proxy lets a connection's
bytes through, as with the SQLite store: ``{"event": "connection", "time", "run_id",
"command", "protocol", "host", "port", "decision", "rule", "reason", "method", "path" (never
the query), "status", "bytes_up", "bytes_down", "duration_ms", "credential"}``, and
``"run-start"`` / ``"run-end"`` lines. A stream that cannot be written makes the sink
unhealthy: the proxy then refuses connections (fail closed).
"""

from __future__ import annotations

import json
import os
import threading
import time

from ringfence.audit.store import strip_query
from ringfence.errors import AuditError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import IO

    from ringfence.audit.record import ConnectionRecord


class JsonLinesAudit:
    def __init__(self, stream: IO[str], name: str = "stdout") -> None:
        self._stream = stream
        self._name = name
        self._lock = threading.Lock()
        self._failed: Exception | None = None

    @property
    def path(self) -> str:
        return self._name

    def healthy(self) -> bool:
        return self._failed is None

    def _write(self, obj: dict[str, object]) -> None:
        if self._failed is not None:
            raise AuditError(f"the audit stream ({self._name}) failed: {self._failed}")
        line = json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError) as exc:
                self._failed = exc
                raise AuditError(f"cannot write the audit stream ({self._name}): {exc}") from None

    def record(self, rec: ConnectionRecord) -> None:
        self._write({
            "event": "connection", "time": rec.time, "run_id": rec.run_id, "command": rec.command,
            "protocol": rec.protocol, "host": rec.host, "port": rec.port, "decision": rec.decision.value,
            "rule": rec.rule, "reason": rec.reason, "method": rec.method, "path": strip_query(rec.path),
            "status": rec.status, "bytes_up": rec.bytes_up, "bytes_down": rec.bytes_down,
            "duration_ms": rec.duration_ms, "credential": rec.credential,
        })

    def start_run(self, run_id: str, command: str, sources: Sequence[str | os.PathLike[str]]) -> None:
        self._write({"event": "run-start", "time": time.time(), "run_id": run_id, "command": command,
                     "policy_sources": [os.fspath(s) for s in sources]})

    def end_run(self, run_id: str, exit_status: int) -> None:
        self._write({"event": "run-end", "time": time.time(), "run_id": run_id, "exit_status": exit_status})

    def flush(self, timeout: float = 0) -> None:
        with self._lock:
            self._stream.flush()

    def close(self, timeout: float = 0) -> None:
        self.flush()

    def __enter__(self) -> JsonLinesAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
