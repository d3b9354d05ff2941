"""The errors of TLS termination.

``TlsError`` is a set-up failure (the CA, a leaf, a CA file for upstreams): the message
names the file and the fix. ``TlsSessionError`` is one connection's handshake or record
failure, caused by the peer: its ``reason`` is a sentence for an HTTP 502 body and the
audit log.
"""

from __future__ import annotations

from ringfence.errors import RingfenceError


class TlsError(RingfenceError):
    """The CA, a leaf certificate or a TLS context could not be set up."""


class TlsSessionError(TlsError):
    """One TLS connection failed (handshake, certificate, record, server name)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
