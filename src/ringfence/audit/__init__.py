"""The audit log: every decision of the proxy, appended to SQLite."""

from ringfence.audit.record import ConnectionRecord, Decision

__all__ = ["ConnectionRecord", "Decision"]
