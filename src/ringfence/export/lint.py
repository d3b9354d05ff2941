"""``ringfence lint FILE``: the gaps of a container configuration against the guide's baseline.

Reads ``docker run`` / ``podman run`` command lines (a shell script or a single command,
``\\`` continuations included), a Compose file (``services:``) or Kubernetes manifests
(workloads: Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, and
agent-sandbox's Sandbox and SandboxTemplate), and lists every missing or weakening
setting with the guide's reason and the fix. Sensitive host mounts (``~/.ssh``,
``~/.aws``, ``~/.kube``, the Docker socket...) are flagged wherever they appear.

The baseline is the guide's hardened container: ``--cap-drop ALL``, ``--security-opt
no-new-privileges``, a seccomp profile, ``--read-only``, tmpfs with ``noexec,nosuid``,
``--network none`` (the proxy's Unix socket as the only way out), ``--memory``,
``--cpus``, ``--pids-limit``, a non-root ``--user``, the code mounted read-only, and
``--ipc private``; on Kubernetes the same in ``securityContext`` and ``resources``, no
service-account token, no host namespaces, and gVisor as the runtime class.
"""

from __future__ import annotations

import os
import re

from ringfence._struct import record
from ringfence.errors import ExitCode, RingfenceError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any


class LintError(RingfenceError):
    """The file cannot be read as any of the formats lint knows."""

    exit_code = ExitCode.USAGE


@record
class Gap:
    rule: str  # RF-LINT-...
    severity: str  # "error" (a boundary is missing or broken) or "warning" (hardening the guide adds)
    where: str  # "line 3", "services.agent", "Deployment/agent container agent"
    what: str  # what is missing or wrong
    why: str  # the guide's reason
    fix: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity, "where": self.where, "what": self.what,
                "why": self.why, "fix": self.fix}


