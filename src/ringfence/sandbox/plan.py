"""The data a backend planner produces: frozen, side-effect free, printable as JSON.

A plan says everything the runner will do: which mounts, which environment (values of
secrets are never part of a plan's JSON), which network rules, which seccomp refusals and
which mount points must be created on the host first (and removed afterwards).
"""

from __future__ import annotations

from ringfence._struct import field, record
from enum import Enum
TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any


class MountKind(Enum):
    RO_BIND = "ro-bind"  # the host path, read-only
    BIND = "bind"  # the host path, writable
    TMPFS = "tmpfs"  # a new empty tmpfs (size-limited)
    EMPTY_DIR = "empty-dir"  # a new empty tmpfs, then read-only: hides a folder
    EMPTY_FILE = "empty-file"  # an empty read-only file: hides a file or a socket
    RO_COPY = "ro-copy"  # a read-only copy of a host file made in the run's private folder
    #                      (its source may be one the agent's account cannot read, e.g. the CA bundle)
    MASKED_COPY = "masked-copy"  # a read-only copy of a workspace file with its secrets masked,
    #                              made in the run's private folder when the sandbox starts
    DEV = "dev"  # a minimal /dev (null, zero, random, tty, pts)
    PROC = "proc"  # a procfs of the sandbox's own pid namespace


@record
class Mount:
    kind: MountKind
    dest: str
    source: str | None = None
    size: int | None = None
    why: str = ""  # the rule that asked for it, for `--dry-run` and `explain`

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "dest": str(self.dest)}
        if self.source is not None and self.source != self.dest:
            out["source"] = str(self.source)
        if self.size is not None:
            out["size"] = self.size
        if self.why:
            out["why"] = self.why
        return out


@record
class Placeholder:
    """A mount point ringfence creates on the host for a protected name that does not exist.

    It is created empty right before the sandbox starts and removed after it ends (if it is
    still empty), so that the agent cannot create that file or folder itself.
    """

    path: str
    is_dir: bool


@record
class SandboxPlan:
    backend: str
    command: tuple[str, ...]
    mounts: tuple[Mount, ...]
    env: dict[str, str]
    uid: int
    gid: int
    workspace: str
    proxy_port: int | None  # the port inside the sandbox's own loopback; None = no network
    placeholders: tuple[Placeholder, ...] = ()
    notes: tuple[str, ...] = ()  # things a person should know (limits, skipped paths)
    seccomp: tuple[dict[str, str], ...] = ()
    network: dict[str, Any] = field(default_factory=dict)
    argv: tuple[str, ...] = ()  # the backend's full command line (placeholders for fds)

    def to_json(self) -> dict[str, Any]:
        """The plan as printed by ``--dry-run``: environment *names* only, never values."""
        return {
            "backend": self.backend,
            "command": list(self.command),
            "uid": self.uid,
            "gid": self.gid,
            "workspace": str(self.workspace),
            "argv": list(self.argv),
            "mounts": [m.to_json() for m in self.mounts],
            "env": sorted(self.env),
            "network": self.network,
            "seccomp": list(self.seccomp),
            "placeholders": [{"path": str(p.path), "dir": p.is_dir} for p in self.placeholders],
            "notes": list(self.notes),
        }
