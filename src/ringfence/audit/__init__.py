"""The audit log: every decision of the proxy, appended to SQLite.

The command line imports this package on every start, so the store, the queries and the
renderers (and with them sqlite3 and threading) load on first use, not here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time


if TYPE_CHECKING:
    from ringfence.audit.record import AuditRow, ConnectionRecord, Decision
    from ringfence.audit.queries import parse_since, query
    from ringfence.audit.render import render_json_lines, render_table
    from ringfence.audit.store import AuditLog

__all__ = [
    "AuditLog",
    "AuditRow",
    "ConnectionRecord",
    "Decision",
    "parse_since",
    "query",
    "render_json_lines",
    "render_table",
]

_LAZY = {
    "AuditRow": "record",
    "ConnectionRecord": "record",
    "Decision": "record",
    "AuditLog": "store",
    "query": "queries",
    "parse_since": "queries",
    "render_table": "render",
    "render_json_lines": "render",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
