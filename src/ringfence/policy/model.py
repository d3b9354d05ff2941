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
    # the project policy: it can name cmd:/file: credential sources that run outside the
    # sandbox on the next run, so the agent must never write one
    "ringfence.toml",
    # what the workspace scan leaves out: an agent that wrote one could keep secrets it
    # plants, or finds, unmasked on the next run
    ".ringfenceignore",
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
    upstream_ca: tuple[str, ...] = ()  # extra CA files trusted for upstream TLS (absolute paths)
    inspect: tuple[str, ...] = ()  # host rules whose TLS the proxy terminates (besides the implied ones)
    rate: tuple[tuple[str, int, float], ...] = ()  # (host rule, count, period in seconds)

    def rules(self) -> HostRules:
        return HostRules.parse(self.allow if self.enabled else (), self.deny)


@record
class Credential:
    """One ``[[credentials]]`` entry: a secret the proxy injects into requests to ``hosts``.

    ``value`` is where the secret comes from, never the secret: ``env:NAME`` (read once when
    the run starts), ``file:/abs/path`` (read when the run starts; ``file_lines`` is
    ``"first"`` for the first line stripped, ``"all"`` for the whole file minus its trailing
    newline) or ``cmd:COMMAND ARGS`` (run without a shell, re-run after ``cache_ttl``
    seconds). The header sent is ``header: format`` with ``{secret}`` replaced.
    ``methods``, ``paths`` and ``max_body`` are a request rule on ``hosts``.
    """

    name: str
    hosts: tuple[str, ...]
    header: str
    value: str
    format: str = "{secret}"
    placeholder_env: str = ""  # the sandbox sees a per-run random placeholder in this variable
    methods: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    max_body: int = 0  # bytes; 0 = no limit
    cache_ttl: float = 300.0
    file_lines: str = "first"
    source: str = ""  # the policy file that defined it (for messages)

    def request_rule(self) -> RequestRule | None:
        """The request rule this credential implies, or None when it restricts nothing."""
        if not (self.methods or self.paths or self.max_body):
            return None
        return RequestRule(f'credentials "{self.name}"', self.hosts, self.methods, self.paths, self.max_body)


@record
class RequestRule:
    """What requests to ``hosts`` may look like; every rule whose hosts match applies."""

    name: str  # for messages: 'credentials "github"' or 'requests[0] (/path/ringfence.toml)'
    hosts: tuple[str, ...]
    methods: tuple[str, ...] = ()  # empty: any method
    paths: tuple[str, ...] = ()  # globs over the path without the query; empty: any path
    max_body: int = 0  # bytes; 0 = no limit


@record
class Gateway:
    """One ``[[upstreams]]`` entry: a plain-HTTP gateway to ``url`` inside the sandbox."""

    name: str  # the first path segment of the gateway URL
    url: str  # normalised, no trailing slash
    credential: str = ""  # the credential injected on the way, "" for none
    base_url_env: str = ""  # the variable the sandbox finds the gateway URL in


@record
class PermissionEntry:
    """One rule of a ``[permissions]`` list, with the layer it came from.

    ``rule`` is the rule's text in Claude Code's syntax (``Bash(npm test:*)``), validated
    when the layer was read; ``kind`` the list (``allow``, ``ask``, ``deny``); ``scope`` the
    layer (``managed``, ``project``, ``user``); ``base`` the folder a ``/p`` path anchor is
    relative to (the policy file's); ``key`` where it was (``permissions.deny[2]``).
    """

    rule: str
    kind: str
    source: str
    scope: str
    base: str
    key: str


@record
class PermissionsPolicy:
    """``[permissions]`` of every layer, highest layer first: a union, never an override,
    so a managed deny holds whatever a lower layer allows."""

    entries: tuple[PermissionEntry, ...] = ()

    def of_kind(self, kind: str) -> tuple[PermissionEntry, ...]:
        return tuple(entry for entry in self.entries if entry.kind == kind)


@record
class AuditPolicy:
    path: str


@record
class WorkspacePolicy:
    """``[workspace]``: credential files and secrets in the workspace are masked inside the
    sandbox (``mask``); ``exclude`` patterns (gitignore syntax) leave paths out of the scan."""

    mask: bool = True
    exclude: tuple[str, ...] = ()
    credential_files: str = "empty"  # "empty" (an empty read-only file) or "absent" (needs --overlay)


@record
class ContainerPolicy:
    """``[container]``: what the container exports (and backends) run, and their limits.
    Nothing is pulled implicitly: ``image`` must exist where it runs."""

    image: str = ""
    rootfs: str = ""  # podman: a root file system folder instead of an image
    proxy_image: str = ""  # an image with ringfence installed, for the proxy's own service
    user: str = ""  # "UID:GID"; "" = the workspace owner's
    memory: int = 2 << 30  # bytes
    cpus: float = 2.0
    pids: int = 256
    home: str = "/home/agent"
    home_size: int = 512 << 20  # bytes


@record
class Policy:
    """The merged, validated policy of one run."""

    sandbox: SandboxPolicy
    filesystem: FilesystemPolicy
    network: NetworkPolicy
    audit: AuditPolicy
    sources: tuple[str, ...] = field(default=())  # the files it was read from, highest layer first
    credentials: tuple[Credential, ...] = ()
    gateways: tuple[Gateway, ...] = ()
    requests: tuple[RequestRule, ...] = ()  # the explicit [[requests]] rules
    permissions: PermissionsPolicy = PermissionsPolicy()  # [permissions] of every layer
    workspace: WorkspacePolicy = WorkspacePolicy()  # [workspace]: masking
    container: ContainerPolicy = ContainerPolicy()  # [container]: exports and container backends

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

    def request_rules(self) -> tuple[RequestRule, ...]:
        """Every request rule: the explicit ``[[requests]]`` and those credentials imply."""
        implied = (c.request_rule() for c in self.credentials)
        return self.requests + tuple(rule for rule in implied if rule is not None)

    def terminated_hosts(self) -> tuple[str, ...]:
        """The host rules whose TLS the proxy terminates: credential hosts, request-rule
        hosts, rate-limited hosts and ``[network] inspect``, each once, in that order."""
        hosts: list[str] = []
        for credential in self.credentials:
            hosts += credential.hosts
        for rule in self.request_rules():
            hosts += rule.hosts
        hosts += (host for host, _count, _period in self.network.rate)
        hosts += self.network.inspect
        return tuple(dict.fromkeys(hosts))


def _sqlite_companions(db: str) -> list[str]:
    return [db + suffix for suffix in ("-wal", "-shm", "-journal")]