# rule id: (severity, what it checks, why (the guide's reason), fix for docker, for compose, for kubernetes)
_RULES: dict[str, tuple[str, str, str, str, str, str]] = {
    "RF-LINT-CAPS": ("error", "capabilities are not all dropped",
                     "Linux capabilities such as NET_ADMIN and SYS_ADMIN allow privilege escalation",
                     "--cap-drop ALL", "cap_drop: [ALL]", "securityContext.capabilities.drop: [ALL]"),
    "RF-LINT-CAP-ADD": ("error", "a dangerous capability is added back",
                        "SYS_ADMIN, NET_ADMIN, SYS_PTRACE and the like undo the sandbox",
                        "remove --cap-add", "remove cap_add", "remove capabilities.add"),
    "RF-LINT-PRIVILEGED": ("error", "the container is privileged",
                           "a privileged container holds every capability and every device of the host",
                           "remove --privileged", "remove privileged: true", "securityContext.privileged: false"),
    "RF-LINT-NEW-PRIVS": ("error", "processes may gain privileges (no-new-privileges is not set)",
                          "setuid binaries would let a process gain privileges",
                          "--security-opt no-new-privileges", "security_opt: [no-new-privileges:true]",
                          "securityContext.allowPrivilegeEscalation: false"),
    "RF-LINT-SECCOMP": ("warning", "no seccomp profile of its own",
                        "seccomp limits the system calls; Docker's default blocks ~44, a custom profile blocks more",
                        "--security-opt seccomp=PROFILE (`ringfence export seccomp`)",
                        "security_opt: [seccomp=PROFILE]",
                        "securityContext.seccompProfile: {type: Localhost, localhostProfile: ...} or RuntimeDefault"),
    "RF-LINT-UNCONFINED": ("error", "a security profile is switched off",
                           "seccomp=unconfined, apparmor=unconfined or label=disable remove a layer of defence",
                           "remove the unconfined --security-opt", "remove the unconfined security_opt",
                           "do not set seccompProfile.type: Unconfined"),
    "RF-LINT-READ-ONLY": ("error", "the root file system is writable",
                          "a read-only root keeps the agent from persisting changes",
                          "--read-only", "read_only: true", "securityContext.readOnlyRootFilesystem: true"),
    "RF-LINT-NETWORK": ("error", "the container has a network",
                        "with no network interface the agent's only way out is the proxy's socket, which "
                        "enforces the allowlist, injects credentials and logs everything",
                        "--network none (and mount the proxy's Unix socket)", "network_mode: none",
                        "a NetworkPolicy allowing egress only to the proxy (`ringfence export kubernetes`)"),
    "RF-LINT-HOST-NS": ("error", "a host namespace is shared",
                        "the host's network, process, IPC or user namespace exposes the host itself",
                        "remove --network/--pid/--ipc/--uts/--userns host",
                        "remove network_mode/pid/ipc: host", "hostNetwork/hostPID/hostIPC: false"),
    "RF-LINT-MEMORY": ("error", "no memory limit", "a memory limit keeps the agent from exhausting the host",
                       "--memory 2g", "mem_limit: 2g (or deploy.resources.limits.memory)",
                       "resources.limits.memory"),
    "RF-LINT-CPUS": ("warning", "no CPU limit", "a CPU limit keeps the agent from starving the host",
                     "--cpus 2", "cpus: 2 (or deploy.resources.limits.cpus)", "resources.limits.cpu"),
    "RF-LINT-PIDS": ("error", "no process limit", "a process limit contains fork bombs",
                     "--pids-limit 100", "pids_limit: 100", "a pids limit on the node (podPidsLimit)"),
    "RF-LINT-USER": ("error", "runs as root", "the agent should run as a non-root user",
                     "--user 1000:1000", "user: \"1000:1000\"",
                     "securityContext.runAsNonRoot: true and runAsUser: 1000"),
    "RF-LINT-TMPFS": ("warning", "a tmpfs allows executables or set-id files",
                      "writable scratch space is cleaned when the container stops; noexec,nosuid keep it data only",
                      "--tmpfs /tmp:rw,noexec,nosuid,size=100m", "tmpfs: [\"/tmp:rw,noexec,nosuid,size=100m\"]",
                      "an emptyDir with sizeLimit"),
    "RF-LINT-IPC": ("warning", "IPC is not private", "a private IPC namespace prevents attacks across containers",
                    "--ipc private", "ipc: private", "hostIPC: false"),
    "RF-LINT-SENSITIVE-MOUNT": ("error", "a sensitive host path is mounted",
                                "credential folders (~/.ssh, ~/.aws, ~/.config, ~/.kube...) and container "
                                "sockets hand the agent the keys to the host or the cloud",
                                "remove the mount", "remove the volume", "remove the hostPath volume"),
    "RF-LINT-CODE-RW": ("warning", "the code is mounted writable",
                        "mounted read-only, the agent can analyse the code but not modify it; for writes a "
                        "person reviews, use an overlay (`ringfence run --overlay`)",
                        "add :ro to the mount", "add :ro to the volume", "readOnly: true on the volumeMount"),
    "RF-LINT-DEVICE": ("warning", "a host device is passed in", "devices reach the host kernel's drivers directly",
                       "remove --device", "remove devices", "remove the device mount"),
    "RF-LINT-SA-TOKEN": ("error", "a service-account token is mounted",
                         "the token lets the agent call the Kubernetes API", "", "",
                         "automountServiceAccountToken: false"),
    "RF-LINT-RUNTIME": ("warning", "no gVisor runtime class",
                        "standard containers share the host kernel; gVisor intercepts system calls in user space",
                        "--runtime runsc", "runtime: runsc", "runtimeClassName: gvisor"),
}

