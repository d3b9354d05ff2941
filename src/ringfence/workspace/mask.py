"""Masking: what the agent sees of a workspace's credential files and secrets.

Rules this module keeps:

- A credential file (a name rule's finding) appears empty: the plan binds an empty,
  read-only file over it. The file on disk is never modified.
- Any other file with a secret appears as a read-only copy in which each secret value is
  replaced by ``PLACEHOLDER`` (a multi-line value, such as a private key block, by one).
  ``masks_for(result, copies)`` makes the copies in ``copies`` (ringfence's state folder,
  which the sandbox never sees) from the scan's offsets, reading each file again and
  checking its identity is the one scanned (else scanning it afresh), and keeps them by
  that identity: an unchanged file is not copied again next run. A copy holds no secret,
  is read-only (0444) and is never changed in place, so a run may use a hard link to it.
  Without ``copies``, the runner makes the copy when the sandbox starts, scanning afresh.
- Masked files are read-only inside the sandbox: a write fails (EROFS) rather than
  landing in a copy that vanishes with the run.
- The values found go to the proxy's leak guard: a request that carries one is refused.
"""

from __future__ import annotations

import os

from ringfence._struct import record

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from ringfence.workspace.scan import ScanResult, Secret

PLACEHOLDER = "RINGFENCE-MASKED"


@record
class Masks:
    """What to mask in one workspace (absolute paths), and the values for the leak guard."""

    empty: tuple[str, ...]  # credential files: an empty file in their place
    rewritten: tuple[str, ...]  # files with secrets: a masked copy in their place
    values: tuple[tuple[str, str], ...]  # (label, value) for the leak guard; never printed
    copies: tuple[str, ...] = ()  # the masked copy of each rewritten file, when made beforehand

    def __repr__(self) -> str:
        return f"Masks({len(self.empty)} empty, {len(self.rewritten)} rewritten, {len(self.values)} values)"

    @property
    def count(self) -> int:
        return len(self.empty) + len(self.rewritten)

    def without_empty(self) -> Masks:
        """The same masks once the credential files are made absent some other way."""
        return Masks((), self.rewritten, self.values, self.copies)


def masks_for(result: ScanResult, copies: str | None = None) -> Masks:
    """The masks a scan asks for: credential files emptied, other files with secrets
    rewritten (a credential file's own secrets need no copy: it is empty). With ``copies``
    (a folder only ringfence reads), the masked copies are made there now."""
    empty = sorted({f.file for f in result.findings if f.kind == "file"})
    emptied = set(empty)
    rewritten = sorted({s.file for s in result.secrets if s.file not in emptied})
    # labelled as the proxy's leak guard expects (ringfence.proxy.inspect.WORKSPACE_LABEL)
    values = tuple(dict.fromkeys((f"workspace secret {s.file}:{s.line} ({s.rule})", s.value)
                                 for s in result.secrets if s.value))
    made: tuple[str, ...] = ()
    if copies is not None and rewritten:
        made = _copies(result, rewritten, copies)
    return Masks(tuple(os.path.join(result.root, f) for f in empty),
                 tuple(os.path.join(result.root, f) for f in rewritten), values, made)


def _copies(result: ScanResult, rewritten: list[str], copies: str) -> tuple[str, ...]:
    """The masked copy of each file, by identity under ``copies``/<folder key>; copies no
    longer needed are removed."""
    import hashlib

    identities = dict(result.identities)
    by_file: dict[str, list[Secret]] = {}
    for secret in result.secrets:
        by_file.setdefault(secret.file, []).append(secret)
    folder = os.path.join(copies, hashlib.sha256(os.fsencode(result.root)).hexdigest()[:16])
    os.makedirs(folder, mode=0o700, exist_ok=True)
    _touch_daily(folder)  # in use: ringfence.workspace.scan.prune_stale leaves it
    made = []
    for relpath in rewritten:
        ident = identities.get(relpath, ())
        key = hashlib.sha256(os.fsencode(f"{relpath}\0{ident}")).hexdigest()[:32]
        target = os.path.join(folder, key)
        if not (ident and os.path.isfile(target)):
            _write_copy(os.path.join(result.root, relpath), target, relpath, by_file[relpath], ident)
        made.append(target)
    keep = {os.path.basename(p) for p in made}
    for name in os.listdir(folder):
        if name not in keep:
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
    return tuple(made)


def _touch_daily(folder: str) -> None:
    import time

    try:
        if time.time() - os.stat(folder).st_mtime > 86400:
            os.utime(folder)
    except OSError:
        pass


def _write_copy(source: str, target: str, relpath: str, secrets: list[Secret], ident: tuple[int, ...]) -> None:
    """``source`` masked at the scan's offsets when its identity is still ``ident``, else
    scanned afresh; written beside ``target`` and renamed, so a copy is whole or absent."""
    import tempfile

    data, now = _read(source)
    text = data.decode("utf-8", "surrogateescape")
    if now != tuple(ident):
        secrets = _fresh(text, relpath)
    out = masked_text(text, secrets).encode("utf-8", "surrogateescape")
    fd, temporary = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".masked-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(out)
            os.fchmod(f.fileno(), 0o444)  # never changed in place: a run may bind a hard link to it
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _read(source: str) -> tuple[bytes, tuple[int, ...]]:
    from ringfence.workspace.scan import identity

    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        return f.read(), identity(os.fstat(f.fileno()))


def _fresh(text: str, relpath: str) -> list[Secret]:
    from ringfence.workspace import secrets
    from ringfence.workspace.scan import Secret, allowed_line

    lines = text.split("\n")
    return [Secret(relpath, h.rule, h.line, getattr(h, "end_line", h.line), h.start, h.end)
            for h in secrets.scan_text(text, relpath) if not allowed_line(lines[h.line - 1])]


def masked_text(text: str, secrets: list[Secret]) -> str:
    """``text`` with every secret's span replaced by ``PLACEHOLDER`` (lines split on ``\\n``,
    as the scanner numbers them)."""
    lines = text.split("\n")
    for secret in sorted(secrets, key=lambda s: (s.line, s.start), reverse=True):
        first, last = secret.line - 1, secret.end_line - 1
        if not (0 <= first <= last < len(lines)):
            continue
        head = lines[first][: secret.start]
        tail = lines[last][secret.end :]
        lines[first : last + 1] = [head + PLACEHOLDER + tail]
    return "\n".join(lines)


def masked_copy(source: str, target: str, relpath: str) -> int:
    """Write ``target`` (read-only, new) as ``source`` with its secrets masked; returns how
    many were masked. The source is opened without following links and scanned afresh."""
    data, _ = _read(source)
    text = data.decode("utf-8", "surrogateescape")
    found = _fresh(text, relpath)
    out = masked_text(text, found).encode("utf-8", "surrogateescape") if found else data
    out_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o444)
    with os.fdopen(out_fd, "wb") as f:
        f.write(out)
    return len(found)
