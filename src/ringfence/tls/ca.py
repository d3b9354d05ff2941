"""ringfence's own certificate authority, and the trust bundle sandboxed programs get.

The proxy terminates TLS for some hosts with leaf certificates this CA signs (``leaf``).
Everything lives in the state folder, which every sandbox hides::

    <state>/ca/ca.pem        the CA certificate (public)
    <state>/ca/ca.key        its private key: 0600, never leaves this folder
    <state>/ca/bundle.pem    the system roots followed by ca.pem: 0644, what a sandbox trusts
    <state>/ca/old/<time>/   certificates and keys that ``rotate`` replaced

Rules this module keeps:

- the folder is 0700 and the key 0600 from its first byte: files are written to a
  temporary file created 0600 in the same folder, fsynced and renamed over (rename(2)), so
  no reader ever sees a partial file or a key with wider permissions;
- a key file that anyone but its owner can access is refused (fail closed), and so is a
  key that does not belong to the certificate;
- creating and rotating hold an exclusive lock (flock(2) on ``ca/.lock``) and loading a
  shared one, so two runs starting at once never pair one's key with the other's
  certificate;
- importing this module and ``ensure_bundle`` on an existing CA load nothing heavy:
  ``cryptography`` is imported only to create, rotate or load the CA (start-up time is a
  feature).
"""

from __future__ import annotations

import os
import stat

from ringfence._struct import record
from ringfence.tls.errors import TlsError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from datetime import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

    CAKey = EllipticCurvePrivateKey | RSAPrivateKey

CA_FOLDER = "ca"
CERT_FILE = "ca.pem"
KEY_FILE = "ca.key"
BUNDLE_FILE = "bundle.pem"
OLD_FOLDER = "old"
_LOCK_FILE = ".lock"
# Where distributions keep their PEM roots: Debian/Ubuntu/Alpine/Arch, Fedora/RHEL, macOS-like.
SYSTEM_ROOTS = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem")

_VALIDITY_DAYS = 730
_BACKDATE_SECONDS = 3600  # tolerate clocks that run a little behind ours
_ROTATE_HINT = "run `ringfence ca rotate` for a new CA (programs that trusted the old one must then trust the new one)"


@record
class CertificateAuthority:
    """A loaded CA: its certificate, what a person checks about it, and the signing key."""

    path: str  # the certificate file
    cert_pem: bytes
    fingerprint_sha256: str  # upper-case hex pairs joined by colons, as ``openssl x509 -fingerprint`` prints
    subject: str  # RFC 4514 form
    not_before: datetime
    not_after: datetime
    cert: x509.Certificate
    key: CAKey


def ca_cert_path(state_dir: str) -> str:
    """Where the CA certificate of ``state_dir`` lives (whether or not it exists yet)."""
    return os.path.join(state_dir, CA_FOLDER, CERT_FILE)


def load_or_create(state_dir: str) -> CertificateAuthority:
    """The CA of ``state_dir``, created on first use; raises ``TlsError`` for a broken one."""
    folder = _prepare_folder(state_dir)
    with _Lock(folder, exclusive=False):
        if _any_exists(folder):
            return _load(folder)
    with _Lock(folder, exclusive=True):
        if _any_exists(folder):  # another process created it while we waited
            return _load(folder)
        authority = _install(folder, *_generate())
        _write_bundle(folder)
        return authority


def rotate(state_dir: str) -> CertificateAuthority:
    """A new CA key and certificate; the old ones move to ``ca/old/<time>/``; the bundle is rebuilt.

    Works whatever state the old CA is in: it is the fix for a corrupt or exposed key.
    """
    folder = _prepare_folder(state_dir)
    material = _generate()
    with _Lock(folder, exclusive=True):
        _retire(folder)
        authority = _install(folder, *material)
        _write_bundle(folder)
        return authority


