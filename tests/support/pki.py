"""A test certificate authority and the server certificates it signs, as PEM files in a folder.

`make_test_pki(folder)` writes a CA (`ca.pem`, `ca-key.pem`) and one server certificate
(`server.pem`, `server-key.pem`) valid for DNS:localhost, IP:127.0.0.1, 127.0.0.2, 127.0.0.3
and ::1, for two days from an hour ago. `TestPki.issue()` signs more, for other names.

The certificates carry what strict verifiers (OpenSSL's X509_V_FLAG_X509_STRICT, Python 3.13's
default) insist on, RFC 5280 section 4.2: a critical basicConstraints and keyUsage on the CA,
subject and authority key identifiers, and on a leaf the serverAuth extended key usage and a
subjectAltName (RFC 6125: clients ignore the CN). Leaves have keys of their own, never the CA's.
Keys are ECDSA P-256: fast to make, and every client in the tests accepts them.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVER_NAMES = ("localhost", "127.0.0.1", "127.0.0.2", "127.0.0.3", "::1")
VALIDITY = datetime.timedelta(days=2)
BACKDATE = datetime.timedelta(hours=1)  # tolerate a clock a little behind


@dataclass(frozen=True)
class TestPki:
    """Paths of a test CA and of one server certificate it signed (all PEM)."""

    __test__ = False  # not a pytest test class, despite the name

    folder: Path
    ca_pem_path: Path
    ca_key_path: Path
    cert_path: Path
    key_path: Path

    def server_context(self) -> ssl.SSLContext:
        """A server-side context presenting the server certificate, HTTP/1.1 by ALPN."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        context.set_alpn_protocols(["http/1.1"])
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client-side context that trusts the test CA only."""
        return ssl.create_default_context(cafile=str(self.ca_pem_path))

    def issue(self, name: str, sans: tuple[str, ...]) -> tuple[Path, Path]:
        """Sign a server certificate for `sans` (DNS names or IP literals); returns (cert, key)."""
        ca_cert = x509.load_pem_x509_certificate(self.ca_pem_path.read_bytes())
        ca_key = serialization.load_pem_private_key(self.ca_key_path.read_bytes(), None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        cert, key = _leaf(ca_cert, ca_key, sans)
        cert_path, key_path = self.folder / f"{name}.pem", self.folder / f"{name}-key.pem"
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        _write(key_path, _key_pem(key), 0o600)
        return cert_path, key_path


def make_test_pki(folder: Path) -> TestPki:
    """Write a fresh CA and server certificate into `folder` (created if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca(ca_key)
    pki = TestPki(folder, folder / "ca.pem", folder / "ca-key.pem", folder / "server.pem",
                  folder / "server-key.pem")
    _write(pki.ca_pem_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(pki.ca_key_path, _key_pem(ca_key), 0o600)
    cert, key = _leaf(ca_cert, ca_key, SERVER_NAMES)
    _write(pki.cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(pki.key_path, _key_pem(key), 0o600)
    return pki


def _ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ringfence test CA"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ringfence tests")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(ca_cert: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
          sans: tuple[str, ...]) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, sans[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_general_name(s) for s in sans]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not cert_sign, content_commitment=False, key_encipherment=False,
                         data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
                         crl_sign=cert_sign, encipher_only=False, decipher_only=False)


def _general_name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(path, mode)  # os.open's mode is filtered by the umask
