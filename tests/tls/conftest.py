"""Fixtures for the TLS tests: a real CA in ``tmp_path``, its leaf cache, and a pump that
carries bytes between two ``TlsSession`` objects the way the proxy's transports would."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from ringfence.tls.ca import CertificateAuthority, load_or_create
from ringfence.tls.errors import TlsSessionError
from ringfence.tls.leaf import LeafCache
from ringfence.tls.session import TlsSession


@pytest.fixture
def state(tmp_path: Path) -> str:
    return str(tmp_path / "state")


@pytest.fixture
def ca(state: str) -> CertificateAuthority:
    return load_or_create(state)


@pytest.fixture
def leaves(ca: CertificateAuthority) -> LeafCache:
    return LeafCache(ca)


def trusting(ca: CertificateAuthority) -> ssl.SSLContext:
    """A client context that trusts the ringfence CA and nothing else, strict as Python 3.13's default."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode("ascii"))
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


def handshake(client: TlsSession, server: TlsSession) -> dict[str, str]:
    """Carry the handshake between the two; returns each side's failure reason, if any."""
    failures: dict[str, str] = {}
    wire = client.start()
    sides = [("server", server), ("client", client)] * 4
    for name, side in sides:
        if not wire:
            break
        try:
            side.receive(wire)
        except TlsSessionError as exc:
            failures[name] = exc.reason
        wire = side.take_output()  # after a failure too: the alert that says why
    return failures
