"""Checks of what the bubblewrap backend needs, each with the exact fix when it fails.

Every check is real: it reads the kernel's settings and then tries the thing itself
(a user + network namespace, a bwrap sandbox, a seccomp filter).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from ringfence._struct import record

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
from pathlib import Path

MIN_BWRAP = (0, 8, 0)  # --disable-userns


@record
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def check_bwrap() -> Check:
    path = shutil.which("bwrap")
    if path is None:
        return Check("bubblewrap", False, "bwrap is not installed", "sudo apt-get install bubblewrap")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    match = re.search(r"(\d+)\.(\d+)\.(\d+)", out)
    version = tuple(int(x) for x in match.groups()) if match else (0, 0, 0)
    if version < MIN_BWRAP:
        return Check(
            "bubblewrap",
            False,
            f"{path} is version {'.'.join(map(str, version))}; ringfence needs 0.8.0 or newer (--disable-userns)",
            "install bubblewrap 0.8 or newer (Debian 12, Ubuntu 24.04 and later ship it)",
        )
    return Check("bubblewrap", True, f"{path} {'.'.join(map(str, version))}")


def check_userns_settings(read: Callable[[str], str | None] = _read) -> Check:
    """The kernel settings that turn user namespaces off (``read`` returns a /proc value)."""
    if read("/proc/sys/user/max_user_namespaces") == "0":
        return Check(
            "user namespaces", False, "user.max_user_namespaces is 0",
            "sudo sysctl -w user.max_user_namespaces=15000 (and persist it in /etc/sysctl.d/)",
        )
    if read("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        return Check(
            "user namespaces", False, "kernel.unprivileged_userns_clone is 0",
            "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and persist it in /etc/sysctl.d/)",
        )
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        return Check(
            "user namespaces", False,
            "AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, "
            "the Ubuntu 24.04 default)",
            "ringfence creates the sandbox's user and network namespace itself (then bwrap nests in it), so "
            "a profile for bwrap alone is not enough: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` "
            "(persist it in /etc/sysctl.d/), or an AppArmor profile granting `userns,` to the Python interpreter "
            "that runs ringfence plus Ubuntu's bwrap-userns-restrict profile for bwrap",
        )
    return Check("user namespaces", True, "enabled")


def check_sandbox() -> Check:
    """Try the real thing: a user + pid + network namespace sandbox running `true`."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check("sandbox", False, "skipped: bwrap missing", "sudo apt-get install bubblewrap")
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--unshare-user",
            "--disable-userns", "--die-with-parent", "--new-session", "--", "true"]
    preexec = _drop_privileges if os.getuid() == 0 else None
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, preexec_fn=preexec)
    if proc.returncode != 0:
        return Check(
            "sandbox", False, f"bwrap failed: {proc.stderr.strip() or proc.returncode}",
            "see the user namespaces check above; inside a container, use the landlock backend or run the "
            "container with --security-opt seccomp=unconfined --cap-add SYS_ADMIN",
        )
    return Check("sandbox", True, "bwrap created user, pid, network, ipc and uts namespaces")


def _drop_privileges() -> None:  # pragma: no cover - runs in the child
    os.setgroups([])
    os.setresgid(65534, 65534, 65534)
    os.setresuid(65534, 65534, 65534)


def check_seccomp() -> Check:
    status = _read("/proc/self/status") or ""
    if "Seccomp:" not in status:
        return Check("seccomp", False, "the kernel has no seccomp (CONFIG_SECCOMP_FILTER)", "use a kernel with seccomp")
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return Check("seccomp", False, "skipped: bwrap missing", "sudo apt-get install bubblewrap")
    from ringfence.sandbox.seccomp import SeccompOptions, build_filter

    fd = os.memfd_create("doctor-seccomp", 0)
    try:
        os.write(fd, build_filter(SeccompOptions()))
        os.lseek(fd, 0, os.SEEK_SET)
        argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--unshare-all", "--unshare-user", "--seccomp", str(fd), "--", "true"]
        preexec = _drop_privileges if os.getuid() == 0 else None
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, pass_fds=(fd,), preexec_fn=preexec)
    finally:
        os.close(fd)
    if proc.returncode != 0:
        return Check("seccomp", False, f"loading ringfence's filter failed: {proc.stderr.strip()}", "report this")
    return Check("seccomp", True, "ringfence's filter loads and `true` runs under it")


