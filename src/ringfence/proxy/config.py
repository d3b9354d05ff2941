"""The proxy's configuration and the audit sink it reports to (no asyncio here)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ringfence.audit.record import ConnectionRecord
from ringfence.policy.hosts import HostRules

if TYPE_CHECKING:
    import ssl

    from ringfence.proxy.inspect import Inspector


class AuditSink(Protocol):
    """Receives one record per decision. Called on the proxy's event loop: it must not block
    (queue the record and write it elsewhere)."""

    def record(self, rec: ConnectionRecord) -> None: ...


class TlsProvider(Protocol):
    """Where a terminating proxy gets its TLS contexts (``ringfence.tls`` implements it)."""

    def leaf(self, host: str) -> ssl.SSLContext: ...  # server side, a certificate for ``host``

    def upstream(self) -> ssl.SSLContext: ...  # client side, verifying the origin


@dataclass(frozen=True)
class ProxyConfig:
    rules: HostRules
    run_id: str
    command: str = ""
    connect_timeout: float = 10.0  # seconds for resolving plus connecting to an upstream
    idle_timeout: float = 300.0  # seconds without a byte before a non-tunnel connection is dropped
    inspector: Inspector | None = None  # credentials, request rules, rates, leak guard, gateways
    tls: TlsProvider | None = None  # required when the inspector terminates any host
    gateway_port: int = 0  # the listener's port as the agent sees it (gateways by absolute-form URL)
