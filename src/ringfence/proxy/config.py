"""The proxy's configuration and the audit sink it reports to (no asyncio here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ringfence.audit.record import ConnectionRecord
from ringfence.policy.hosts import HostRules


class AuditSink(Protocol):
    """Receives one record per decision. Called on the proxy's event loop: it must not block
    (queue the record and write it elsewhere)."""

    def record(self, rec: ConnectionRecord) -> None: ...


@dataclass(frozen=True)
class ProxyConfig:
    rules: HostRules
    run_id: str
    command: str = ""
    connect_timeout: float = 10.0  # seconds for resolving plus connecting to an upstream
    idle_timeout: float = 300.0  # seconds without a byte before a non-tunnel connection is dropped