def ensure_bundle(state_dir: str) -> str:
    """The path of ``ca/bundle.pem``: the system roots followed by the CA certificate.

    Rebuilt only when missing or older than either input; the CA is created only when it
    does not exist yet. On the usual path this costs a few ``stat`` calls and imports nothing.
    """
    folder = os.path.join(state_dir, CA_FOLDER)
    cert_path = os.path.join(folder, CERT_FILE)
    try:
        newest = _mtime(cert_path)
        _mtime(os.path.join(folder, KEY_FILE))
    except FileNotFoundError:
        load_or_create(state_dir)  # creates it, or explains a half-present CA
        newest = _mtime(cert_path)
    roots = _system_roots()
    if roots is not None:
        newest = max(newest, _mtime(roots))
    bundle = os.path.join(folder, BUNDLE_FILE)
    try:
        fresh = _mtime(bundle) >= newest
    except FileNotFoundError:
        fresh = False
    if not fresh:
        _write_bundle(folder)
    return bundle


# ---- the folder and its files ----


def _prepare_folder(state_dir: str) -> str:
    folder = os.path.join(state_dir, CA_FOLDER)
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(folder)
        if not stat.S_ISDIR(st.st_mode):
            raise TlsError(f"the CA folder {folder} is not a folder",
                           hint=f"move it away; ringfence recreates {folder}")
        if stat.S_IMODE(st.st_mode) != 0o700:
            os.chmod(folder, 0o700)  # the key's folder is its owner's alone, whatever the umask
    except OSError as exc:
        raise TlsError(f"cannot create the CA folder {folder}: {exc.strerror}",
                       hint=f"check that {state_dir} is yours and writable") from exc
    return folder


def _any_exists(folder: str) -> bool:
    return any(os.path.lexists(os.path.join(folder, name)) for name in (CERT_FILE, KEY_FILE))


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TlsError(f"cannot read {path}: {exc.strerror}", hint="check its owner and mode") from exc


def _system_roots() -> str | None:
    for path in SYSTEM_ROOTS:
        if os.path.exists(path):
            return path
    return None


class _Lock:
    """flock(2) on ``ca/.lock`` for the duration of a ``with`` block."""

    def __init__(self, folder: str, *, exclusive: bool) -> None:
        self.path = os.path.join(folder, _LOCK_FILE)
        self.exclusive = exclusive
        self.fd = -1

    def __enter__(self) -> None:
        import fcntl

        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(self.fd, fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
        except OSError as exc:
            if self.fd >= 0:
                os.close(self.fd)
            raise TlsError(f"cannot lock {self.path}: {exc.strerror}",
                           hint="check that the CA folder is yours") from exc

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)  # closing releases the lock


def _write_atomic(path: str, data: bytes, mode: int) -> None:
    """Replace ``path`` with ``data``, durably (``ringfence._files.write_atomic``): created 0600
    whatever the final mode, so the key is never readable by others, not even while it is
    being written; the public files are widened only before the rename."""
    from ringfence._files import write_atomic

    try:
        write_atomic(path, data, mode, sync_folder=True)
    except OSError as exc:
        raise TlsError(f"cannot write {path}: {exc.strerror}",
                       hint=f"check that {os.path.dirname(path)} is yours, writable and not full") from exc


def _fsync_folder(folder: str) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)  # makes the rename itself durable (fsync(2): "also needs an explicit fsync on the directory")
    finally:
        os.close(fd)


def _write_bundle(folder: str) -> None:
    parts = []
    roots = _system_roots()
    if roots is not None:
        parts.append(_read(roots, what="the system CA roots"))
    parts.append(_read(os.path.join(folder, CERT_FILE), what="the CA certificate"))
    data = b"".join(p if p.endswith(b"\n") else p + b"\n" for p in parts)
    _write_atomic(os.path.join(folder, BUNDLE_FILE), data, 0o644)


def _read(path: str, *, what: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror}", hint="check its owner and mode") from exc


