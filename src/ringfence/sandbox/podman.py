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

Rootful only for now: rootless podman ignores memory, CPU and process limits on a cgroup v1
host, and silently dropping a limit is not an option.
"""

from __future__ import annotations

import os

from ringfence._struct import record
from ringfence.sandbox.plan import MountKind

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy
    from ringfence.sandbox.plan import SandboxPlan

RUNTIME = "runc"  # crun fails on this host kind's cgroup set-up; runc works with every flag


@record
class ContainerPlan:
    options: tuple[str, ...]  # ``podman ... run`` and its options
    target: tuple[str, ...]  # ``--rootfs DIR`` or ``--pull never IMAGE``
    command: tuple[str, ...]
    env: dict[str, str]  # values for the --env NAME options: podman's own environment, never argv
    notes: tuple[str, ...] = ()

    def argv(self, netns_pid: int | None, seccomp_file: str) -> list[str]:
        """The full command line; the namespace helper's pid and the profile's file are the run's."""
        network = ["--network", f"ns:/proc/{netns_pid}/ns/net"] if netns_pid is not None else ["--network", "none"]
        return [*self.options, *network, "--security-opt", f"seccomp={seccomp_file}", *self.target, *self.command]

    def to_json(self) -> dict[str, Any]:
        backend = "gvisor" if "runsc" in " ".join(self.options[:3]) else "podman"
        return {"backend": backend, "argv": self.argv(None, "$RUNTIME/seccomp.json"), "env": sorted(self.env),
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


def plan_podman(policy: Policy, plan: SandboxPlan, command: list[str], *, runtime: str, cwd: str,
                oci_runtime: str = RUNTIME) -> ContainerPlan:
    """The container for ``command``, from the bubblewrap plan of the same run; ``runtime``
    is the run's private folder (bind sources for masks, copies and the empty file)."""
    from ringfence.errors import SandboxError
    from ringfence.sandbox.bwrap import EMPTY_FILE_NAME, copy_name

    container = policy.container
    gvisor = os.path.basename(oci_runtime) == "runsc"
    if not (container.image or container.rootfs):
        raise SandboxError("the podman backend needs a root file system for the container",
                           hint='set [container] image = "..." (present locally: nothing is pulled) '
                           'or rootfs = "/path/to/rootfs"')
    roots = sorted({m.dest for m in plan.mounts if m.kind is MountKind.BIND})
    argv = [
        "podman", "--runtime", oci_runtime, *(GVISOR_FLAGS if gvisor else ()),
        "run", "--rm", "--interactive",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--read-only", "--read-only-tmpfs=false",
        "--tmpfs", f"/tmp:rw,noexec,nosuid,nodev,size={policy.sandbox.tmp_size}",
        "--tmpfs", f"{container.home}:rw,noexec,nosuid,nodev,size={container.home_size},mode=1777",
        "--tmpfs", "/run:rw,noexec,nosuid,nodev,size=16m",
        "--memory", str(container.memory), "--memory-swap", str(container.memory),
        "--cpus", f"{container.cpus:g}", "--pids-limit", str(container.pids + (_GVISOR_PIDS if gvisor else 0)),
        "--user", f"{plan.uid}:{plan.gid}", "--ipc", "private",
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
    env["HOME"] = container.home
    # PATH goes by value (it is no secret, and podman's own process needs the host's PATH to
    # find its tools); every other variable by name, its value in podman's environment
    argv += ["--env", f"PATH={env.pop('PATH', '/usr/local/bin:/usr/bin:/bin')}"]
    for name in sorted(env):
        argv += ["--env", name]
    target = ("--rootfs", container.rootfs) if container.rootfs else ("--pull", "never", container.image)
    return ContainerPlan(tuple(argv), target, tuple(command), env)


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
