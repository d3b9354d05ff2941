"""The CA: created on first use with private modes, reused, refused when unsafe or broken,
rotated, and the trust bundle built from the system roots and the CA."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from ringfence.tls.ca import (
    SYSTEM_ROOTS,
    CertificateAuthority,
    ca_cert_path,
    ensure_bundle,
    load_or_create,
    rotate,
)
from ringfence.tls.errors import TlsError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _folder(state: str) -> Path:
    return Path(state) / "ca"


def _with_umask(mask: int, state: str) -> CertificateAuthority:
    old = os.umask(mask)
    try:
        return load_or_create(state)
    finally:
        os.umask(old)


@pytest.mark.parametrize("mask", [0o000, 0o022, 0o077])
def test_created_on_first_use_with_private_key_and_public_certificate(state: str, mask: int) -> None:
    ca = _with_umask(mask, state)
    folder = _folder(state)
    assert ca.path == ca_cert_path(state) == str(folder / "ca.pem")
    assert _mode(folder) == 0o700
    assert _mode(folder / "ca.key") == 0o600
    assert _mode(folder / "ca.pem") == 0o644
    assert _mode(folder / "bundle.pem") == 0o644
    assert not [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_certificate_is_a_p256_ca_for_leaves_only(ca: CertificateAuthority) -> None:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert isinstance(ca.key, ec.EllipticCurvePrivateKey)
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert re.fullmatch(r"ringfence CA [0-9a-f]{8}", str(cn))
    assert cert.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)[0].value == "ringfence"
    assert cert.issuer == cert.subject
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign and usage.value.crl_sign and not usage.value.digital_signature
    cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    now = datetime.now(UTC)
    assert timedelta(minutes=55) < now - ca.not_before < timedelta(minutes=65)
    assert ca.not_after - ca.not_before == timedelta(days=730)


def test_describes_itself(ca: CertificateAuthority) -> None:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    assert ca.fingerprint_sha256 == ":".join(f"{b:02X}" for b in cert.fingerprint(hashes.SHA256()))
    assert ca.subject.startswith("CN=ringfence CA ") and ca.subject.endswith(",O=ringfence")
    assert (ca.not_before, ca.not_after) == (cert.not_valid_before_utc, cert.not_valid_after_utc)
    assert "PRIVATE" not in repr(ca)


def test_second_load_reuses_the_files(state: str, ca: CertificateAuthority) -> None:
    before = {p.name: p.stat().st_mtime_ns for p in _folder(state).iterdir()}
    again = load_or_create(state)
    assert again.fingerprint_sha256 == ca.fingerprint_sha256
    assert again.key.private_numbers() == ca.key.private_numbers()
    assert {p.name: p.stat().st_mtime_ns for p in _folder(state).iterdir()} == before


def test_runs_starting_together_share_one_ca(state: str) -> None:
    code = f"from ringfence.tls.ca import load_or_create; print(load_or_create({state!r}).fingerprint_sha256)"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    prints = {proc.communicate(timeout=60)[0].strip() for proc in procs}
    assert len(prints) == 1
    assert load_or_create(state).fingerprint_sha256 in prints


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_refuses_a_key_others_can_read(state: str, ca: CertificateAuthority, mode: int) -> None:
    key = _folder(state) / "ca.key"
    key.chmod(mode)
    with pytest.raises(TlsError) as info:
        load_or_create(state)
    text = str(info.value)
    assert str(key) in text and f"{mode:04o}" in text and f"chmod 600 {key}" in text


def test_refuses_a_corrupt_key_naming_the_file(state: str, ca: CertificateAuthority) -> None:
    key = _folder(state) / "ca.key"
    key.write_bytes(b"-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n")
    with pytest.raises(TlsError) as info:
        load_or_create(state)
    assert str(key) in str(info.value) and "ringfence ca rotate" in str(info.value)


def test_refuses_a_key_of_another_certificate(tmp_path: Path, state: str, ca: CertificateAuthority) -> None:
    other = load_or_create(str(tmp_path / "other"))
    key = _folder(state) / "ca.key"
    key.write_bytes((tmp_path / "other" / "ca" / "ca.key").read_bytes())
    with pytest.raises(TlsError, match="does not belong to the certificate"):
        load_or_create(state)
    assert other.fingerprint_sha256 != ca.fingerprint_sha256


def test_refuses_a_key_behind_a_symbolic_link(tmp_path: Path, state: str, ca: CertificateAuthority) -> None:
    key = _folder(state) / "ca.key"
    moved = tmp_path / "elsewhere.key"
    key.rename(moved)
    key.symlink_to(moved)
    with pytest.raises(TlsError, match="not a link"):
        load_or_create(state)


def test_a_half_present_ca_is_explained(state: str, ca: CertificateAuthority) -> None:
    cert = _folder(state) / "ca.pem"
    cert.unlink()
    with pytest.raises(TlsError) as info:
        ensure_bundle(state)
    assert f"{cert} is missing" in str(info.value) and "ringfence ca rotate" in str(info.value)


def test_rotate_keeps_the_old_ca_under_old(state: str, ca: CertificateAuthority) -> None:
    folder = _folder(state)
    old_cert, old_key = (folder / "ca.pem").read_bytes(), (folder / "ca.key").read_bytes()
    new = rotate(state)
    assert new.fingerprint_sha256 != ca.fingerprint_sha256
    assert load_or_create(state).fingerprint_sha256 == new.fingerprint_sha256
    (kept,) = (folder / "old").iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", kept.name)
    assert (kept / "ca.pem").read_bytes() == old_cert and (kept / "ca.key").read_bytes() == old_key
    assert _mode(folder / "old") == _mode(kept) == 0o700 and _mode(kept / "ca.key") == 0o600
    assert _mode(folder / "ca.key") == 0o600
    rotate(state)  # twice within a second: a second folder, nothing overwritten
    assert len(list((folder / "old").iterdir())) == 2


def test_rotate_repairs_a_corrupt_key(state: str, ca: CertificateAuthority) -> None:
    (_folder(state) / "ca.key").write_bytes(b"garbage")
    new = rotate(state)
    assert load_or_create(state).fingerprint_sha256 == new.fingerprint_sha256


def _roots() -> bytes:
    for path in SYSTEM_ROOTS:
        if os.path.exists(path):
            return Path(path).read_bytes()
    pytest.skip("no system CA roots on this machine (ca-certificates)")


def test_bundle_is_the_system_roots_then_the_ca(state: str, ca: CertificateAuthority) -> None:
    bundle = Path(ensure_bundle(state))
    assert bundle == _folder(state) / "bundle.pem"
    data = bundle.read_bytes()
    roots = _roots()
    assert data.startswith(roots) and data.endswith(ca.cert_pem)
    assert data.count(b"-----BEGIN CERTIFICATE-----") == roots.count(b"-----BEGIN CERTIFICATE-----") + 1
    assert b"PRIVATE KEY" not in data


def test_ensure_bundle_creates_the_ca_when_missing(state: str) -> None:
    bundle = Path(ensure_bundle(state))
    assert bundle.read_bytes().endswith(load_or_create(state).cert_pem)


def test_bundle_is_rebuilt_only_when_an_input_is_newer(state: str, ca: CertificateAuthority) -> None:
    bundle = Path(ensure_bundle(state))
    first = bundle.stat()
    ensure_bundle(state)
    assert (bundle.stat().st_ino, bundle.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    future = first.st_mtime_ns + 10**9
    os.utime(_folder(state) / "ca.pem", ns=(future, future))
    ensure_bundle(state)
    assert bundle.stat().st_ino != first.st_ino
    bundle.unlink()
    assert Path(ensure_bundle(state)).read_bytes().endswith(ca.cert_pem)


def test_bundle_follows_a_rotation(state: str, ca: CertificateAuthority) -> None:
    ensure_bundle(state)
    new = rotate(state)
    data = Path(ensure_bundle(state)).read_bytes()
    assert data.endswith(new.cert_pem) and ca.cert_pem not in data


def test_ensure_bundle_on_an_existing_ca_imports_nothing_heavy(state: str, ca: CertificateAuthority) -> None:
    code = (
        "import sys\n"
        "from ringfence.tls.ca import ensure_bundle\n"
        f"ensure_bundle({state!r})\n"
        "heavy = ('cryptography', 'ssl', '_ssl', 'datetime', 'typing')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_an_unusable_state_folder_is_explained(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(TlsError, match="cannot create the CA folder"):
        load_or_create(str(blocker))