_DANGEROUS_CAPS = frozenset({
    "ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "DAC_READ_SEARCH", "SYS_BOOT",
    "NET_RAW", "SYS_TIME", "MKNOD", "BPF", "PERFMON", "SYSLOG", "MAC_ADMIN", "MAC_OVERRIDE", "SETFCAP",
    "LINUX_IMMUTABLE", "SYS_CHROOT", "AUDIT_CONTROL", "DAC_OVERRIDE", "SETUID", "SETGID",
})
_SENSITIVE = (
    (re.compile(r"(^|/)\.ssh(/|$)"), "SSH keys"),
    (re.compile(r"(^|/)\.aws(/|$)"), "AWS credentials"),
    (re.compile(r"(^|/)\.config(/gcloud)?(/|$)"), "~/.config (gcloud and other credentials)"),
    (re.compile(r"(^|/)\.azure(/|$)"), "Azure credentials"),
    (re.compile(r"(^|/)\.kube(/|$)"), "Kubernetes credentials"),
    (re.compile(r"(^|/)\.docker(/|$)"), "registry credentials"),
    (re.compile(r"(^|/)\.gnupg(/|$)"), "GPG keys"),
    (re.compile(r"(^|/)\.(git-credentials|netrc|npmrc|pypirc)$"), "a credential file"),
    (re.compile(r"(^|/)\.password-store(/|$)"), "a password store"),
    (re.compile(r"(^|/)(docker|podman|containerd)(/[\w.-]+)*\.sock$|^/var/run/docker\.sock$|^/run/docker\.sock$"),
     "a container engine's socket: root on the host"),
    (re.compile(r"^/(etc|root|proc|sys|boot|dev|var/run|run|var/lib/docker|var/lib/containers)?/?$"),
     "a host system folder"),
    (re.compile(r"^(~|\$HOME|\$\{HOME\}|/home/[^/]+|/Users/[^/]+)/?$"), "a whole home folder"),
)


def _gap(rule: str, where: str, flavour: int, detail: str = "") -> Gap:
    severity, what, why, *fixes = _RULES[rule]
    return Gap(rule, severity, where, f"{what}{f': {detail}' if detail else ''}", why, fixes[flavour] or fixes[0])


def sensitive(path: str) -> str | None:
    """What a host path exposes, or None."""
    normal = path.rstrip("/") or "/"
    for pattern, what in _SENSITIVE:
        if pattern.search(normal):
            return what
    return None


# ---- entry point -------------------------------------------------------------------------

def lint_file(path: str) -> tuple[str, list[Gap]]:
    """(the format read: "docker", "compose" or "kubernetes", the gaps) of the file."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise LintError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LintError(f"{path} is not text") from None
    return lint_text(text, path)


def lint_text(text: str, name: str = "<text>") -> tuple[str, list[Gap]]:
    commands = _run_commands(text)
    if commands:
        internal = _internal_networks(text)
        gaps: list[Gap] = []
        for line, argv in commands:
            gaps += lint_docker(argv, f"line {line}", internal)
        return "docker", gaps
    documents = _yaml(text, name)
    if any(isinstance(d, dict) and isinstance(d.get("services"), dict) for d in documents):
        compose = next(d for d in documents if isinstance(d, dict) and isinstance(d.get("services"), dict))
        return "compose", lint_compose(compose)
    workloads = [d for d in documents if isinstance(d, dict) and d.get("kind")]
    if workloads:
        return "kubernetes", lint_kubernetes(workloads)
    raise LintError(f"{name}: no `docker run` / `podman run` command, Compose services or Kubernetes objects",
                    hint="pass a script with the run command, a compose file or manifests")


def _yaml(text: str, name: str) -> list[Any]:
    import yaml

    try:
        return [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise LintError(f"{name}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


# ---- docker / podman run -------------------------------------------------------------------

def _run_commands(text: str) -> list[tuple[int, list[str]]]:
    """Each ``docker|podman run`` in a shell text: (its first line, its argv after ``run``)."""
    import shlex

    out = []
    joined, first = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not joined:
            first = number
        if raw.rstrip().endswith("\\"):
            joined += raw.rstrip()[:-1] + " "
            continue
        joined += raw
        try:
            words = shlex.split(joined, comments=True)
        except ValueError:
            words = []
        for at in range(len(words) - 1):
            if os.path.basename(words[at]) in ("docker", "podman"):
                start = _after_run(words, at + 1)
                if start is not None:
                    out.append((first, words[start:]))
                    break
        joined = ""
    return out


# The engines' own options before the subcommand that take a value (podman(1), docker(1)).
_GLOBAL_VALUE_FLAGS = {
    "--runtime", "--runtime-flag", "--root", "--runroot", "--storage-driver", "--storage-opt", "--cgroup-manager",
    "--events-backend", "--log-level", "--url", "--connection", "-c", "--context", "--identity", "--tmpdir",
    "--conmon", "--hooks-dir", "--network-cmd-path", "--network-config-dir", "--volumepath", "--module",
    "--config", "-H", "--host", "-l", "--tlscacert", "--tlscert", "--tlskey", "--db-backend", "--imagestore",
}


def _after_run(words: list[str], at: int) -> int | None:
    """Where the run options start, past the engine's own options and ``container run``."""
    while at < len(words):
        word = words[at]
        if word == "run":
            return at + 1
        if word == "container":
            at += 1
        elif word.startswith("-"):
            at += 2 if "=" not in word and word in _GLOBAL_VALUE_FLAGS else 1
        else:
            return None
    return None


