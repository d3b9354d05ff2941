"""TLS contexts for termination: leaf certificates per host, and the context for upstreams.

Rules this module keeps:

- every host gets a fresh EC P-256 key of its own, never the CA's: a leaf key that leaks
  speaks for one host, for a week;
- a leaf key never touches a file system: the PEM reaches OpenSSL through an anonymous
  memory file (memfd_create(2)) opened by its ``/proc/self/fd`` path, closed at once;
- a leaf names exactly one host, normalised as the policy normalises it: a DNS name in a
  dNSName SAN, an IP literal in an iPAddress SAN (RFC 6125 §6.4: clients match the SAN;
  the CN is for people and is cut to the 64 characters RFC 5280 allows);
- a context speaks TLS 1.2 or later and offers only ``http/1.1`` by ALPN: the proxy parses
  HTTP/1.1 and nothing else;
- a context refuses a handshake whose SNI names another host than the CONNECT target
  (domain fronting) and notes the name it was asked for (``session.note_server_name``);
  a client that sends no SNI (clients of an IP literal do not) is accepted.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ringfence.policy.hosts import HostRuleError, normalize_host
from ringfence.tls.ca import CertificateAuthority
from ringfence.tls.errors import TlsError
from ringfence.tls.session import note_server_name

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    SniCallback = Callable[[ssl.SSLObject, str | None, ssl.SSLContext], int | None]

ALPN = ["http/1.1"]
_LEAF_DAYS = 7
_BACKDATE = timedelta(hours=1)  # tolerate agent clocks that run a little behind ours
_RENEW_BEFORE = 24 * 3600  # seconds before a leaf expires when its context is made anew
_CN_MAX = 64  # RFC 5280 appendix A: ub-common-name


class LeafCache:
    """Server contexts for the hosts the proxy terminates, the ``maxsize`` most recently used
    kept. Not thread-safe: one event loop owns it."""

    def __init__(self, ca: CertificateAuthority, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError(f"maxsize must be 1 or more, not {maxsize}")
        self.ca = ca
        self.maxsize = maxsize
        self._contexts: OrderedDict[str, tuple[ssl.SSLContext, float]] = OrderedDict()
        self._authority_key_id = _authority_key_id(ca)

    def context_for(self, host: str) -> ssl.SSLContext:
        """A server context presenting a leaf certificate for ``host`` (a name or an IP literal)."""
        name = _normal(host)
        now = time.time()
        entry = self._contexts.get(name)
        if entry is not None and now < entry[1]:
            self._contexts.move_to_end(name)
            return entry[0]
        context, renew_at = self._make(name, now)
        self._contexts[name] = (context, renew_at)
        self._contexts.move_to_end(name)
        if len(self._contexts) > self.maxsize:
            self._contexts.popitem(last=False)
        return context

    def _make(self, name: str, now: float) -> tuple[ssl.SSLContext, float]:
        cert, key = self._leaf(name, now)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(ALPN)
        context.sni_callback = _sni_check(name)
        pem = cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        _load_chain(context, pem, name)
        renew_at = cert.not_valid_after_utc.timestamp() - _RENEW_BEFORE
        return context, max(renew_at, now + 60)  # a CA about to expire: retry each minute, not each call

    def _leaf(self, name: str, now: float) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key()
        start = datetime.fromtimestamp(now, UTC) - _BACKDATE
        end = min(start + timedelta(days=_LEAF_DAYS), self.ca.not_after)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name[:_CN_MAX])]))
            .issuer_name(self.ca.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([_san(name)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                              data_encipherment=False, key_agreement=False, key_cert_sign=False,
                              crl_sign=False, encipher_only=False, decipher_only=False),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(self._authority_key_id, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self.ca.key, hashes.SHA256())
        )
        return cert, key


def upstream_context(extra_cas: tuple[str, ...] = ()) -> ssl.SSLContext:
    """A client context for upstreams: the system trust store plus each PEM file of
    ``extra_cas``, host names checked, TLS 1.2 or later, ALPN ``http/1.1``."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(ALPN)
    for path in extra_cas:
        try:
            context.load_verify_locations(cafile=path)
        except ssl.SSLError as exc:
            raise TlsError(f"the CA file {path} holds no PEM certificate OpenSSL can load ({exc.reason or exc})",
                           hint="give a file of PEM certificates (-----BEGIN CERTIFICATE-----)") from exc
        except OSError as exc:
            raise TlsError(f"cannot read the CA file {path}: {exc.strerror}",
                           hint="check the path and its mode") from exc
    return context


def _authority_key_id(ca: CertificateAuthority) -> x509.AuthorityKeyIdentifier:
    """RFC 5280 §4.2.1.1: the leaf's authorityKeyIdentifier is the CA's subjectKeyIdentifier."""
    try:
        ski = ca.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key())
    return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)


def _normal(host: str) -> str:
    try:
        return normalize_host(host)
    except HostRuleError as exc:
        raise TlsError(f"cannot make a TLS certificate for {host!r}: {exc}",
                       hint="the CONNECT target must be a host name or an IP address") from exc


def _san(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _sni_check(host: str) -> SniCallback:
    """The ``sni_callback`` of ``host``'s context: notes the name asked for, refuses another."""

    def check(connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext) -> int | None:
        if server_name is None:
            return None  # no SNI: clients of an IP literal send none
        try:
            asked = normalize_host(server_name)
        except HostRuleError:
            asked = server_name.lower().rstrip(".")
        if asked == host:
            note_server_name(connection, asked, None)
            return None
        note_server_name(connection, asked, f"the TLS server name {asked!r} does not match the CONNECT target {host!r}")
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME

    return check


def _load_chain(context: ssl.SSLContext, pem: bytes, name: str) -> None:
    """``load_cert_chain`` from memory: OpenSSL reads a path, the key must not be a file."""
    try:
        fd = os.memfd_create("ringfence-leaf", os.MFD_CLOEXEC)
    except OSError as exc:
        raise TlsError(f"cannot create a memory file for the certificate of {name}: {exc.strerror}",
                       hint="TLS termination needs Linux 3.17 or later (memfd_create)") from exc
    try:
        view = memoryview(pem)
        while view:
            view = view[os.write(fd, view):]
        context.load_cert_chain(f"/proc/self/fd/{fd}")
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"cannot load the certificate of {name} into OpenSSL: {exc}",
                       hint="TLS termination needs /proc mounted in the proxy's mount namespace") from exc
    finally:
        os.close(fd)
