"""The bubblewrap planner: a ``Policy`` in, a ``SandboxPlan`` (and bwrap's argv) out.

Order matters in bwrap: a later mount covers an earlier one. The plan is built in layers:

1. the host's root, read-only; a fresh ``/dev`` and ``/proc``; private tmpfs on ``/tmp``,
   ``/dev/shm`` and ``/run`` (no host socket or secret under them is reachable);
2. every ``allow_write`` path, writable;
3. inside those, every ancestor folder of a protected item bound onto itself (a mount point
   cannot be renamed away: ``mv .git x && mkdir .git`` fails with EBUSY), then the protected
   items read-only, including empty placeholders for those that do not exist yet;
4. ``deny_write`` paths and the policy files read-only;
5. ``deny_read`` paths (and the built-in credential stores) replaced by an empty read-only
   folder or file; with ``unix_sockets = "sandbox"`` every host socket found in a visible
   writable path too.

Masks are placed on the resolved path, so a symlink anywhere that points at a masked or
protected file leads to the mask (bwrap resolves mount destinations the same way).
"""

from __future__ import annotations

import os
from ringfence._struct import field, record

from ringfence.policy.model import PROTECTED_DIRS, PROTECTED_NAMES, Policy, UnixSockets
from ringfence.sandbox.plan import Mount, MountKind, Placeholder, SandboxPlan
from ringfence.sandbox.probe import Kind, WalkResult, depth, kind_of, parents, reachable, real, under

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from ringfence.workspace.mask import Masks

PROXY_PORT = 3128  # inside the sandbox's own network namespace: always free
SHM_SIZE = 256 << 20
RUN_SIZE = 16 << 20

# Names a placeholder is made for at the top of every writable root when missing.
_ROOT_PLACEHOLDERS = tuple(n for n in PROTECTED_NAMES if not n.startswith(".git/"))


@record
class Identity:
    """Who the agent runs as inside the sandbox."""

    uid: int
    gid: int
    home: str
    user: str
    shell: str = "/bin/sh"


@record(frozen=False)
class HostView:
    """A snapshot of the host facts the planner depends on (see ``probe``)."""

    kinds: dict[str, Kind] = field(default_factory=dict)
    walks: dict[str, WalkResult] = field(default_factory=dict)

    resolved: dict[str, str] = field(default_factory=dict)

    def real(self, path: str) -> str:
        """``real(path)``, asked once per path per plan (a plan resolves the same roots often)."""
        if path not in self.resolved:
            self.resolved[path] = real(path)
        return self.resolved[path]

    def kind(self, path: str) -> Kind:
        if path not in self.kinds:
            self.kinds[path] = kind_of(path)
        return self.kinds[path]


def proxy_env(port: int) -> dict[str, str]:
    """The variables that point every common client at the proxy inside the sandbox."""
    http = f"http://127.0.0.1:{port}"
    env = {
        "HTTP_PROXY": http,
        "HTTPS_PROXY": http,
        # http://, not socks5h://: httpx (the Anthropic and OpenAI SDKs) refuses a SOCKS proxy
        # without the optional socksio package; SOCKS5 clients still use the same port.
        "ALL_PROXY": http,
        "GRPC_PROXY": http,
        "NO_PROXY": "",  # localhost inside the sandbox is the sandbox's own loopback
        "NODE_USE_ENV_PROXY": "1",  # Node.js 24+: fetch() and http honour the variables
        "npm_config_proxy": http,
        "npm_config_https_proxy": http,
        "PIP_PROXY": http,
        "CLOUDSDK_PROXY_TYPE": "http",
        "CLOUDSDK_PROXY_ADDRESS": "127.0.0.1",
        "CLOUDSDK_PROXY_PORT": str(port),
    }
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "GRPC_PROXY", "NO_PROXY"):
        env[name.lower()] = env[name]
    return env


