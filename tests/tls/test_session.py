"""TlsSession: real TLS over memory buffers, between two sessions and against Python's own
``ssl`` sockets on localhost; failures carry a reason a person can read."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from ringfence.tls.ca import CertificateAuthority
from ringfence.tls.errors import TlsSessionError
from ringfence.tls.leaf import LeafCache, upstream_context
from ringfence.tls.session import PENDING_MAX, SNI_NOTE, TlsSession

from .conftest import handshake, trusting

BIG = 5 * 1024 * 1024 + 3


@pytest.fixture
def pair(leaves: LeafCache, ca: CertificateAuthority) -> tuple[TlsSession, TlsSession]:
    """(client, server) after a completed handshake for example.com."""
    client = TlsSession(trusting(ca), server_side=False, server_hostname="example.com")
    server = TlsSession(leaves.context_for("example.com"), server_side=True)
    assert handshake(client, server) == {}
    return client, server


def test_handshake_reports_name_and_protocol(pair: tuple[TlsSession, TlsSession]) -> None:
    client, server = pair
    assert client.handshake_done and server.handshake_done
    assert server.server_name == "example.com"
    assert client.alpn == server.alpn == "http/1.1"
    assert not client.peer_closed and not server.peer_closed


def test_data_flows_both_ways(pair: tuple[TlsSession, TlsSession]) -> None:
    client, server = pair
    assert server.receive(client.send(b"GET / HTTP/1.1\r\n\r\n")) == b"GET / HTTP/1.1\r\n\r\n"
    assert client.receive(server.send(b"HTTP/1.1 200 OK\r\n\r\n")) == b"HTTP/1.1 200 OK\r\n\r\n"


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_5_mb_payload_crosses_in_one_go(pair: tuple[TlsSession, TlsSession], direction: str) -> None:
    client, server = pair
    sender, receiver = (client, server) if direction == "up" else (server, client)
    payload = os.urandom(BIG)
    ciphertext = sender.send(payload)
    assert len(ciphertext) > BIG
    assert receiver.receive(ciphertext) == payload


def test_a_payload_in_small_pieces(pair: tuple[TlsSession, TlsSession]) -> None:
    client, server = pair
    payload = os.urandom(300_000)
    ciphertext = client.send(payload)
    got = b"".join(server.receive(ciphertext[i:i + 1000]) for i in range(0, len(ciphertext), 1000))
    assert got == payload


def test_data_sent_during_the_handshake_follows_it(leaves: LeafCache, ca: CertificateAuthority) -> None:
    client = TlsSession(trusting(ca), server_side=False, server_hostname="example.com")
    server = TlsSession(leaves.context_for("example.com"), server_side=True)
    assert server.start() == b""
    hello = client.start()
    assert client.send(b"early request") == b""
    server.receive(hello)
    assert client.receive(server.take_output()) == b""
    assert client.handshake_done
    assert server.receive(client.take_output()) == b"early request"


def test_too_much_data_before_the_handshake_is_refused(ca: CertificateAuthority) -> None:
    client = TlsSession(trusting(ca), server_side=False, server_hostname="example.com")
    client.send(b"x" * PENDING_MAX)
    with pytest.raises(TlsSessionError, match="before the TLS handshake with example.com completed"):
        client.send(b"x")


def test_close_notify_is_the_peer_closing(pair: tuple[TlsSession, TlsSession]) -> None:
    client, server = pair
    final = client.send(b"last words") + client.close()
    assert server.receive(final) == b"last words"
    assert server.peer_closed
    assert client.receive(server.close()) == b""
    assert client.peer_closed


def test_a_ragged_eof_after_the_handshake_is_the_peer_closing(pair: tuple[TlsSession, TlsSession]) -> None:
    client, server = pair
    assert server.receive(client.send(b"tail")) == b"tail"
    assert server.receive(b"") == b""
    assert server.peer_closed
    with pytest.raises(ValueError, match="after the transport's EOF"):
        server.receive(b"more")


def test_eof_during_the_handshake(leaves: LeafCache, ca: CertificateAuthority) -> None:
    server = TlsSession(leaves.context_for("example.com"), server_side=True)
    client = TlsSession(trusting(ca), server_side=False, server_hostname="example.com")
    server.receive(client.start())
    with pytest.raises(TlsSessionError) as info:
        server.receive(b"")
    assert info.value.reason == "the agent closed the connection during the TLS handshake"
    with pytest.raises(TlsSessionError, match="example.com closed the connection during the TLS handshake"):
        client.receive(b"")


def test_an_sni_other_than_the_connect_target_fails(leaves: LeafCache, ca: CertificateAuthority) -> None:
    server = TlsSession(leaves.context_for("api.example.com"), server_side=True)
    client = TlsSession(trusting(ca), server_side=False, server_hostname="Evil.Example.")
    failures = handshake(client, server)
    assert failures["server"] == ("the TLS server name 'evil.example' does not match "
                                  "the CONNECT target 'api.example.com'")
    assert "unrecognized name" in failures["client"]
    assert server.server_name == "evil.example" and not server.handshake_done


def test_no_sni_is_accepted(leaves: LeafCache, ca: CertificateAuthority) -> None:
    server = TlsSession(leaves.context_for("192.0.2.1"), server_side=True)
    client = TlsSession(trusting(ca), server_side=False, server_hostname="192.0.2.1")  # no SNI for IP literals
    assert handshake(client, server) == {}
    assert server.server_name is None


def test_an_upstream_that_cannot_be_verified_is_named(leaves: LeafCache) -> None:
    upstream = TlsSession(leaves.context_for("api.example.com"), server_side=True)
    proxy = TlsSession(upstream_context(), server_side=False, server_hostname="api.example.com")
    failures = handshake(proxy, upstream)
    assert failures["client"] == ("the certificate of api.example.com could not be verified: "
                                  "unable to get local issuer certificate")
    # the upstream (here: our own leaf) learns why from the alert
    assert "unknown ca" in failures["server"] and "ringfence ca show" in failures["server"]


def test_an_agent_speaking_plain_http_fails_the_handshake(leaves: LeafCache) -> None:
    server = TlsSession(leaves.context_for("example.com"), server_side=True)
    with pytest.raises(TlsSessionError) as info:
        server.receive(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
    assert info.value.reason.startswith("the agent's TLS handshake failed: ")


# ---- through real sockets, against Python's ssl module ----


@contextlib.contextmanager
def _serving(handler: Callable[[socket.socket], None]) -> Iterator[tuple[int, list[BaseException]]]:
    listener = socket.create_server(("127.0.0.1", 0))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            conn, _ = listener.accept()
            conn.settimeout(30)
            with conn:
                handler(conn)
        except Exception as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield listener.getsockname()[1], errors
    thread.join(timeout=30)
    listener.close()
    assert not thread.is_alive()


def _echo_upper(session: TlsSession, conn: socket.socket) -> None:
    """Serve TLS with ``session`` on ``conn``: each plaintext piece comes back in upper case."""
    while True:
        data = conn.recv(256 * 1024)
        plain = session.receive(data)
        out = session.take_output()
        if plain:
            out += session.send(plain.upper())
        if session.peer_closed or not data:
            out += session.close()
        if out:
            conn.sendall(out)
        if session.peer_closed or not data:
            return


def test_a_python_ssl_client_talks_to_a_session(leaves: LeafCache, ca: CertificateAuthority) -> None:
    session = TlsSession(leaves.context_for("localhost"), server_side=True)
    payload = os.urandom(BIG).hex().encode()[:BIG]  # lower-case hex: upper() changes it
    with (
        _serving(lambda conn: _echo_upper(session, conn)) as (port, errors),
        socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
        trusting(ca).wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"
        got = bytearray()
        for i in range(0, len(payload), 64 * 1024):
            piece = payload[i:i + 64 * 1024]
            tls.sendall(piece)
            while len(got) < i + len(piece):
                got += tls.recv(256 * 1024)
        assert bytes(got) == payload.upper()
        tls.unwrap()  # close_notify both ways
    assert errors == []
    assert session.server_name == "localhost" and session.peer_closed


def test_a_session_talks_to_a_python_ssl_server(leaves: LeafCache, ca: CertificateAuthority) -> None:
    body = os.urandom(BIG)
    seen: list[object] = []

    def serve(conn: socket.socket) -> None:
        with leaves.context_for("localhost").wrap_socket(conn, server_side=True) as tls:
            seen.append(getattr(tls, SNI_NOTE, None))
            assert tls.recv(1024) == b"GET / HTTP/1.1\r\n\r\n"
            tls.sendall(body)
            tls.unwrap()

    with _serving(serve) as (port, errors):
        session = TlsSession(upstream_context((ca.path,)), server_side=False, server_hostname="localhost")
        got = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(session.start())
            session.send(b"GET / HTTP/1.1\r\n\r\n")  # sent once the handshake completes
            while not session.peer_closed:
                data = sock.recv(256 * 1024)
                got += session.receive(data)
                sock.sendall(session.take_output())
                if not data:
                    break
            sock.sendall(session.close())
    assert errors == []
    assert session.alpn == "http/1.1"
    assert bytes(got) == body and session.peer_closed
    assert seen == [("localhost", None)]