def landlock_abi() -> int:
    """Landlock's ABI version (0 when unsupported): landlock_create_ruleset(2) with the
    LANDLOCK_CREATE_RULESET_VERSION flag."""
    libc = ctypes.CDLL(None, use_errno=True)
    nr = {"x86_64": 444, "aarch64": 444}.get(os.uname().machine)
    if nr is None:
        return 0
    version = libc.syscall(nr, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def check_landlock() -> Check:
    abi = landlock_abi()
    if abi <= 0:
        return Check(
            "landlock", False, "Landlock is not enabled",
            "boot with lsm=landlock,... (Linux 5.13+); only needed for the landlock backend", required=False,
        )
    return Check("landlock", True, f"ABI version {abi}", required=False)


def check_network_namespace() -> Check:
    """The proxy path: a namespace of our own with a loopback listener, handed back to us."""
    import socket

    from ringfence.sandbox import netns

    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            if os.getuid() == 0:
                _drop_privileges()
                netns.make_dumpable()
            netns.enter_user_and_net_namespace()
            netns.bring_up_loopback()
            listeners = netns.listen_loopback(3128)
            socket.send_fds(child, [b"ok"], [s.fileno() for s in listeners])
        except BaseException as exc:  # noqa: BLE001
            child.sendall(f"{exc}".encode())
        os._exit(0)
    child.close()
    msg, fds, _, _ = socket.recv_fds(parent, 1024, 2)
    os.waitpid(pid, 0)
    for fd in fds:
        os.close(fd)
    if msg != b"ok":
        return Check(
            "network namespace", False, f"cannot create the proxy listener: {msg.decode(errors='replace')}",
            "see the user namespaces check",
        )
    return Check("network namespace", True, "own loopback with the proxy's listener works")


def check_overlay() -> Check:
    """``ringfence run --overlay``: kernel overlayfs mounted in a user namespace (userxattr)."""
    from ringfence.sandbox import overlay

    why = overlay.probe()
    if why is not None:
        return Check(
            "overlay (--overlay)", False, f"an unprivileged overlay mount fails: {why}",
            "use Linux 5.11 or later with overlayfs (modprobe overlay); only needed for `run --overlay`",
            required=False,
        )
    return Check("overlay (--overlay)", True, "kernel overlayfs mounts in a user namespace (userxattr)",
                 required=False)


def check_podman() -> Check:
    """``--backend podman``: podman with runc works here (``podman info``); rootless, what it
    cannot do (``ringfence.sandbox.podman.rootless_gaps``) and its subordinate ids."""
    name = "podman (--backend podman)"
    podman, runc = shutil.which("podman"), shutil.which("runc")
    if podman is None or runc is None:
        return Check(name, False, "podman and runc are not both installed", "sudo apt-get install podman runc uidmap",
                     required=False)
    try:
        info = subprocess.run([podman, "--runtime", runc, "info", "--format", "{{.Version.Version}}"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name, False, f"`podman info` failed: {exc}", "check podman's installation", required=False)
    if info.returncode != 0:
        why = (info.stderr.strip().splitlines() or ["no message"])[-1]
        return Check(name, False, f"`podman info` failed: {why}", "check podman's installation and storage",
                     required=False)
    if os.geteuid() == 0:
        return Check(name, True, f"podman {info.stdout.strip()} with runc, rootful: every limit applies", required=False)
    import pwd

    from ringfence.policy.model import ContainerPolicy
    from ringfence.sandbox.podman import rootless_gaps

    user = pwd.getpwuid(os.getuid()).pw_name
    ranges = _read("/etc/subuid") or ""
    if not any(line.split(":")[0] in (user, str(os.getuid())) for line in ranges.splitlines()):
        return Check(name, False, f"rootless podman needs subordinate ids for {user} (none in /etc/subuid)",
                     f"sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}", required=False)
    gaps = rootless_gaps(ContainerPolicy())
    return Check(name, True, f"podman {info.stdout.strip()} rootless, only with --allow-degraded: it cannot give "
                 + "; ".join(gap.split(":")[0] for gap in gaps), required=False)


def check_gvisor() -> Check:
    """``--backend gvisor``: runsc runs a sandbox here (``runsc do``, ptrace platform)."""
    name = "gVisor (--backend gvisor)"
    runsc = shutil.which("runsc")
    if runsc is None:
        return Check(name, False, "runsc is not installed", "sudo apt-get install runsc", required=False)
    if os.geteuid() != 0:
        return Check(name, False, "the gvisor backend needs rootful podman here", "run ringfence as root",
                     required=False)
    try:
        done = subprocess.run([runsc, "--platform=ptrace", "--network=none", "do", "/bin/true"],
                              capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name, False, f"`runsc do` failed: {exc}", "check runsc's installation", required=False)
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return Check(name, False, f"`runsc do /bin/true` failed: {why}", "check runsc's installation", required=False)
    return Check(name, True, "runsc runs a sandbox on the ptrace platform", required=False)


def check_docker() -> Check:
    """``--backend docker``: a Docker Engine answers (``docker version``)."""
    name = "docker (--backend docker)"
    docker = shutil.which("docker")
    if docker is None:
        return Check(name, False, "docker is not installed", "install Docker Engine (docs.docker.com/engine/install), "
                     "or use --backend podman", required=False)
    try:
        done = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return Check(name, False, f"`docker version` failed: {exc}", "start the Docker daemon", required=False)
    if done.returncode != 0 or not done.stdout.strip():
        why = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        return Check(name, False, f"no Docker Engine answers: {why}", "start the Docker daemon (sudo systemctl start "
                     "docker), or use --backend podman", required=False)
    return Check(name, True, f"Docker Engine {done.stdout.strip()} (the image needs python3 for the proxy's bridge)",
                 required=False)


def run_checks() -> list[Check]:
    return [
        check_bwrap(),
        check_userns_settings(),
        check_sandbox(),
        check_network_namespace(),
        check_seccomp(),
        check_landlock(),
        check_overlay(),
        check_podman(),
        check_gvisor(),
        check_docker(),
    ]
