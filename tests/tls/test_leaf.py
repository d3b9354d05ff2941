"""Leaf certificates: verified by a client that trusts only the CA, one key per host, cached,
and the client context for upstreams."""

from __future__ import annotations

import os
import ssl
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID

from ringfence.tls.ca import CertificateAuthority
from ringfence.tls.errors import TlsError
from ringfence.tls.leaf import LeafCache, upstream_context
from ringfence.tls.session import TlsSession

from .conftest import handshake, trusting


def presented(context: ssl.SSLContext, server_hostname: str | None) -> x509.Certificate:
    """The certificate a server with ``context`` presents (the client verifies nothing)."""
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client.check_hostname = False
    client.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = client.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    server = TlsSession(context, server_side=True)
    for _ in range(4):
        try:
            conn.do_handshake()
            break
        except ssl.SSLWantReadError:
            server.receive(outgoing.read())
            incoming.write(server.take_output())
    der = conn.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def _spki(public: object) -> bytes:
    der = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)  # type: ignore[attr-defined]
    return bytes(der)


@pytest.mark.parametrize("host", ["example.com", "api.sub.example.org", "127.0.0.1", "::1", "10.1.2.3"])
def test_a_client_trusting_only_the_ca_verifies_the_leaf(leaves: LeafCache, ca: CertificateAuthority,
                                                          host: str) -> None:
    server = TlsSession(leaves.context_for(host), server_side=True)
    client = TlsSession(trusting(ca), server_side=False, server_hostname=host)
    assert handshake(client, server) == {}
    assert client.handshake_done and server.handshake_done
    assert client.alpn == server.alpn == "http/1.1"


def test_the_leaf_fails_for_another_name(leaves: LeafCache, ca: CertificateAuthority) -> None:
    context = leaves.context_for("example.com")
    context.sni_callback = None  # let the handshake reach the client's name check
    client = TlsSession(trusting(ca), server_side=False, server_hostname="example.net")
    failures = handshake(client, TlsSession(context, server_side=True))
    assert "could not be verified" in failures["client"] and "example.net" in failures["client"]


def test_an_ip_leaf_fails_for_another_address(leaves: LeafCache, ca: CertificateAuthority) -> None:
    client = TlsSession(trusting(ca), server_side=False, server_hostname="127.0.0.2")
    failures = handshake(client, TlsSession(leaves.context_for("127.0.0.1"), server_side=True))
    assert "the certificate of 127.0.0.2 could not be verified" in failures["client"]


def test_a_client_without_the_ca_refuses_the_leaf(leaves: LeafCache) -> None:
    client = TlsSession(ssl.create_default_context(), server_side=False, server_hostname="example.com")
    failures = handshake(client, TlsSession(leaves.context_for("example.com"), server_side=True))
    assert "unable to get local issuer certificate" in failures["client"]


@pytest.mark.parametrize(
    ("host", "name", "san"),
    [
        ("Example.COM.", "example.com", x509.DNSName("example.com")),
        ("[::1]", "::1", x509.IPAddress(ip_address("::1"))),
        ("192.0.2.7", "192.0.2.7", x509.IPAddress(ip_address("192.0.2.7"))),
        ("bücher.example", "xn--bcher-kva.example", x509.DNSName("xn--bcher-kva.example")),
    ],
)
def test_leaf_names_the_host_once(leaves: LeafCache, ca: CertificateAuthority, host: str, name: str,
                                  san: x509.GeneralName) -> None:
    cert = presented(leaves.context_for(host), None)
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [san]
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == name
    assert cert.issuer == ca.cert.subject


def test_leaf_extensions_and_validity(leaves: LeafCache, ca: CertificateAuthority) -> None:
    cert = presented(leaves.context_for("example.com"), "example.com")
    ext = cert.extensions
    assert list(ext.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    basic = ext.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and not basic.value.ca
    ca_ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier == ca_ski
    now = datetime.now(UTC)
    assert timedelta(minutes=55) < now - cert.not_valid_before_utc < timedelta(minutes=65)
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=7)


def test_cn_is_cut_to_64_characters_but_the_san_is_whole(leaves: LeafCache) -> None:
    host = ".".join(["a" * 60, "b" * 60, "example"])
    cert = presented(leaves.context_for(host), host)
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == host[:64]
    assert list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == [x509.DNSName(host)]


def test_every_host_has_its_own_key(leaves: LeafCache, ca: CertificateAuthority) -> None:
    one = presented(leaves.context_for("one.example"), "one.example")
    two = presented(leaves.context_for("two.example"), "two.example")
    keys = {_spki(one.public_key()), _spki(two.public_key()), _spki(ca.key.public_key())}
    assert len(keys) == 3
    assert one.serial_number != two.serial_number


def test_contexts_are_cached_by_normalised_name(leaves: LeafCache) -> None:
    context = leaves.context_for("example.com")
    assert leaves.context_for("example.com") is context
    assert leaves.context_for("EXAMPLE.com.") is context
    assert leaves.context_for("example.org") is not context


def test_the_cache_forgets_the_least_recently_used(ca: CertificateAuthority) -> None:
    cache = LeafCache(ca, maxsize=2)
    a, b = cache.context_for("a.example"), cache.context_for("b.example")
    assert cache.context_for("a.example") is a  # a is now the most recent
    cache.context_for("c.example")
    assert cache.context_for("a.example") is a
    assert cache.context_for("b.example") is not b


def test_making_leaves_leaks_no_file_descriptor(leaves: LeafCache) -> None:
    leaves.context_for("warm.example")
    before = len(os.listdir("/proc/self/fd"))
    for i in range(20):
        leaves.context_for(f"host{i}.example")
    assert len(os.listdir("/proc/self/fd")) == before


def test_the_server_context_needs_tls_1_2_and_picks_http_1_1(leaves: LeafCache, ca: CertificateAuthority) -> None:
    # OpenSSL 3 no longer lets a client offer TLS 1.1 at the default security level, so
    # the floor is checked on the context; the ALPN choice by a client that prefers h2
    context = leaves.context_for("example.com")
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    server = TlsSession(context, server_side=True)
    assert handshake(TlsSession(trusting(ca), server_side=False, server_hostname="example.com"), server) == {}
    assert server.alpn == "http/1.1"


@pytest.mark.parametrize("host", ["", "bad host", "a..b", "-x.example"])
def test_a_host_that_is_no_host_is_refused(leaves: LeafCache, host: str) -> None:
    with pytest.raises(TlsError, match="cannot make a TLS certificate"):
        leaves.context_for(host)


def test_upstream_context_verifies_names_with_tls_1_2_or_later() -> None:
    context = upstream_context()
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert context.cert_store_stats()["x509_ca"] > 0  # the system roots


def test_upstream_context_adds_extra_cas(leaves: LeafCache, ca: CertificateAuthority) -> None:
    client = TlsSession(upstream_context((ca.path,)), server_side=False, server_hostname="example.com")
    assert handshake(client, TlsSession(leaves.context_for("example.com"), server_side=True)) == {}
    assert client.alpn == "http/1.1"


def test_upstream_context_names_a_bad_ca_file(tmp_path: os.PathLike[str]) -> None:
    bad = os.path.join(tmp_path, "bad.pem")
    with open(bad, "w") as fh:
        fh.write("not a certificate\n")
    with pytest.raises(TlsError, match=f"the CA file {bad} holds no PEM certificate"):
        upstream_context((bad,))
    missing = os.path.join(tmp_path, "missing.pem")
    with pytest.raises(TlsError, match=f"cannot read the CA file {missing}"):
        upstream_context((missing,))