def sandbox_env(policy: Policy, who: Identity, caller_env: dict[str, str], port: int | None) -> dict[str, str]:
    """Only the names the policy lists pass in; identity and proxy variables are set by us."""
    env = {name: caller_env[name] for name in policy.sandbox.env if name in caller_env}
    identity = {"HOME": str(who.home), "USER": who.user, "LOGNAME": who.user, "SHELL": who.shell}
    env.update({k: v for k, v in identity.items() if k in policy.sandbox.env})
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["RINGFENCE"] = "1"
    if port is not None:
        env.update(proxy_env(port))
    return env


class EgressView:
    """What the sandbox sees of a run's credentials and TLS termination (see proxy.egress)."""

    def __init__(self, env: dict[str, str], drop_env: frozenset[str], bundle: str | None,
                 bundle_in_sandbox: str, hidden: tuple[str, ...] = ()) -> None:
        self.env = env
        self.hidden = hidden  # the state folder when it is not the default (which is hidden anyway)
        self.drop_env = drop_env
        self.bundle = bundle
        self.bundle_in_sandbox = bundle_in_sandbox


class _Builder:
    """Accumulates mounts in order, skipping those an earlier mask already hides."""

    def __init__(self) -> None:
        self.mounts: list[Mount] = []
        self.masked: list[str] = []
        self.placeholders: list[Placeholder] = []
        self.notes: list[str] = []

    def add(self, mount: Mount) -> None:
        if under(mount.dest, self.masked):
            return  # an earlier mask already hides it
        if mount.kind in (MountKind.EMPTY_DIR, MountKind.EMPTY_FILE):
            self.masked.append(mount.dest)
        self.mounts.append(mount)


def plan_bwrap(
    policy: Policy,
    command: list[str],
    *,
    who: Identity,
    view: HostView,
    caller_env: dict[str, str],
    cwd: str,
    homes: tuple[str, ...],
    egress: EgressView | None = None,
    masks: Masks | None = None,
) -> SandboxPlan:
    """Compile ``policy`` into the bubblewrap plan for ``command`` (pure given ``view``)."""
    b = _Builder()
    workspace = view.real(policy.sandbox.workspace)
    _base(b, policy, view)
    writable = _writable(b, policy, view)
    _protect(b, policy, view, writable)
    for path in policy.filesystem.deny_write:
        _readonly(b, view, view.real(path), "filesystem.deny_write", who)
    for source in policy.sources:
        _readonly(b, view, view.real(source), "the policy file itself", who)
    for path in policy.hidden_paths(homes):
        _hide(b, view, view.real(path), "filesystem.deny_read", who)
    if policy.network.unix_sockets is UnixSockets.SANDBOX:
        for root in writable:
            for sock in view.walks[root].sockets:
                b.add(Mount(MountKind.EMPTY_FILE, sock, why="a host socket (unix_sockets = \"sandbox\")"))
    port = PROXY_PORT if policy.network.enabled else None
    env = sandbox_env(policy, who, caller_env, port)
    if egress is not None:
        for path in egress.hidden:
            _hide(b, view, view.real(path), "ringfence's state folder (its CA key)", who)
        for name in egress.drop_env:
            env.pop(name, None)  # it holds a secret on the host: never passed in
        env.update(egress.env)
        if egress.bundle is not None:
            b.add(Mount(MountKind.RO_COPY, egress.bundle_in_sandbox, egress.bundle,
                        why="CA bundle: system roots + the ringfence CA (TLS termination)"))
    if masks is not None:
        _mask(b, masks, who)
    chdir = view.real(cwd) if under(view.real(cwd), [workspace]) else workspace
    return SandboxPlan(
        backend="bwrap",
        command=tuple(command),
        mounts=tuple(b.mounts),
        env=env,
        uid=who.uid,
        gid=who.gid,
        workspace=chdir,
        proxy_port=port,
        placeholders=tuple(b.placeholders),
        notes=tuple(b.notes),
        network=_network_json(policy, port),
    )


