"""The test CA signs a server certificate that real TLS clients accept for every loopback name."""

from __future__ import annotations

import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest

from tests.support.origin import Origin
from tests.support.pki import TestPki, make_test_pki


def handshake(pki: TestPki, address: tuple[str, int], server_hostname: str) -> dict[str, object]:
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with socket.socket(family) as raw:
        raw.settimeout(10)
        raw.connect(address)
        with pki.client_context().wrap_socket(raw, server_hostname=server_hostname) as tls:
            return tls.getpeercert()  # type: ignore[return-value]


@pytest.mark.parametrize(("bind", "name"), [
    ("127.0.0.1", "127.0.0.1"), ("127.0.0.1", "localhost"), ("127.0.0.2", "127.0.0.2"), ("127.0.0.3", "127.0.0.3"),
])
def test_server_certificate_verifies_for_each_loopback_name(test_pki: TestPki, bind: str, name: str) -> None:
    with Origin(test_pki, bind=bind) as origin:
        cert = handshake(test_pki, (bind, origin.port), name)
    assert ("DNS", "localhost") in cert["subjectAltName"]  # type: ignore[operator]


def test_server_certificate_verifies_over_ipv6(test_pki: TestPki) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        origin = Origin(test_pki, bind="::1")
    except OSError as error:
        pytest.skip(f"cannot listen on ::1: {error}")
    with origin:
        handshake(test_pki, ("::1", origin.port), "::1")


def test_a_name_outside_the_certificate_is_refused(test_pki: TestPki) -> None:
    with Origin(test_pki) as origin, pytest.raises(ssl.SSLCertVerificationError):
        handshake(test_pki, ("127.0.0.1", origin.port), "example.com")


def test_another_ca_is_not_trusted(test_pki: TestPki, tmp_path: Path) -> None:
    stranger = make_test_pki(tmp_path / "other")
    with Origin(test_pki) as origin, pytest.raises(ssl.SSLCertVerificationError):
        handshake(stranger, ("127.0.0.1", origin.port), "127.0.0.1")


def test_issue_signs_a_certificate_for_other_names(test_pki: TestPki, tmp_path: Path) -> None:
    cert, key = test_pki.issue("api", ("api.example.test",))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with client, server:
            server.settimeout(10)
            client.settimeout(10)
            tls_client = test_pki.client_context().wrap_socket(client, server_hostname="api.example.test",
                                                               do_handshake_on_connect=False)
            tls_server = context.wrap_socket(server, server_side=True, do_handshake_on_connect=False)
            _handshake_both(tls_client, tls_server)
            assert tls_client.getpeercert()["subjectAltName"] == (("DNS", "api.example.test"),)


def _handshake_both(client: ssl.SSLSocket, server: ssl.SSLSocket) -> None:
    thread = threading.Thread(target=server.do_handshake)
    thread.start()
    client.do_handshake()
    thread.join(10)


def test_keys_are_private_and_certificates_public(test_pki: TestPki) -> None:
    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)
    assert mode(test_pki.key_path) == mode(test_pki.ca_key_path) == 0o600
    assert mode(test_pki.cert_path) == mode(test_pki.ca_pem_path) == 0o644
    assert mode(test_pki.folder) & 0o005 == 0o005  # others can reach the CA file
