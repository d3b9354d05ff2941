"""Masking: what the agent sees of a workspace's credential files and secrets.

Rules this module keeps:

- A credential file (a name rule's finding) appears empty: the plan binds an empty,
  read-only file over it. The file on disk is never modified.
- Any other file with a secret appears as a read-only copy in which each secret value is
  replaced by ``PLACEHOLDER`` (a multi-line value, such as a private key block, by one).
  The copy is made when the sandbox starts, by scanning the file again right then: what
  is masked is what the file holds at that moment, not what an earlier scan saw.
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

    def __repr__(self) -> str:
        return f"Masks({len(self.empty)} empty, {len(self.rewritten)} rewritten, {len(self.values)} values)"

    @property
    def count(self) -> int:
        return len(self.empty) + len(self.rewritten)


def masks_for(result: ScanResult) -> Masks:
    """The masks a scan asks for: credential files emptied, other files with secrets
    rewritten (a credential file's own secrets need no copy: it is empty)."""
    empty = sorted({f.file for f in result.findings if f.kind == "file"})
    emptied = set(empty)
    rewritten = sorted({s.file for s in result.secrets if s.file not in emptied})
    values = tuple(dict.fromkeys((f"{s.rule} in {s.file}", s.value) for s in result.secrets if s.value))
    return Masks(tuple(os.path.join(result.root, f) for f in empty),
                 tuple(os.path.join(result.root, f) for f in rewritten), values)


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
    from ringfence.workspace import secrets

    fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    text = data.decode("utf-8", "surrogateescape")
    from ringfence.workspace.scan import Secret

    from ringfence.workspace.scan import allowed_line

    lines = text.split("\n")
    found = [Secret(relpath, h.rule, h.line, getattr(h, "end_line", h.line), h.start, h.end)
             for h in secrets.scan_text(text, relpath) if not allowed_line(lines[h.line - 1])]
    out = masked_text(text, found).encode("utf-8", "surrogateescape") if found else data
    out_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o444)
    with os.fdopen(out_fd, "wb") as f:
        f.write(out)
    return len(found)