def _network_json(policy: Policy, port: int | None) -> dict[str, object]:
    return {
        "namespace": "own (loopback only)",
        "proxy": f"127.0.0.1:{port}" if port else None,
        "allow": list(policy.network.allow),
        "deny": list(policy.network.deny),
        "unix_sockets": policy.network.unix_sockets.value,
    }


def _base(b: _Builder, policy: Policy, view: HostView) -> None:
    b.add(Mount(MountKind.RO_BIND, "/", "/", why="root file system, read-only"))
    b.add(Mount(MountKind.DEV, "/dev", why="minimal /dev"))
    b.add(Mount(MountKind.PROC, "/proc", why="procfs of the sandbox's pid namespace"))
    b.add(Mount(MountKind.TMPFS, "/dev/shm", size=SHM_SIZE, why="private shared memory"))
    b.add(Mount(MountKind.TMPFS, "/run", size=RUN_SIZE, why="hides host sockets and runtime secrets"))
    if os.path.isdir("/var/run") and not os.path.islink("/var/run"):
        b.add(Mount(MountKind.TMPFS, "/var/run", size=RUN_SIZE, why="hides host sockets"))
    if not under("/tmp", [view.real(p) for p in policy.filesystem.allow_write]):
        b.add(Mount(MountKind.TMPFS, "/tmp", size=policy.sandbox.tmp_size, why="private /tmp"))


def _writable(b: _Builder, policy: Policy, view: HostView) -> list[str]:
    roots: list[str] = []
    for path in sorted({view.real(p) for p in policy.filesystem.allow_write}, key=depth):
        if view.kind(path) is Kind.MISSING:
            b.notes.append(f"allow_write {path} does not exist; not mounted")
            continue
        b.add(Mount(MountKind.BIND, path, path, why="filesystem.allow_write"))
        if not under(path, roots):
            roots.append(path)
    return roots


def _protect(b: _Builder, policy: Policy, view: HostView, roots: list[str]) -> None:
    items: dict[str, bool] = {}  # path -> is a folder
    for root in roots:
        if view.kind(root) is not Kind.DIR:
            continue
        walk = view.walks[root]
        for path in walk.protected:
            items[path] = _is_protected_dir(path)
        for gitdir in walk.git_dirs:
            items.setdefault(os.path.join(gitdir, "hooks"), True)
            items.setdefault(os.path.join(gitdir, "config"), False)
        for name in _ROOT_PLACEHOLDERS:
            items.setdefault(os.path.join(root, name), name in PROTECTED_DIRS)
        if not os.path.exists(os.path.join(root, ".git")):
            items.setdefault(os.path.join(root, ".git/hooks"), True)
            items.setdefault(os.path.join(root, ".git/config"), False)
    anchors: set[str] = set()
    for path in items:
        anchors.update(_ancestors_below(path, roots))
    for anchor in sorted(anchors, key=depth):
        if view.kind(anchor) is Kind.MISSING:
            b.placeholders.append(Placeholder(anchor, True))
        b.add(Mount(MountKind.BIND, anchor, anchor, why="holds a protected item: cannot be renamed away"))
    for path, is_dir in sorted(items.items(), key=lambda kv: depth(kv[0])):
        if not os.path.lexists(path):
            b.placeholders.append(Placeholder(path, is_dir))
        b.add(Mount(MountKind.RO_BIND, path, path, why="write-protected name"))


def _is_protected_dir(path: str) -> bool:
    return any(path.endswith("/" + name) for name in PROTECTED_DIRS) or os.path.isdir(path)


def _ancestors_below(path: str, roots: list[str]) -> list[str]:
    above = parents(path)
    root = next(r for r in roots if r in above)
    return [p for p in above if root in parents(p)]


def _readonly(b: _Builder, view: HostView, path: str, why: str, who: Identity) -> None:
    if view.kind(path) is not Kind.MISSING and reachable(path, who.uid, who.gid):
        b.add(Mount(MountKind.RO_BIND, path, path, why=why))


