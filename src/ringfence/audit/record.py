"""One audit record: a connection (or request) decision of the proxy, or a run's start/end.

A record never holds a query-string value, a header value or a secret: only the host, the
port, the method, the path without its query and the name (never the value) of a credential
the proxy injected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TypedDict


class Decision(Enum):
    ALLOW = "allow"
    DENY = "deny"
    ERROR = "error"  # allowed, but the upstream could not be reached or the peer broke protocol


@dataclass(frozen=True)
class ConnectionRecord:
    """What the proxy decided about one connection attempt or one forwarded request."""

    time: float  # Unix time the decision was made
    run_id: str
    command: str  # the sandboxed command line (argv joined), "" for a standalone proxy
    # "http" (plain proxy request), "https" (a request inside a TLS connection the proxy
    # terminated), "gateway" (a request to a plain-HTTP base-URL gateway), "connect" (a
    # CONNECT tunnel it relays as bytes), "socks5"; the store and the renderers take any string.
    protocol: str
    host: str
    port: int
    decision: Decision
    rule: str  # the policy rule that decided, or "" (default deny)
    reason: str = ""  # one sentence for a person; never contains a secret
    method: str = ""  # HTTP method of a forwarded request
    path: str = ""  # request path without its query string
    status: int = 0  # HTTP status returned to the agent (0 for tunnels and SOCKS)
    bytes_up: int = 0  # agent -> upstream payload bytes
    bytes_down: int = 0  # upstream -> agent payload bytes
    duration_ms: float = 0.0
    # Last and defaulted, so a record built without it (positionally, in proxy.flow) stays valid.
    credential: str = ""  # the name of the credential injected into the request, never its value


class AuditRow(TypedDict):
    """One stored connection record as queries return it: the fields above, plus ``id``."""

    id: int
    time: float
    run_id: str
    command: str
    protocol: str
    host: str
    port: int
    decision: str  # a Decision value
    rule: str
    reason: str
    method: str
    path: str
    status: int
    bytes_up: int
    bytes_down: int
    duration_ms: float
    credential: str  # "" when none was injected (and for every record of a version-1 log)
