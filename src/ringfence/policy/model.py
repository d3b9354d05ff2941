"""The typed policy: what every enforcement point compiles from.

A ``Policy`` is frozen and fully resolved: paths are absolute, ``~`` is expanded, host
rules are parsed. Layers are merged by ``ringfence.policy.load``; this module only holds
the shapes and the built-in lists.
"""

from __future__ import annotations

from ringfence._struct import field, record
from enum import Enum
import os

from ringfence.policy.hosts import HostRules

# Credential stores under a home folder; always hidden from the sandbox unless a policy
# names one in [filesystem] allow_read. Relative to the home folder.
BUILTIN_DENY_READ_HOME = (
    ".ssh",
    ".aws",
    ".config/gcloud",
    ".azure",
    ".docker/config.json",
    ".kube",
    ".git-credentials",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".gnupg",
    ".password-store",
)

# ringfence's own state (its CA and credential cache): never visible, never re-allowable.
RINGFENCE_STATE_HOME = ".local/share/ringfence"

# Names that run code or change tools when a person later uses the folder; write-protected
# at any depth inside every writable path, whether they exist yet or not.
PROTECTED_NAMES = (
    ".bashrc",
    ".bash_profile",
    ".zshrc",
    ".zprofile",
    ".profile",
    ".gitconfig",
    ".gitmodules",
    ".git/hooks",
    ".git/config",
    ".mcp.json",
    ".vscode",
    ".idea",
    ".claude/commands",
    ".claude/agents",
    ".envrc",
)

# Of the protected names, those that are folders (an empty read-only folder stands in
# for one that does not exist yet).
PROTECTED_DIRS = frozenset({".git/hooks", ".vscode", ".idea", ".claude/commands", ".claude/agents"})

DEFAULT_ENV = ("PATH", "HOME", "LANG", "TERM", "USER", "SHELL")
DEFAULT_AUDIT_PATH = "~/.local/state/ringfence/audit.db"
DEFAULT_TMP_SIZE = 1 << 30


class UnixSockets(Enum):
    """``[network] unix_sockets``: which AF_UNIX sockets the agent may create."""

    NONE = "none"  # socket(AF_UNIX) refused by seccomp (socketpair stays allowed)
    SANDBOX = "sandbox"  # allowed, but no socket of the host is reachable by any path


@record
class SandboxPolicy:
    workspace: str
    env: tuple[str, ...] = DEFAULT_ENV
    tmp_size: int = DEFAULT_TMP_SIZE


@record
class FilesystemPolicy:
    deny_read: tuple[str, ...] = ()
    allow_read: tuple[str, ...] = ()  # re-allows built-in deny_read entries only
    allow_write: tuple[str, ...] = ()
    deny_write: tuple[str, ...] = ()


@record
class NetworkPolicy:
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()
    unix_sockets: UnixSockets = UnixSockets.NONE
    enabled: bool = True  # False after --no-network: no proxy, nothing reachable

    def rules(self) -> HostRules:
        return HostRules.parse(self.allow if self.enabled else (), self.deny)


@record
class AuditPolicy:
    path: str


@record
class Policy:
    """The merged, validated policy of one run."""

    sandbox: SandboxPolicy
    filesystem: FilesystemPolicy
    network: NetworkPolicy
    audit: AuditPolicy
    sources: tuple[str, ...] = field(default=())  # the files it was read from, highest layer first

    def hidden_paths(self, homes: tuple[str, ...]) -> tuple[str, ...]:
        """Every path the sandbox must not read: policy, built-ins under each home, own state."""
        allowed = set(self.filesystem.allow_read)
        hidden: list[str] = list(self.filesystem.deny_read)
        for home in homes:
            hidden += [os.path.join(home, p) for p in BUILTIN_DENY_READ_HOME if os.path.join(home, p) not in allowed]
            hidden.append(os.path.join(home, RINGFENCE_STATE_HOME))
        hidden.append(self.audit.path)
        hidden += _sqlite_companions(self.audit.path)
        return tuple(dict.fromkeys(hidden))


def _sqlite_companions(db: str) -> list[str]:
    return [db + suffix for suffix in ("-wal", "-shm", "-journal")]
