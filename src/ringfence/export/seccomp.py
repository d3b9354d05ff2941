"""The container seccomp profile (Docker / OCI JSON), from the same rules as the sandbox's filter.

``ringfence export seccomp`` writes it; ``podman|docker run --security-opt seccomp=FILE``
loads it. Where ``ringfence.sandbox.seccomp`` compiles a deny-list to BPF for bubblewrap,
this profile is an allowlist, as Docker's own default is:

- Every system call is refused with EPERM unless it is allowed below (as Docker's default).
- Refused with EPERM, by name: everything the sandbox's filter refuses
  (``ringfence.sandbox.seccomp._ALWAYS``) and the calls Docker's default profile refuses
  (clock and time setting, NUMA memory policy, kcmp, sysfs, ustat, vm86, the obsolete
  module calls...).
- Allowed with conditions: ``socket`` for AF_INET/AF_INET6 streams, datagrams and
  sequenced packets and for AF_NETLINK, plus AF_UNIX only with ``[network] unix_sockets
  = "sandbox"`` (never AF_PACKET, AF_VSOCK or raw sockets); ``clone`` and ``unshare``
  without CLONE_NEWUSER; ``personality`` for the harmless personas; ``ioctl`` except
  TIOCSTI and TIOCLINUX (see ``_ioctl_allowed``). Comparisons look at the low 32 bits the
  kernel keeps, and ioctl's also at the high ones: setting a high bit does not slip past
  (CVE-2019-10063).
- ``clone3`` gets ENOSYS: its flags are in memory a filter cannot read; glibc falls back
  to ``clone``.
- Only the native architecture: a foreign ABI (i386 ``int 0x80``, x32) matches no rule.
"""

from __future__ import annotations

import errno
import os

from ringfence.export.syscalls import SYSCALLS
from ringfence.sandbox import seccomp as bpf

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy

# Docker's default profile refuses these too (or allows them only with a capability that
# --cap-drop ALL removes); the sandbox's filter leaves them to the missing capabilities.
_DOCKER_REFUSED = (
    "clock_adjtime", "clock_settime", "settimeofday", "stime", "adjtimex", "create_module",
    "get_kernel_syms", "query_module", "nfsservctl", "get_mempolicy", "set_mempolicy", "mbind",
    "move_pages", "kcmp", "sysfs", "_sysctl", "ustat", "vm86", "vm86old", "afs_syscall",
    "tuxcall", "security", "putpmsg", "getpmsg", "epoll_ctl_old", "epoll_wait_old", "chroot",
    "name_to_handle_at", "open_tree_attr",
)  # fmt: skip
_CONDITIONAL = ("socket", "clone", "unshare", "personality", "ioctl", "clone3")
_ARCHES = {"x86_64": "SCMP_ARCH_X86_64", "aarch64": "SCMP_ARCH_AARCH64"}
_LOW32 = 0xFFFFFFFF


def native_arch() -> str:
    """This machine's architecture, as ``profile`` names it."""
    machine = os.uname().machine
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def refused() -> list[str]:
    """Every call refused by name, sorted."""
    names = {n for names, _why in bpf._ALWAYS for n in names} | set(_DOCKER_REFUSED)
    return sorted(names)


def profile(policy: Policy, arch: str = "x86_64", header: str = "", *, unix_sockets: bool = False) -> dict[str, Any]:
    """The profile as a JSON-ready dict; ``header`` becomes its ``comment``. ``unix_sockets``
    allows AF_UNIX whatever the policy says: the docker backend's bridge needs it, and loads
    ringfence's own filter (which refuses it) into the agent (``ringfence.sandbox.bridge``)."""
    if arch not in _ARCHES:
        from ringfence.errors import UsageError

        raise UsageError(f"no seccomp profile for architecture {arch!r}", hint=f"use one of {', '.join(_ARCHES)}")
    from ringfence.policy import UnixSockets

    denied = refused()
    allowed = sorted(SYSCALLS - set(denied) - set(_CONDITIONAL))
    rules: list[dict[str, Any]] = [{"names": allowed, "action": "SCMP_ACT_ALLOW"}]
    domains = [(bpf.AF_INET, (1, 2, 5)), (bpf.AF_INET6, (1, 2, 5))]  # stream, dgram, seqpacket
    for domain, types in domains:
        rules += [_rule("socket", "SCMP_ACT_ALLOW", _low(0, domain), _masked(1, 0xF, kind)) for kind in types]
    rules.append(_rule("socket", "SCMP_ACT_ALLOW", _low(0, 16)))  # AF_NETLINK
    if unix_sockets or policy.network.unix_sockets is UnixSockets.SANDBOX:
        rules.append(_rule("socket", "SCMP_ACT_ALLOW", _low(0, bpf.AF_UNIX)))
    for name in ("clone", "unshare"):
        rules.append(_rule(name, "SCMP_ACT_ALLOW", _masked(0, bpf.CLONE_NEWUSER, 0)))
    rules += [_rule("personality", "SCMP_ACT_ALLOW", _low(0, p)) for p in bpf._PERSONAS]
    rules += [_rule("ioctl", "SCMP_ACT_ALLOW", _masked(1, mask, base)) for base, mask in _ioctl_allowed()]
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ENOSYS})
    rules.append({"names": denied, "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EPERM})
    out: dict[str, Any] = {}
    if header:
        out["comment"] = header
    out.update({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": errno.EPERM,
        "architectures": [_ARCHES[arch]],
        "syscalls": rules,
    })
    return out


def _ioctl_allowed() -> list[tuple[int, int]]:
    """Every 32-bit ioctl command but TIOCSTI and TIOCLINUX, as (base, mask) blocks.

    libseccomp compares whole 64-bit arguments, allows one comparison per argument in a
    rule, and lets an unconditional rule win over conditional ones for the same call. So
    "cmd is neither" is written as an allowlist of aligned blocks, each one masked
    comparison whose mask also covers the high 32 bits: a command with a high bit set
    (which the kernel would truncate to TIOCSTI) matches none of them."""
    out: list[tuple[int, int]] = []
    edges = [0, bpf.TIOCSTI, bpf.TIOCSTI + 1, bpf.TIOCLINUX, bpf.TIOCLINUX + 1, 1 << 32]
    for lo, hi in ((edges[0], edges[1]), (edges[2], edges[3]), (edges[4], edges[5])):
        while lo < hi:
            size = lo & -lo if lo else 1 << 32
            while lo + size > hi:
                size >>= 1
            out.append((lo, ~(size - 1) & 0xFFFFFFFFFFFFFFFF))
            lo += size
    return out


def _rule(name: str, action: str, *args: dict[str, Any], errno_ret: int | None = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"names": [name], "action": action, "args": list(args)}
    if errno_ret is not None:
        rule["errnoRet"] = errno_ret
    return rule


def _low(index: int, value: int) -> dict[str, Any]:
    """Argument ``index``, its low 32 bits, equals ``value``."""
    return _masked(index, _LOW32, value)


def _masked(index: int, mask: int, value: int) -> dict[str, Any]:
    return {"index": index, "value": mask, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"}