def _internal_networks(text: str) -> frozenset[str]:
    """Networks the same script creates with ``network create --internal`` (no gateway)."""
    import shlex

    names = set()
    for line in text.replace("\\\n", " ").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        for at in range(len(words) - 2):
            if words[at] == "network" and words[at + 1] == "create" and "--internal" in words[at + 2:]:
                rest = [w for w in words[at + 2:] if not w.startswith("-")]
                if rest:
                    names.add(rest[0])
    return frozenset(names)


_VALUE_FLAGS = {
    "--cap-drop", "--cap-add", "--security-opt", "--network", "--net", "--memory", "-m", "--cpus", "--pids-limit",
    "--user", "-u", "--volume", "-v", "--mount", "--tmpfs", "--ipc", "--pid", "--uts", "--userns", "--device",
    "--runtime", "--name", "-e", "--env", "--env-file", "-w", "--workdir", "--entrypoint", "-p", "--publish",
    "--label", "-l", "--hostname", "-h", "--ulimit", "--memory-swap", "--cpu-shares", "--cpuset-cpus",
    "--restart", "--log-driver", "--log-opt", "--add-host", "--dns", "--group-add", "--shm-size", "--stop-signal",
    "--platform", "--pull", "--cgroupns", "--cgroup-parent", "--health-cmd", "--init-path", "--rootfs",
}


def _docker_options(argv: list[str]) -> dict[str, list[str]]:
    """The options before the image (``--flag value``, ``--flag=value``, switches as "")."""
    opts: dict[str, list[str]] = {}
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--" or not word.startswith("-"):
            break
        flag, eq, value = word.partition("=")
        if not eq and flag in _VALUE_FLAGS:
            i += 1
            value = argv[i] if i < len(argv) else ""
        opts.setdefault(flag, []).append(value)
        i += 1
    for short, long in (("-m", "--memory"), ("-u", "--user"), ("-v", "--volume"), ("--net", "--network")):
        if short in opts:
            opts.setdefault(long, []).extend(opts.pop(short))
    return opts


