"""``ringfence copy SRC DST``: a sanitized copy of a folder, to mount in a container, a VM or CI.

Rules this module keeps:

- What ``.ringfenceignore`` files, ``SRC/.dockerignore`` (Docker's reading: every pattern
  is relative to SRC) and ``--exclude`` leave out is not copied.
- A credential file (a name rule's finding) is never copied, whatever a ``!`` pattern says.
- A file with secrets is copied with each value replaced by the masking placeholder.
- Symbolic links are copied as links when they stay inside SRC by a relative path, and
  left out otherwise (never followed). Files the scan could not read (too large, unreadable) are
  left out rather than copied unscanned.
- DST must not exist: the copy is made in a new folder beside it and renamed into place
  at the end, so DST is either the whole copy or absent. Modes (less set-id bits) and
  modification times are kept.
- The summary says what was left out and why, and what was masked, never a value.
"""

from __future__ import annotations

import os
import stat

from ringfence._struct import record
from ringfence.errors import ExitCode, RingfenceError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ringfence.workspace.scan import ScanResult


class CopyError(RingfenceError):
    """The copy cannot be made as asked (DST exists, SRC is not a folder)."""

    exit_code = ExitCode.USAGE


@record
class CopySummary:
    copied: int
    masked: tuple[str, ...]  # files copied with their secrets replaced
    left_out: tuple[tuple[str, str], ...]  # (path, why)
    links: int


def sanitized_copy(source: str, destination: str, *, exclude: Iterable[str] = ()) -> CopySummary:
    """Copy ``source`` to the new folder ``destination`` as the module's rules say."""
    from ringfence.workspace.scan import scan

    src, dst = os.path.abspath(source), os.path.abspath(destination)
    if os.path.lexists(dst):
        raise CopyError(f"{destination} exists: ringfence copy makes a new folder",
                        hint="name a folder that does not exist yet, or remove it first")
    if dst == src or dst.startswith(src + os.sep):
        raise CopyError(f"{destination} is inside {source}", hint="copy to a folder outside the source")
    result = scan(src, exclude=[*_dockerignore(src), *exclude])
    staging = _staging(dst)
    try:
        summary = _copy(result, staging)
        os.rename(staging, dst)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _dockerignore(src: str) -> list[str]:
    """``.dockerignore`` patterns, anchored at SRC as Docker reads them."""
    try:
        with open(os.path.join(src, ".dockerignore"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        negated = text.startswith("!")
        body = text[1:] if negated else text
        out.append(("!" if negated else "") + "/" + body.lstrip("/"))
    return out


def _staging(dst: str) -> str:
    parent = os.path.dirname(dst)
    if not os.path.isdir(parent):
        raise CopyError(f"{parent} is not a folder", hint="create the parent folder first")
    import tempfile

    return tempfile.mkdtemp(prefix=f".{os.path.basename(dst)}.", dir=parent)


def _copy(result: ScanResult, staging: str) -> CopySummary:
    from ringfence.workspace.mask import masked_text

    credential = {f.file for f in result.findings if f.kind == "file"}
    secrets: dict[str, list[object]] = {}
    for secret in result.secrets:
        secrets.setdefault(secret.file, []).append(secret)
    left_out = [(f, "a credential file") for f in sorted(credential)]
    left_out += [(f, why) for f, why in result.skipped if f not in credential]
    copied, masked = 0, []
    for relpath in result.files:
        if relpath in credential:
            continue
        source = os.path.join(result.root, relpath)
        target = os.path.join(staging, relpath)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            data = f.read()
        if relpath in secrets:
            text = masked_text(data.decode("utf-8", "surrogateescape"), secrets[relpath])  # type: ignore[arg-type]
            data = text.encode("utf-8", "surrogateescape")
            masked.append(relpath)
        _write(target, data, info)
        copied += 1
    links = 0
    for relpath, target_text in result.links:
        if relpath in credential:
            continue
        if os.path.isabs(target_text):  # it would point back into SRC, not into the copy
            left_out.append((relpath, "a link by absolute path: not copied"))
            continue
        path = os.path.join(staging, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target_text, path)
        links += 1
    return CopySummary(copied, tuple(masked), tuple(left_out), links)


def _write(target: str, data: bytes, info: os.stat_result) -> None:
    mode = stat.S_IMODE(info.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        os.fchmod(f.fileno(), mode)
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
