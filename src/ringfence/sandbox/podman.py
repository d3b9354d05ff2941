"""The podman backend (``ringfence run --backend podman``): the guide's hardened container.

A pure planner: the bubblewrap plan of the same run (``plan_bwrap``) already says what the
agent may see and write inside its writable paths (the workspace bind, masked files,
protected names, hidden paths, placeholders); this module turns that into ``podman run``
flags around a root file system of its own (``[container] image`` or ``rootfs``), with:

- ``--cap-drop ALL``, ``--security-opt no-new-privileges``, ringfence's seccomp profile
  (``ringfence.export.seccomp``), ``--read-only``, ``noexec,nosuid`` tmpfs for ``/tmp`` and
  the home, ``--memory``/``--cpus``/``--pids-limit`` from ``[container]``, the agent's
  ``--user``, ``--ipc private``, the caller's file and process limits (podman's defaults
  can exceed this host's hard limits), ``--pull never``;
- the network namespace ringfence built (``--network ns:/proc/PID/ns/net``): only
  loopback, where the proxy's listener waits, exactly as for bubblewrap; the proxy stays
  outside, and no AF_UNIX socket is needed inside;
- the environment passed by name (``--env NAME``, values in podman's own environment): no
  value, placeholder or not, is ever in argv.

Rootless podman works too, with what it cannot do named (``rootless_gaps``): the network
namespace is then made inside podman's own user namespace (its pause process's), which is
the only one rootless podman may join; the agent runs as uid 0 of that namespace, which is
the invoking user on the host with every capability dropped (a ``--user`` of its own would
map to a subordinate uid that cannot write the workspace); and on a cgroup v1 host (or v2
without delegated controllers) memory, CPU and pids limits cannot be applied. A gap is an
error unless the user passes ``--allow-degraded``, and then each is named.
"""

from __future__ import annotations

import os

from ringfence._struct import record
from ringfence.sandbox.plan import MountKind

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy
    from ringfence.policy.model import ContainerPolicy
    from ringfence.sandbox.plan import SandboxPlan

RUNTIME = "runc"  # crun fails on this host kind's cgroup set-up; runc works with every flag


@record
class ContainerPlan:
    options: tuple[str, ...]  # ``podman ... run`` and its options
    target: tuple[str, ...]  # ``--rootfs DIR`` or ``--pull never IMAGE``
    command: tuple[str, ...]
    env: dict[str, str]  # values for the --env NAME options: podman's own environment, never argv
    notes: tuple[str, ...] = ()  # what this plan cannot do (rootless: ``rootless_gaps``)
    rootless: bool = False

    def argv(self, netns_pid: int | None, seccomp_file: str) -> list[str]:
        """The full command line; the namespace helper's pid and the profile's file are the run's."""
        network = ["--network", f"ns:/proc/{netns_pid}/ns/net"] if netns_pid is not None else ["--network", "none"]
        return [*self.options, *network, "--security-opt", f"seccomp={seccomp_file}", *self.target, *self.command]

    def to_json(self) -> dict[str, Any]:
        backend = "docker" if self.options[0] == "docker" else (
            "gvisor" if "runsc" in " ".join(self.options[:3]) else "podman")
        return {"backend": backend, "rootless": self.rootless, "argv": self.argv(None, "$RUNTIME/seccomp.json"), "env": sorted(self.env),
                "notes": list(self.notes)}