def lint_docker(argv: list[str], where: str, internal: frozenset[str] = frozenset()) -> list[Gap]:
    opts = _docker_options(argv)
    gaps: list[Gap] = []
    if _is_proxy(argv):
        return gaps  # ringfence's own proxy has a network by design
    drop = {c.upper().removeprefix("CAP_") for v in opts.get("--cap-drop", []) for c in v.split(",")}
    if "ALL" not in drop:
        gaps.append(_gap("RF-LINT-CAPS", where, 0))
    added = {c.upper().removeprefix("CAP_") for v in opts.get("--cap-add", []) for c in v.split(",")}
    if added & _DANGEROUS_CAPS:
        gaps.append(_gap("RF-LINT-CAP-ADD", where, 0, ", ".join(sorted(added & _DANGEROUS_CAPS))))
    if "--privileged" in opts:
        gaps.append(_gap("RF-LINT-PRIVILEGED", where, 0))
    security = [v.replace(":", "=", 1) if v.startswith(("seccomp:", "apparmor:", "label:")) else v
                for v in opts.get("--security-opt", [])]
    if not any(v in ("no-new-privileges", "no-new-privileges=true", "no-new-privileges:true") for v in security):
        gaps.append(_gap("RF-LINT-NEW-PRIVS", where, 0))
    unconfined = [v for v in security if v in ("seccomp=unconfined", "apparmor=unconfined", "label=disable")]
    if unconfined:
        gaps.append(_gap("RF-LINT-UNCONFINED", where, 0, ", ".join(unconfined)))
    elif not any(v.startswith("seccomp=") for v in security):
        gaps.append(_gap("RF-LINT-SECCOMP", where, 0))
    if "--read-only" not in opts or opts["--read-only"][-1] in ("false", "=false"):
        gaps.append(_gap("RF-LINT-READ-ONLY", where, 0))
    network = (opts.get("--network") or [""])[-1]
    if network == "host":
        gaps.append(_gap("RF-LINT-HOST-NS", where, 0, "--network host"))
    elif network != "none" and network not in internal:  # an internal network has no gateway: the proxy's pattern
        gaps.append(_gap("RF-LINT-NETWORK", where, 0, f"--network {network}" if network else "the default bridge"))
    for flag in ("--pid", "--ipc", "--uts", "--userns"):
        if (opts.get(flag) or [""])[-1] == "host":
            gaps.append(_gap("RF-LINT-HOST-NS", where, 0, f"{flag} host"))
    if (opts.get("--ipc") or [""])[-1] not in ("private", "none", "host"):
        gaps.append(_gap("RF-LINT-IPC", where, 0))
    if not opts.get("--memory"):
        gaps.append(_gap("RF-LINT-MEMORY", where, 0))
    if not opts.get("--cpus"):
        gaps.append(_gap("RF-LINT-CPUS", where, 0))
    pids = (opts.get("--pids-limit") or [""])[-1]
    if not pids or pids in ("0", "-1"):
        gaps.append(_gap("RF-LINT-PIDS", where, 0))
    user = (opts.get("--user") or [""])[-1]
    if _root_user(user):
        gaps.append(_gap("RF-LINT-USER", where, 0, f"--user {user}" if user else "no --user"))
    for spec in opts.get("--tmpfs", []):
        target, _, options = spec.partition(":")
        if not {"noexec", "nosuid"} <= set(options.split(",")):
            gaps.append(_gap("RF-LINT-TMPFS", where, 0, target))
    for source, target, read_only in _docker_mounts(opts):
        gaps += _mount_gaps(source, target, read_only, where, 0)
    if opts.get("--device"):
        gaps.append(_gap("RF-LINT-DEVICE", where, 0, ", ".join(opts["--device"])))
    return gaps


def _is_proxy(argv: list[str]) -> bool:
    """A container running ``ringfence proxy`` (the command after the image)."""
    return any(argv[at] == "ringfence" and argv[at + 1] == "proxy" for at in range(len(argv) - 1))


def _docker_mounts(opts: dict[str, list[str]]) -> list[tuple[str, str, bool]]:
    out = []
    for spec in opts.get("--volume", []):
        parts = spec.split(":")
        if len(parts) >= 2:
            flags = set(parts[2].split(",")) if len(parts) > 2 else set()
            out.append((parts[0], parts[1], "ro" in flags or "readonly" in flags))
    for spec in opts.get("--mount", []):
        fields = dict(item.partition("=")[::2] for item in spec.split(","))
        if fields.get("type", "volume") == "bind" or "source" in fields or "src" in fields:
            read_only = any(k in fields for k in ("readonly", "ro")) and fields.get("readonly", "true") != "false"
            out.append((fields.get("source", fields.get("src", "")), fields.get("target", fields.get("dst", "")),
                        read_only))
    return out


def _mount_gaps(source: str, target: str, read_only: bool, where: str, flavour: int) -> list[Gap]:
    what = sensitive(source) if source.startswith(("/", "~", "$")) else None
    if what is not None:
        return [_gap("RF-LINT-SENSITIVE-MOUNT", where, flavour, f"{source} ({what})")]
    if source.endswith(".sock") or (target.endswith(".sock") and "proxy" not in target):
        return [] if "proxy" in source else [_gap("RF-LINT-SENSITIVE-MOUNT", where, flavour,
                                                  f"{source} (a socket: whatever listens on it)")]
    if not read_only and source.startswith(("/", ".", "~", "$")) and not _is_scratch(target):
        return [_gap("RF-LINT-CODE-RW", where, flavour, f"{source} -> {target}")]
    return []


def _is_scratch(target: str) -> bool:
    return target.rstrip("/") in ("/tmp", "/output", "/out", "/var/tmp")