def _mask(b: _Builder, masks: Masks, who: Identity) -> None:
    """Credential files in the workspace appear empty; files with secrets as masked copies
    (both read-only). A file the agent could not read anyway needs neither."""
    for path in masks.empty:
        if reachable(path, who.uid, who.gid):
            b.add(Mount(MountKind.EMPTY_FILE, path, why="a credential file in the workspace (workspace.mask)"))
    for n, path in enumerate(masks.rewritten):
        if reachable(path, who.uid, who.gid) and _readable_by(path, who):
            made = masks.copies[n] if len(masks.copies) == len(masks.rewritten) else path  # else masked at start
            b.add(Mount(MountKind.MASKED_COPY, path, made, why="secrets in this file masked (workspace.mask)"))


def _readable_by(path: str, who: Identity) -> bool:
    """Could ``who`` (no supplementary groups) read the file? A masked copy must not show
    what the file's own permissions would hide."""
    if who.uid == 0:
        return True
    try:
        st = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if st.st_uid == who.uid:
        return bool(st.st_mode & 0o400)
    if st.st_gid == who.gid:
        return bool(st.st_mode & 0o040)
    return bool(st.st_mode & 0o004)


def _hide(b: _Builder, view: HostView, path: str, why: str, who: Identity) -> None:
    kind = view.kind(path)
    if kind is Kind.MISSING:
        return
    if not reachable(path, who.uid, who.gid):
        b.notes.append(f"{path} is not reachable by uid {who.uid} (file permissions hide it already)")
        return
    mount_kind = MountKind.EMPTY_DIR if kind is Kind.DIR else MountKind.EMPTY_FILE
    b.add(Mount(mount_kind, path, why=why))


def bwrap_argv(plan: SandboxPlan, *, bwrap: str, runtime: str, seccomp_fd: int, info_fd: int) -> list[str]:
    """bubblewrap's command line for ``plan`` (see bwrap(1)); fds are inherited by number."""
    argv = [
        bwrap,
        "--unshare-user",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--disable-userns",  # no nested user namespaces (bwrap >= 0.8)
        "--die-with-parent",
        "--new-session",  # no controlling terminal: TIOCSTI cannot reach the caller's
        "--cap-drop",
        "ALL",
        "--hostname",
        "ringfence",
    ]
    for mount in plan.mounts:
        argv += _mount_args(mount, runtime)
    argv += ["--chdir", str(plan.workspace), "--seccomp", str(seccomp_fd), "--json-status-fd", str(info_fd), "--"]
    return argv + list(plan.command)


def _mount_args(mount: Mount, runtime: str) -> list[str]:
    dest = str(mount.dest)
    match mount.kind:
        case MountKind.RO_BIND:
            return ["--ro-bind", str(mount.source or dest), dest]
        case MountKind.BIND:
            return ["--bind", str(mount.source or dest), dest]
        case MountKind.TMPFS:
            return ["--size", str(mount.size), "--tmpfs", dest] if mount.size else ["--tmpfs", dest]
        case MountKind.EMPTY_DIR:
            return ["--size", "4096", "--perms", "0555", "--tmpfs", dest, "--remount-ro", dest]
        case MountKind.EMPTY_FILE:
            return ["--ro-bind", os.path.join(runtime, EMPTY_FILE_NAME), dest]
        case MountKind.RO_COPY | MountKind.MASKED_COPY:
            return ["--ro-bind", os.path.join(runtime, copy_name(dest)), dest]
        case MountKind.DEV:
            return ["--dev", dest]
        case MountKind.PROC:
            return ["--proc", dest]
    raise AssertionError(mount.kind)


EMPTY_FILE_NAME = "empty"


def copy_name(dest: str) -> str:
    """The name, in the run's private folder, of the copy bound at ``dest`` (RO_COPY)."""
    return "copy" + dest.replace("/", "_")