def _inside(path: str, roots: list[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


# gVisor's sentry and gofer are host processes and threads in the container's pids cgroup (on
# the ptrace platform, every task of the agent has a host stub too): a limit of 64 starves the
# sandbox before it boots. The agent's own processes stay limited by RLIMIT_NPROC = pids.
_GVISOR_PIDS = 1024
GVISOR_FLAGS = (
    # ptrace: the platform that works without KVM; network=host: gVisor's sockets are the host
    # kernel's, in ringfence's namespace (loopback and the proxy's listener, nothing else);
    # oci-seccomp: gVisor applies the container's seccomp profile inside the sandbox as well
    "--runtime-flag", "platform=ptrace", "--runtime-flag", "network=host", "--runtime-flag", "oci-seccomp",
)


def rootless_gaps(container: ContainerPolicy, uid: int | None = None) -> list[str]:
    """What rootless podman cannot do for this policy's ``[container]`` on this host, one
    sentence each (the part before the first colon names it)."""
    controllers = _delegated_controllers(os.getuid() if uid is None else uid)
    why = ("rootless podman cannot apply it on this host (cgroup v1, or cgroup v2 without the controller "
           "delegated to your user)")
    gaps = ["a non-root user inside the container: rootless, the agent runs as uid 0 of podman's user "
            "namespace, which is your own uid on the host, with every capability dropped"]
    if "memory" not in controllers:
        gaps.append(f"the memory limit ([container] memory = {container.memory} bytes): {why}")
    if "cpu" not in controllers:
        gaps.append(f"the CPU limit ([container] cpus = {container.cpus:g}): {why}")
    if "pids" not in controllers:
        gaps.append(f"the pids limit ([container] pids = {container.pids}): {why}; RLIMIT_NPROC = "
                    f"{container.pids} still caps the agent's processes")
    return gaps


def _delegated_controllers(uid: int) -> set[str]:
    """The cgroup controllers rootless podman may use: none on cgroup v1; on v2, those
    systemd delegates to the user's service (podman's own check, in short)."""
    if not os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return set()  # cgroup v1: rootless containers get no cgroup limits at all
    path = f"/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers"
    try:
        with open(path) as fh:
            return set(fh.read().split())
    except OSError:
        return set()


def pause_process() -> int:
    """The pid of rootless podman's pause process, which holds podman's user namespace;
    started (``podman unshare true``) when it is not running."""
    import subprocess

    from ringfence.errors import SandboxError

    found = _find_pause()
    if found is None:
        try:
            subprocess.run(["podman", "unshare", "true"], check=True, capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            raise SandboxError(f"cannot start rootless podman's user namespace: {detail.decode(errors='replace').strip() or exc}",
                               hint="check `podman unshare true` and /etc/subuid, /etc/subgid for your user") from None
        found = _find_pause()
    if found is None:
        raise SandboxError("cannot find rootless podman's pause process (its user namespace)",
                           hint="run `podman system migrate`, then try again")
    return found


def _find_pause() -> int | None:
    uid = os.getuid()
    folders = [os.environ.get("XDG_RUNTIME_DIR", ""), f"/run/user/{uid}", f"/tmp/podman-run-{uid}"]
    mine = os.readlink("/proc/self/ns/user")
    for folder in filter(None, folders):
        try:
            # podman's own folder, nobody else's: /tmp is anyone's, and a pid planted there must
            # not send the helper into some other user namespace of ours
            if any((st.st_uid != uid or st.st_mode & 0o022) for st in (
                    os.stat(folder), os.stat(os.path.join(folder, "libpod/tmp")))):
                continue
            with open(os.path.join(folder, "libpod/tmp/pause.pid")) as fh:
                if os.fstat(fh.fileno()).st_uid != uid:
                    continue
                pid = int(fh.read().strip())
            if os.stat(f"/proc/{pid}").st_uid == uid and os.readlink(f"/proc/{pid}/ns/user") != mine:
                return pid
        except (OSError, ValueError):
            continue
    return None


# The docker backend's files in the run's folder, bound read-only into the container's /run.
INSIDE = "/run/ringfence"
BRIDGE = "bridge.py"
PROXY_SOCKET = "proxy.sock"
FILTER = "seccomp.bpf"


def plan_podman(policy: Policy, plan: SandboxPlan, command: list[str], *, runtime: str, cwd: str,
                oci_runtime: str = RUNTIME, rootless: bool = False, engine: str = "podman",
                tty: bool = False) -> ContainerPlan:
    """The container for ``command``, from the bubblewrap plan of the same run; ``runtime``
    is the run's private folder (bind sources for masks, copies and the empty file). Rootless,
    what ``rootless_gaps`` names is left out, and listed in the plan's notes.

    ``engine="docker"``: the same container for ``docker run``, which cannot join ringfence's
    network namespace: ``--network none``, and (with the network on) the proxy's Unix socket,
    the bridge and ringfence's seccomp program bound read-only under /run/ringfence, the
    bridge as the entrypoint (it needs python3 in the image). ``tty``: ``--tty`` (a terminal)."""
    from ringfence.errors import SandboxError
    from ringfence.sandbox.bwrap import EMPTY_FILE_NAME, copy_name

    container = policy.container
    gvisor = os.path.basename(oci_runtime) == "runsc"
    docker = engine == "docker"
    if docker and not container.image:
        raise SandboxError("the docker backend needs an image for the container (docker has no --rootfs)",
                           hint='set [container] image = "..." (present locally: nothing is pulled)')
    if not (container.image or container.rootfs):
        raise SandboxError("the podman backend needs a root file system for the container",
                           hint='set [container] image = "..." (present locally: nothing is pulled) '
                           'or rootfs = "/path/to/rootfs"')
    roots = sorted({m.dest for m in plan.mounts if m.kind is MountKind.BIND})
    gaps = rootless_gaps(container, plan.uid) if rootless else []
    limits = [
        *(["--memory", str(container.memory), "--memory-swap", str(container.memory)]
          if not any("memory limit" in gap for gap in gaps) else []),
        *(["--cpus", f"{container.cpus:g}"] if not any("CPU limit" in gap for gap in gaps) else []),
        *(["--pids-limit", str(container.pids + (_GVISOR_PIDS if gvisor else 0))]
          if not any("pids limit" in gap for gap in gaps) else []),
    ]
    head = ["docker", "run"] if docker else ["podman", "--runtime", oci_runtime, *(GVISOR_FLAGS if gvisor else ()), "run"]
    argv = [
        *head, "--rm", "--interactive", *(["--tty"] if tty else []),
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--read-only", *([] if docker else ["--read-only-tmpfs=false"]),
        "--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={policy.sandbox.tmp_size}",
        "--tmpfs", f"{container.home}:rw,noexec,nosuid,nodev,size={container.home_size},mode=1777",
        "--tmpfs", "/run:rw,noexec,nosuid,nodev,size=16m",
        *limits,
        "--user", "0:0" if rootless else f"{plan.uid}:{plan.gid}", "--ipc", "private",
        "--ulimit", "nofile={}:{}".format(*_limit("nofile")),
        "--ulimit", f"nproc={min(container.pids, _limit('nproc')[1])}",
        "--workdir", cwd if _inside(cwd, roots) else plan.workspace,
        "--log-driver", "none", "--sig-proxy=true",
    ]
    for mount in plan.mounts:
        if mount.kind is MountKind.RO_COPY and mount.source is not None:
            argv += ["--volume", f"{os.path.join(runtime, copy_name(mount.dest))}:{mount.dest}:ro"]
            continue
        if not _inside(mount.dest, roots):
            continue  # the host's own tree: the container has a root file system of its own
        if mount.kind is MountKind.BIND:
            argv += ["--volume", f"{mount.source or mount.dest}:{mount.dest}:rw"]
        elif mount.kind is MountKind.RO_BIND:
            argv += ["--volume", f"{mount.source or mount.dest}:{mount.dest}:ro"]
        elif mount.kind is MountKind.EMPTY_FILE:
            argv += ["--volume", f"{os.path.join(runtime, EMPTY_FILE_NAME)}:{mount.dest}:ro"]
        elif mount.kind is MountKind.MASKED_COPY:
            argv += ["--volume", f"{os.path.join(runtime, copy_name(mount.dest))}:{mount.dest}:ro"]
        elif mount.kind in (MountKind.EMPTY_DIR, MountKind.TMPFS):
            read_only = ",ro=true" if mount.kind is MountKind.EMPTY_DIR else ""
            argv += ["--mount", f"type=tmpfs,destination={mount.dest},tmpfs-size={mount.size or 4096}{read_only}"]
    env = dict(plan.env)
    env.pop("HOME", None)
    # PATH and HOME go by value (no secrets, and podman's own process needs the host's: PATH
    # to find its tools, HOME for rootless podman's storage); every other variable by name,
    # its value in podman's environment
    argv += ["--env", f"PATH={env.pop('PATH', '/usr/local/bin:/usr/bin:/bin')}", "--env", f"HOME={container.home}"]
    for name in sorted(env):
        argv += ["--env", name]
    if docker and plan.proxy_port:  # the bridge to the proxy's socket (ringfence.sandbox.bridge)
        for name in (BRIDGE, PROXY_SOCKET, FILTER):
            argv += ["--volume", f"{os.path.join(runtime, name)}:{INSIDE}/{name}:ro"]
        argv += ["--entrypoint", "python3"]
        command = [f"{INSIDE}/{BRIDGE}", str(plan.proxy_port), f"{INSIDE}/{PROXY_SOCKET}", f"{INSIDE}/{FILTER}",
                   "--", *command]
    if docker:
        gaps.append("user namespace remapping is the Docker daemon's setting (dockerd --userns-remap=default, or "
                    "rootless Docker), not a container's: without it the agent's uid inside is the same uid on the host")
    target = ("--rootfs", container.rootfs) if container.rootfs and not docker else ("--pull", "never", container.image)
    return ContainerPlan(tuple(argv), target, tuple(command), env, tuple(gaps), rootless)


def _limit(name: str) -> tuple[int, int]:
    """The caller's own limit: podman's defaults (RLIMIT_NOFILE 1048576, RLIMIT_NPROC 32768)
    can exceed this host's hard limits, and runc then fails to start the container."""
    import resource

    which = {"nofile": resource.RLIMIT_NOFILE, "nproc": resource.RLIMIT_NPROC}[name]
    soft, hard = resource.getrlimit(which)
    top = 1 << 20
    hard = top if hard == resource.RLIM_INFINITY else hard
    soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
    return soft, hard