def _root_user(user: str) -> bool:
    name = user.split(":", 1)[0]
    return name in ("", "0", "root")


# ---- compose -------------------------------------------------------------------------------

def lint_compose(document: dict[str, Any]) -> list[Gap]:
    gaps: list[Gap] = []
    for name, service in (document.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        where = f"services.{name}"
        if "proxy" in str(name) and "proxy" in str(service.get("image", "")) + str(service.get("command", "")):
            continue  # the proxy's own service has a network by design
        drop = {str(c).upper().removeprefix("CAP_") for c in service.get("cap_drop") or []}
        if "ALL" not in drop:
            gaps.append(_gap("RF-LINT-CAPS", where, 1))
        added = {str(c).upper().removeprefix("CAP_") for c in service.get("cap_add") or []}
        if added & _DANGEROUS_CAPS:
            gaps.append(_gap("RF-LINT-CAP-ADD", where, 1, ", ".join(sorted(added & _DANGEROUS_CAPS))))
        if service.get("privileged") is True:
            gaps.append(_gap("RF-LINT-PRIVILEGED", where, 1))
        security = [str(v).replace(":", "=", 1) for v in service.get("security_opt") or []]
        if not any(v in ("no-new-privileges", "no-new-privileges=true") for v in security):
            gaps.append(_gap("RF-LINT-NEW-PRIVS", where, 1))
        unconfined = [v for v in security if v in ("seccomp=unconfined", "apparmor=unconfined", "label=disable")]
        if unconfined:
            gaps.append(_gap("RF-LINT-UNCONFINED", where, 1, ", ".join(unconfined)))
        elif not any(v.startswith("seccomp=") for v in security):
            gaps.append(_gap("RF-LINT-SECCOMP", where, 1))
        if service.get("read_only") is not True:
            gaps.append(_gap("RF-LINT-READ-ONLY", where, 1))
        mode = str(service.get("network_mode", ""))
        if mode == "host":
            gaps.append(_gap("RF-LINT-HOST-NS", where, 1, "network_mode: host"))
        elif mode != "none" and not _internal_only(document, service):
            gaps.append(_gap("RF-LINT-NETWORK", where, 1, f"network_mode: {mode}" if mode else "a default network"))
        for key in ("pid", "ipc", "userns_mode"):
            if str(service.get(key, "")) == "host":
                gaps.append(_gap("RF-LINT-HOST-NS", where, 1, f"{key}: host"))
        if str(service.get("ipc", "")) not in ("private", "none", "host"):
            gaps.append(_gap("RF-LINT-IPC", where, 1))
        limits = ((service.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if not (service.get("mem_limit") or limits.get("memory")):
            gaps.append(_gap("RF-LINT-MEMORY", where, 1))
        if not (service.get("cpus") or limits.get("cpus")):
            gaps.append(_gap("RF-LINT-CPUS", where, 1))
        if not (service.get("pids_limit") or limits.get("pids")) or str(service.get("pids_limit")) in ("0", "-1"):
            gaps.append(_gap("RF-LINT-PIDS", where, 1))
        user = str(service.get("user", ""))
        if _root_user(user):
            gaps.append(_gap("RF-LINT-USER", where, 1, f"user: {user}" if user else "no user"))
        tmpfs = service.get("tmpfs") or []
        for spec in [tmpfs] if isinstance(tmpfs, str) else tmpfs:
            target, _, options = str(spec).partition(":")
            if not {"noexec", "nosuid"} <= set(options.split(",")):
                gaps.append(_gap("RF-LINT-TMPFS", where, 1, target))
        for source, target, read_only in _compose_mounts(service.get("volumes") or []):
            gaps += _mount_gaps(source, target, read_only, where, 1)
        if service.get("devices"):
            gaps.append(_gap("RF-LINT-DEVICE", where, 1, ", ".join(map(str, service["devices"]))))
    return gaps


def _internal_only(document: dict[str, Any], service: dict[str, Any]) -> bool:
    """Every network the service joins is ``internal: true`` (no gateway): the proxy's pattern."""
    networks = service.get("networks")
    names = list(networks) if isinstance(networks, (list, dict)) else []
    defined = document.get("networks") or {}
    return bool(names) and all(isinstance(defined.get(n), dict) and defined[n].get("internal") is True
                               for n in names)


def _compose_mounts(volumes: Iterable[Any]) -> list[tuple[str, str, bool]]:
    out = []
    for volume in volumes:
        if isinstance(volume, str):
            parts = volume.split(":")
            if len(parts) >= 2:
                out.append((parts[0], parts[1], len(parts) > 2 and "ro" in parts[2].split(",")))
        elif isinstance(volume, dict) and volume.get("type", "bind") == "bind":
            out.append((str(volume.get("source", "")), str(volume.get("target", "")),
                        volume.get("read_only") is True))
    return out


# ---- kubernetes ----------------------------------------------------------------------------

def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return (spec.get("template") or {}).get("spec")
    if kind in ("Sandbox", "SandboxTemplate"):  # agents.x-k8s.io
        return (spec.get("podTemplate") or {}).get("spec")
    return None


def lint_kubernetes(objects: list[dict[str, Any]]) -> list[Gap]:
    gaps: list[Gap] = []
    for obj in objects:
        pod = _pod_spec(obj)
        if pod is None:
            continue
        name = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name', '?')}"
        pod_context = pod.get("securityContext") or {}
        if pod.get("automountServiceAccountToken") is not False:
            gaps.append(_gap("RF-LINT-SA-TOKEN", name, 2))
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(key) is True:
                gaps.append(_gap("RF-LINT-HOST-NS", name, 2, f"{key}: true"))
        if pod.get("runtimeClassName") not in ("gvisor", "runsc"):
            gaps.append(_gap("RF-LINT-RUNTIME", name, 2))
        volumes = {v.get("name"): v for v in pod.get("volumes") or [] if isinstance(v, dict)}
        for volume in volumes.values():
            host = (volume.get("hostPath") or {}).get("path")
            if host and sensitive(host):
                gaps.append(_gap("RF-LINT-SENSITIVE-MOUNT", name, 2, f"hostPath {host} ({sensitive(host)})"))
        for container in (pod.get("containers") or []) + (pod.get("initContainers") or []):
            where = f"{name} container {container.get('name', '?')}"
            context = container.get("securityContext") or {}
            caps = context.get("capabilities") or {}
            if "ALL" not in [str(c).upper() for c in caps.get("drop") or []]:
                gaps.append(_gap("RF-LINT-CAPS", where, 2))
            added = {str(c).upper() for c in caps.get("add") or []}
            if added & _DANGEROUS_CAPS:
                gaps.append(_gap("RF-LINT-CAP-ADD", where, 2, ", ".join(sorted(added & _DANGEROUS_CAPS))))
            if context.get("privileged") is True:
                gaps.append(_gap("RF-LINT-PRIVILEGED", where, 2))
            if context.get("allowPrivilegeEscalation") is not False:
                gaps.append(_gap("RF-LINT-NEW-PRIVS", where, 2))
            profile = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
            if profile.get("type") == "Unconfined":
                gaps.append(_gap("RF-LINT-UNCONFINED", where, 2, "seccompProfile Unconfined"))
            elif profile.get("type") not in ("RuntimeDefault", "Localhost"):
                gaps.append(_gap("RF-LINT-SECCOMP", where, 2))
            if context.get("readOnlyRootFilesystem") is not True:
                gaps.append(_gap("RF-LINT-READ-ONLY", where, 2))
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if user == 0 or (non_root is not True and user is None):
                gaps.append(_gap("RF-LINT-USER", where, 2))
            limits = (container.get("resources") or {}).get("limits") or {}
            if "memory" not in limits:
                gaps.append(_gap("RF-LINT-MEMORY", where, 2))
            if "cpu" not in limits:
                gaps.append(_gap("RF-LINT-CPUS", where, 2))
            for mount in container.get("volumeMounts") or []:
                volume = volumes.get(mount.get("name")) or {}
                if (volume.get("hostPath") or volume.get("persistentVolumeClaim")) and mount.get("readOnly") is not True:
                    gaps.append(_gap("RF-LINT-CODE-RW", where, 2, f"{mount.get('name')} -> {mount.get('mountPath')}"))
    return gaps
