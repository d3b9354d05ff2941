"""Audit records as text: an aligned table for people, JSON lines for programs.

Pure functions that return strings; only ``cli`` prints them. Hosts and paths come from
the agent, so the table shows their control characters escaped: a record must not be
able to move the cursor or recolour the terminal of the person reading the log.

The table has a CREDENTIAL column (the name of the credential the proxy injected) only when
one of its rows has one: most policies inject none, and their log stays as narrow as it was.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from ringfence.audit.record import AuditRow

_HEADERS = (
    "TIME", "RUN", "PROTO", "HOST:PORT", "DECISION", "RULE", "CREDENTIAL", "REQUEST", "STATUS", "UP", "DOWN", "MS"
)
_OPTIONAL = "CREDENTIAL"
_RIGHT_ALIGNED = frozenset({"STATUS", "UP", "DOWN", "MS"})
_SHORT_RUN_ID = 8
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def render_table(rows: Sequence[AuditRow]) -> str:
    """One header line and one line per row, columns aligned, ending in a newline."""
    lines = [_HEADERS, *(_cells(row) for row in rows)]
    if not any(row["credential"] for row in rows):
        drop = _HEADERS.index(_OPTIONAL)
        lines = [line[:drop] + line[drop + 1 :] for line in lines]
    headers = lines[0]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "".join(_join(line, widths, headers) + "\n" for line in lines)


def render_json_lines(rows: Sequence[AuditRow]) -> str:
    """One JSON object per row and line, every column, time as ISO 8601 UTC."""
    return "".join(json.dumps({**row, "time": iso_utc(row["time"])}) + "\n" for row in rows)


def iso_utc(unix_time: float) -> str:
    """``2024-05-01T12:00:00.250000Z``"""
    moment = datetime.fromtimestamp(unix_time, tz=UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def human_bytes(count: int) -> str:
    """``512 B``, ``1.5 KiB``, ``3.0 MiB``: binary units, one decimal above bytes."""
    size = float(count)
    for unit in _UNITS:
        if size < 1024 or unit == _UNITS[-1]:
            break
        size /= 1024
    return f"{count} B" if unit == "B" else f"{size:.1f} {unit}"


def _cells(row: AuditRow) -> tuple[str, ...]:
    request = f"{row['method']} {row['path']}".strip()
    return (
        time.strftime("%H:%M:%S", time.localtime(row["time"])),
        _printable(row["run_id"][:_SHORT_RUN_ID]),
        _printable(row["protocol"]),
        _printable(_host_port(row["host"], row["port"])),
        row["decision"],
        _printable(row["rule"]) or "-",
        _printable(row["credential"]) or "-",
        _printable(request) or "-",
        str(row["status"]) if row["status"] else "-",
        human_bytes(row["bytes_up"]),
        human_bytes(row["bytes_down"]),
        f"{row['duration_ms']:.1f}",
    )


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _printable(text: str) -> str:
    """``text`` with every non-printable character (ESC, CR, bidi overrides) escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _join(cells: tuple[str, ...], widths: list[int], headers: tuple[str, ...]) -> str:
    padded = (
        cell.rjust(width) if header in _RIGHT_ALIGNED else cell.ljust(width)
        for cell, width, header in zip(cells, widths, headers)
    )
    return "  ".join(padded).rstrip()


_RUN_HEADERS = ("STARTED", "RUN", "BACKEND", "EXIT", "SECONDS", "DEGRADED", "COMMAND")


def render_runs_table(runs: Sequence[dict[str, object]]) -> str:
    """One line per run; a degraded run (``--allow-degraded``) says what it ran without,
    one indented line each, so that nobody reads it as a fully protected run."""
    lines: list[tuple[str, ...]] = [_RUN_HEADERS]
    notes: dict[int, list[str]] = {}
    for run in runs:
        started, ended = float(run["started"]), run["ended"]  # type: ignore[arg-type]
        status = run["exit_status"]
        degraded = [str(d) for d in run["degraded"]]  # type: ignore[attr-defined]
        lines.append((
            time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
            _printable(str(run["run_id"])[:_SHORT_RUN_ID * 2]),
            _printable(str(run["backend"])),
            "-" if status is None else str(status),
            "-" if ended is None else f"{float(ended) - started:.1f}",  # type: ignore[arg-type]
            f"yes ({len(degraded)})" if degraded else "no",
            _printable(str(run["command"]))[:80],
        ))
        if degraded:
            notes[len(lines) - 1] = degraded
    widths = [max(len(line[i]) for line in lines) for i in range(len(_RUN_HEADERS))]
    out = []
    for number, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() + "\n")
        out += [f"    without: {_printable(note)}\n" for note in notes.get(number, [])]
    return "".join(out)


def render_runs_json_lines(runs: Sequence[dict[str, object]]) -> str:
    """One JSON object per run, times as ISO 8601 UTC."""
    return "".join(json.dumps({**run, "started": iso_utc(float(run["started"])),  # type: ignore[arg-type]
                               "ended": None if run["ended"] is None else iso_utc(float(run["ended"]))})  # type: ignore[arg-type]
                   + "\n" for run in runs)
