"""``ringfence ca show|export|rotate``: the CA that signs the certificates of terminated hosts.

The CA lives in ``~/.local/share/ringfence/ca`` (the invoking user's home, from the password
database); ``RINGFENCE_STATE_DIR`` names another state folder (tests, several set-ups).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ringfence.errors import ExitCode, UsageError
from ringfence.policy.load import STATE_DIR_ENV as STATE_DIR_ENV, state_dir as state_dir


def cmd_ca(args: argparse.Namespace) -> int:
    if args.ca_cmd == "show":
        return _show(args)
    if args.ca_cmd == "export":
        return _export(args)
    return _rotate()


def _show(args: argparse.Namespace) -> int:
    from ringfence.tls.ca import ensure_bundle, load_or_create

    folder = state_dir()
    ca = load_or_create(folder)
    bundle = ensure_bundle(folder)
    if args.json:
        print(json.dumps({
            "path": ca.path,
            "subject": ca.subject,
            "sha256": ca.fingerprint_sha256,
            "not_before": ca.not_before.isoformat(),
            "not_after": ca.not_after.isoformat(),
            "bundle": bundle,
        }, indent=2))
        return ExitCode.OK
    print(f"certificate  {ca.path}")
    print(f"subject      {ca.subject}")
    print(f"sha256       {ca.fingerprint_sha256}")
    print(f"valid        {ca.not_before:%Y-%m-%d %H:%M} UTC to {ca.not_after:%Y-%m-%d %H:%M} UTC")
    print(f"bundle       {bundle} (system roots + this CA)")
    print()
    print("The proxy signs a certificate for each host it terminates TLS for with this CA.")
    print("Sandboxed programs trust it through the bundle; its private key (ca.key, next to the")
    print("certificate) stays in ringfence's state folder, which is hidden from every sandbox.")
    print("To trust it outside a sandbox as well, export it, e.g. on Debian/Ubuntu:")
    print("  ringfence ca export --out ringfence-ca.crt")
    print("  sudo cp ringfence-ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates")
    return ExitCode.OK


def _export(args: argparse.Namespace) -> int:
    from ringfence.tls.ca import load_or_create

    ca = load_or_create(state_dir())
    if args.out is None:
        sys.stdout.write(ca.cert_pem.decode("ascii"))
        return ExitCode.OK
    try:
        with open(args.out, "wb") as fh:
            fh.write(ca.cert_pem)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror}", hint="give --out a writable path") from exc
    print(f"wrote the CA certificate (sha256 {ca.fingerprint_sha256}) to {args.out}")
    return ExitCode.OK


def _rotate() -> int:
    from ringfence.tls.ca import CA_FOLDER, OLD_FOLDER, rotate

    folder = state_dir()
    ca = rotate(folder)
    print(f"new CA       {ca.subject}")
    print(f"sha256       {ca.fingerprint_sha256}")
    print(f"certificate  {ca.path}")
    print(f"The previous CA, if any, was moved to {os.path.join(folder, CA_FOLDER, OLD_FOLDER)}/.")
    print("Proxies already running keep signing with the old CA until they are restarted;")
    print("programs that trusted the old CA outside a sandbox must trust the new one (ringfence ca export).")
    return ExitCode.OK