def _read_key(path: str) -> bytes:
    """The key file's bytes, refused unless it is a regular file only its owner can access."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        raise TlsError(f"cannot open the CA key {path}: {exc.strerror}",
                       hint=f"it must be a regular file you own (not a link); or {_ROTATE_HINT}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TlsError(f"the CA key {path} is not a regular file", hint=_ROTATE_HINT)
        if st.st_mode & 0o077:
            raise TlsError(
                f"the CA key {path} is accessible to other users (mode {stat.S_IMODE(st.st_mode):04o}): "
                "refusing to use it",
                hint=f"chmod 600 {path}; if someone else may have read it, also {_ROTATE_HINT}",
            )
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise TlsError(f"cannot read the CA key {path}: {exc.strerror}", hint=_ROTATE_HINT) from exc
    finally:
        os.close(fd)


# ---- certificates (cryptography is imported from here on) ----


def _load(folder: str) -> CertificateAuthority:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    cert_path = os.path.join(folder, CERT_FILE)
    key_path = os.path.join(folder, KEY_FILE)
    for path in (cert_path, key_path):
        if not os.path.lexists(path):
            raise TlsError(f"the CA in {folder} is incomplete: {path} is missing", hint=_ROTATE_HINT)
    cert_pem = _read(cert_path, what="the CA certificate")
    key_pem = _read_key(key_path)
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise TlsError(f"the CA certificate {cert_path} is not a PEM certificate", hint=_ROTATE_HINT) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise TlsError(f"the CA key {key_path} is not an unencrypted PEM private key (corrupt?)",
                       hint=_ROTATE_HINT) from None
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise TlsError(f"the CA key {key_path} is neither an EC nor an RSA key", hint=_ROTATE_HINT)
    _check(cert, key, cert_path, key_path)
    return _authority(cert_path, cert, key)


def _check(cert: x509.Certificate, key: CAKey, cert_path: str, key_path: str) -> None:
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        raise TlsError(f"the CA key {key_path} does not belong to the certificate {cert_path}", hint=_ROTATE_HINT)
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise TlsError(f"{cert_path} is not a CA certificate (no basicConstraints CA:TRUE)", hint=_ROTATE_HINT)
    if cert.not_valid_after_utc <= datetime.now(UTC):
        raise TlsError(f"the CA certificate {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}",
                       hint=_ROTATE_HINT)


def _authority(cert_path: str, cert: x509.Certificate, key: CAKey) -> CertificateAuthority:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.serialization import Encoding

    return CertificateAuthority(
        path=cert_path,
        cert_pem=cert.public_bytes(Encoding.PEM),
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        subject=cert.subject.rfc4514_string(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert=cert,
        key=key,
    )


def _generate() -> tuple[x509.Certificate, CAKey]:
    """A fresh EC P-256 key and its self-signed CA certificate (nothing written)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ringfence"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"ringfence CA {os.urandom(4).hex()}"),
    ])
    start = datetime.now(UTC) - timedelta(seconds=_BACKDATE_SECONDS)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=_VALIDITY_DAYS))
        # RFC 5280 §4.2.1.9: a CA that signs end-entity certificates only; §4.2.1.3: it
        # signs certificates (and CRLs), nothing else
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _install(folder: str, cert: x509.Certificate, key: CAKey) -> CertificateAuthority:
    """Write ``key`` then ``cert`` into ``folder`` (the caller holds the exclusive lock)."""
    from cryptography.hazmat.primitives import serialization

    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_path = os.path.join(folder, CERT_FILE)
    _write_atomic(os.path.join(folder, KEY_FILE), key_pem, 0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return _authority(cert_path, cert, key)


def _retire(folder: str) -> None:
    """Move the current certificate and key (whatever their state) to ``old/<UTC time>/``."""
    import time

    present = [name for name in (CERT_FILE, KEY_FILE) if os.path.lexists(os.path.join(folder, name))]
    if not present:
        return
    old = os.path.join(folder, OLD_FOLDER)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    try:
        os.makedirs(old, mode=0o700, exist_ok=True)
        target = _new_folder(os.path.join(old, stamp))
        for name in present:
            os.rename(os.path.join(folder, name), os.path.join(target, name))
        _fsync_folder(folder)
    except OSError as exc:
        raise TlsError(f"cannot move the old CA into {old}: {exc.strerror}",
                       hint=f"check that {folder} is yours and writable") from exc


def _new_folder(base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever does not exist yet, created 0700."""
    for n in range(1, 1000):
        path = base if n == 1 else f"{base}-{n}"
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(base)
