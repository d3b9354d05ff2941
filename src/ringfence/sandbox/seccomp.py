"""The seccomp filter: a pure compiler from ``SeccompOptions`` to a classic-BPF program.

bubblewrap loads the program with ``--seccomp FD``: it reads a raw array of
``struct sock_filter {u16 code; u8 jt; u8 jf; u32 k}`` (native byte order) and installs
it just before it executes the command, so bwrap's own set-up is never filtered.

Rules this module keeps:

- Pure: options in, bytes out. No I/O, no ctypes, no libseccomp; results are cached.
- One architecture per program. A syscall made through any other ABI (i386 via
  ``int 0x80``, arm32 compat, big-endian arm64) kills the process: its numbers mean
  different calls and would slip past every check below.
- Refuse with ``EPERM`` so programs see a clean error; ``clone3`` gets ``ENOSYS`` so
  glibc falls back to ``clone``, whose flags we *can* read.
- Arguments are compared on their low 32 bits only, exactly as the kernel truncates
  them (``int``/``unsigned int`` parameters). Checking the high half too would be a
  bypass: set a high bit, the filter sees no match, the kernel still sees the request
  (CVE-2017-5226 was TIOCSTI; CVE-2019-10063 was this very high-bits bypass of its fix).
- Syscalls that need no argument check leave the filter having read only ``nr`` and
  ``arch``, so the kernel's seccomp action cache (Linux 5.11+) allows them without
  running the program at all; the linear chain costs nothing on the hot path.

Reference: Docker's default profile (moby ``profiles/seccomp/default.json``), seccomp(2),
``Documentation/userspace-api/seccomp_filter.rst``.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Sequence
from ringfence._struct import record
from functools import lru_cache

from ringfence.errors import SandboxError

__all__ = [
    "SeccompOptions",
    "Refusal",
    "Insn",
    "Label",
    "assemble",
    "build_filter",
    "describe",
    "ARCHES",
]


@record
class SeccompOptions:
    """What the policy may loosen; everything else in the filter is fixed."""

    allow_unix_sockets: bool = False  # [network] unix_sockets = "sandbox"


# --- classic BPF: the few opcodes a seccomp filter needs (linux/bpf_common.h) ---------

_LD_W_ABS = 0x00 | 0x00 | 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x05 | 0x10  # BPF_JMP | BPF_JEQ | BPF_K
_JSET_K = 0x05 | 0x40  # BPF_JMP | BPF_JSET | BPF_K
_AND_K = 0x04 | 0x50  # BPF_ALU | BPF_AND | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K

_MAX_INSNS = 4096  # BPF_MAXINSNS: the kernel refuses longer programs
_MAX_JUMP = 255  # jt and jf are u8 offsets, forward only
_SOCK_FILTER = struct.Struct("=HBBI")  # native order, no padding: 8 bytes


# Insn, Label and _Arch are plain slotted classes, not dataclasses: a dataclass costs
# about a millisecond to create at import, and this module loads on every ``run``.


class Insn:
    """One instruction; ``jt``/``jf`` name a label or, when None, fall through."""

    __slots__ = ("code", "k", "jt", "jf")

    def __init__(self, code: int, k: int = 0, jt: str | None = None, jf: str | None = None):
        self.code, self.k, self.jt, self.jf = code, k, jt, jf


class Label:
    """A jump target: names the instruction that follows it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


def assemble(program: Sequence[Insn | Label]) -> bytes:
    """Resolve labels to forward u8 offsets and pack ``struct sock_filter`` records.

    Raises ``ValueError`` for a duplicate or unknown label, a backward jump, a jump over
    more than 255 instructions, or a program the kernel would refuse as too long; all
    are bugs in the program, never in the caller's options.
    """
    where: dict[str, int] = {}
    insns: list[Insn] = []
    for item in program:
        if isinstance(item, Label):
            if item.name in where:
                raise ValueError(f"BPF label {item.name!r} defined twice")
            where[item.name] = len(insns)
        else:
            insns.append(item)
    if not insns or len(insns) > _MAX_INSNS:
        raise ValueError(f"BPF program has {len(insns)} instructions (1..{_MAX_INSNS})")
    out = bytearray()
    for pc, insn in enumerate(insns):
        jt = _offset(where, pc, insn.jt)
        jf = _offset(where, pc, insn.jf)
        out += _SOCK_FILTER.pack(insn.code, jt, jf, insn.k & 0xFFFFFFFF)
    return bytes(out)


def _offset(where: dict[str, int], pc: int, label: str | None) -> int:
    if label is None:
        return 0
    if label not in where:
        raise ValueError(f"BPF jump at {pc} to unknown label {label!r}")
    offset = where[label] - (pc + 1)
    if offset < 0:
        raise ValueError(f"BPF jump at {pc} to {label!r} goes backward")
    if offset > _MAX_JUMP:
        raise ValueError(f"BPF jump at {pc} to {label!r} is {offset} long (max {_MAX_JUMP})")
    return offset


def _ld(offset: int) -> Insn:
    return Insn(_LD_W_ABS, offset)


def _jeq(k: int, jt: str | None = None, jf: str | None = None) -> Insn:
    return Insn(_JEQ_K, k, jt, jf)


def _ret(k: int) -> Insn:
    return Insn(_RET_K, k)


# --- seccomp ABI (linux/seccomp.h, linux/audit.h) ---------------------------------------

_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

# struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }
_NR = 0
_ARCH = 4


def _arg_low(index: int) -> int:
    # Both supported ABIs are little-endian (big-endian arm64 has another AUDIT_ARCH
    # value and is killed), so an argument's low 32 bits come first.
    return 16 + 8 * index


_X32_SYSCALL_BIT = 0x40000000

CLONE_NEWUSER = 0x10000000
TIOCSTI = 0x5412
TIOCLINUX = 0x541C
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_PACKET = 17
AF_VSOCK = 40
SOCK_RAW = 3
_SOCK_TYPE_MASK = 0xF  # the kernel strips SOCK_NONBLOCK | SOCK_CLOEXEC the same way

# personality(2) values Docker allows: PER_LINUX, PER_LINUX32 (``linux32``), UNAME26,
# both, and the 0xffffffff query. Anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC,
# foreign personas) switches off exploit mitigations for the process and its children.
_PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


class _Arch:
    """One syscall ABI; hashed by identity, so it can key the compile cache."""

    __slots__ = ("audit", "numbers", "x32")

    def __init__(self, *, audit: int, numbers: dict[str, int], x32: bool) -> None:
        self.audit = audit  # AUDIT_ARCH_* as seen in seccomp_data.arch
        self.numbers = numbers  # only the syscalls this filter names
        self.x32 = x32  # the x86_64 kernel also serves the x32 ABI under the same AUDIT_ARCH


# x86_64: arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h).
_X86_64 = _Arch(
    audit=0xC000003E,
    x32=True,
    numbers={
        "ioctl": 16, "socket": 41, "socketpair": 53, "clone": 56, "ptrace": 101,
        "syslog": 103, "uselib": 134, "personality": 135, "vhangup": 153,
        "modify_ldt": 154, "pivot_root": 155, "acct": 163, "mount": 165, "umount2": 166,
        "swapon": 167, "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173,
        "init_module": 175, "delete_module": 176, "quotactl": 179,
        "lookup_dcookie": 212, "kexec_load": 246, "add_key": 248, "request_key": 249,
        "keyctl": 250, "unshare": 272, "perf_event_open": 298, "open_by_handle_at": 304,
        "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
        "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
        "mount_setattr": 442, "quotactl_fd": 443, "open_tree_attr": 467,
    },
)  # fmt: skip

# aarch64: include/uapi/asm-generic/unistd.h (no uselib, iopl, ioperm, modify_ldt).
# Numbers from 424 on are shared by every architecture.
_AARCH64 = _Arch(
    audit=0xC00000B7,
    x32=False,
    numbers={
        "lookup_dcookie": 18, "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41,
        "vhangup": 58, "quotactl": 60, "acct": 89, "personality": 92, "unshare": 97,
        "kexec_load": 104, "init_module": 105, "delete_module": 106, "syslog": 116,
        "ptrace": 117, "reboot": 142, "socket": 198, "socketpair": 199,
        "add_key": 217, "request_key": 218, "keyctl": 219, "clone": 220, "swapon": 224,
        "swapoff": 225, "perf_event_open": 241, "open_by_handle_at": 265, "setns": 268,
        "process_vm_readv": 270, "process_vm_writev": 271, "finit_module": 273,
        "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "clone3": 435, "pidfd_getfd": 438,
        "mount_setattr": 442, "quotactl_fd": 443, "open_tree_attr": 467,
    },
)  # fmt: skip

_ARCHES = {"x86_64": _X86_64, "aarch64": _AARCH64}
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}
ARCHES = tuple(_ARCHES)


# --- what is refused, and why -----------------------------------------------------------


@record
class Refusal:
    """One line of ``describe()``: a syscall, when it is refused, the result and why."""

    syscall: str
    result: str  # "EPERM", "ENOSYS" or "kill"
    when: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"syscall": self.syscall, "result": self.result, "when": self.when,
                "reason": self.reason}


# Refused whatever the arguments. Deliberately *not* here:
# - name_to_handle_at: it only turns a path the caller can already see into a handle
#   and a mount id (libmount and systemd tools use it); the danger is the reverse call,
#   open_by_handle_at, which is refused. Docker allows it too.
# - unshare/clone of namespaces other than user. Run by a user, bwrap drops every
#   capability, so the kernel refuses them itself; a new *user* namespace is what would
#   hand CAP_SYS_ADMIN back, and that is refused below. Run by root, bwrap keeps the
#   capabilities inside the sandbox's own user namespace (the runner should pass
#   ``--cap-drop ALL``); even then a new mount, net or pid namespace nests inside the
#   sandbox's and grants nothing the command does not hold already, and mount() is
#   refused whatever namespace it runs in.
_ALWAYS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("mount", "umount2", "pivot_root", "move_mount", "open_tree", "open_tree_attr",
      "fsopen", "fsmount", "fsconfig", "fspick", "mount_setattr"),
     "changes the mount table; bwrap built the sandbox's view and it stays fixed"),
    (("kexec_load", "kexec_file_load", "reboot"),
     "replaces or restarts the running kernel"),
    (("init_module", "finit_module", "delete_module"),
     "loads or unloads kernel code"),
    (("io_uring_setup", "io_uring_enter", "io_uring_register"),
     "io_uring performs I/O out of this filter's sight and is a leading source of kernel "
     "exploits (disabled on ChromeOS, Android and Google servers)"),
    (("keyctl", "add_key", "request_key"),
     "kernel keyrings are not namespaced: keys could be shared with the host user"),
    (("bpf",),
     "eBPF programs and maps are kernel attack surface; no agent tool needs them"),
    (("perf_event_open",),
     "performance counters leak kernel addresses and side channels"),
    (("userfaultfd",),
     "lets a process stall kernel page faults, the classic way to win kernel races"),
    (("ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd"),
     "reads or controls another process's memory or descriptors (before Linux 4.8 a "
     "tracer could even rewrite syscalls after seccomp had checked them)"),
    (("swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "vhangup"),
     "host administration that no sandboxed command needs"),
    (("syslog",),
     "the kernel log is not namespaced and leaks kernel addresses"),
    (("open_by_handle_at",),
     "opens a file by handle around the mount view (the 2014 'shocker' container escape)"),
    (("setns",),
     "joins another namespace, leaving the sandbox's own"),
    (("lookup_dcookie", "uselib"),
     "obsolete interfaces (removed from current kernels) kept only as attack surface"),
    (("iopl", "ioperm"),
     "raw access to x86 I/O ports"),
    (("modify_ldt",),
     "16-bit segment descriptors: no modern use, a history of kernel bugs "
     "(CVE-2015-5157, CVE-2017-17053)"),
)  # fmt: skip


def _refusals(options: SeccompOptions, arch: _Arch) -> list[Refusal]:
    """Every refusal for ``arch`` in filter order, as a person reads them."""
    out = [Refusal("*", "kill", f"seccomp_data.arch != {arch.audit:#x}",
                   "a foreign syscall ABI (i386 int 0x80, arm32) numbers calls differently")]
    if arch.x32:
        out.append(Refusal("*", "EPERM", "syscall number has the x32 bit (0x40000000)",
                           "the x32 ABI reaches the same calls under other numbers"))
    out += [
        Refusal("ioctl", "EPERM", "cmd is TIOCSTI (0x5412) or TIOCLINUX (0x541c)",
                "pushes keystrokes into a terminal outside the sandbox (CVE-2017-5226)"),
        Refusal("socket", "EPERM", "domain is AF_PACKET (17)",
                "raw link-layer access around the proxy"),
        Refusal("socket", "EPERM", "domain is AF_VSOCK (40)",
                "vsock is not network-namespaced: it reaches the VM host directly"),
        Refusal("socket", "EPERM", "domain is AF_INET/AF_INET6 and type is SOCK_RAW",
                "hand-made packets around the proxy"),
    ]
    if not options.allow_unix_sockets:
        out.append(Refusal("socket", "EPERM", "domain is AF_UNIX (1)",
                           "host services listen on unix sockets (docker, ssh-agent, "
                           "D-Bus); socketpair() stays allowed"))
    for name in ("clone", "unshare"):
        out.append(Refusal(name, "EPERM", "flags include CLONE_NEWUSER",
                           "a nested user namespace hands back every capability"))
    out += [
        Refusal("personality", "EPERM", "persona is not 0, 8, 0x20000, 0x20008 or a query",
                "other personas switch off ASLR or NX for the process and its children"),
        Refusal("clone3", "ENOSYS", "always",
                "its flags live in memory a filter cannot read; glibc falls back to clone"),
    ]
    for names, reason in _ALWAYS:
        out += [Refusal(n, "EPERM", "always", reason) for n in names if n in arch.numbers]
    return out


# --- the compiler -------------------------------------------------------------------------


def _program(options: SeccompOptions, arch: _Arch) -> list[Insn | Label]:
    nr = arch.numbers
    eperm = "eperm"
    prog: list[Insn | Label] = [_ld(_ARCH), _jeq(arch.audit, jf="kill"), _ld(_NR)]
    if arch.x32:
        prog.append(Insn(_JSET_K, _X32_SYSCALL_BIT, jt=eperm))
    # Calls with argument checks come first: they cannot be cached by the kernel, so
    # they should run as few instructions as possible (ioctl is frequent).
    prog += [
        _jeq(nr["ioctl"], jt="ioctl"),
        _jeq(nr["socket"], jt="socket"),
        _jeq(nr["clone"], jt="ns_flags"),
        _jeq(nr["unshare"], jt="ns_flags"),
        _jeq(nr["personality"], jt="personality"),
        _jeq(nr["clone3"], jt="enosys"),
    ]
    for names, _reason in _ALWAYS:
        prog += [_jeq(nr[n], jt=eperm) for n in names if n in nr]
    prog.append(_ret(_RET_ALLOW))
    prog += _arg_checks(options)
    prog += [
        Label(eperm), _ret(_RET_ERRNO | errno.EPERM),
        Label("enosys"), _ret(_RET_ERRNO | errno.ENOSYS),
        Label("kill"), _ret(_RET_KILL_PROCESS),
        Label("allow"), _ret(_RET_ALLOW),
    ]
    return prog


def _arg_checks(options: SeccompOptions) -> list[Insn | Label]:
    """The argument checks; each block ends by jumping to a shared return."""
    eperm = "eperm"
    domains = [AF_PACKET, AF_VSOCK] + ([] if options.allow_unix_sockets else [AF_UNIX])
    socket = [_jeq(d, jt=eperm) for d in domains]
    return [
        # ioctl(unsigned int fd, unsigned int cmd, unsigned long arg)
        Label("ioctl"), _ld(_arg_low(1)),
        _jeq(TIOCSTI, jt=eperm), _jeq(TIOCLINUX, jt=eperm, jf="allow"),
        # socket(int domain, int type, int protocol)
        Label("socket"), _ld(_arg_low(0)), *socket,
        _jeq(AF_INET, jt="sock_type"), _jeq(AF_INET6, jt="sock_type", jf="allow"),
        Label("sock_type"), _ld(_arg_low(1)), Insn(_AND_K, _SOCK_TYPE_MASK),
        _jeq(SOCK_RAW, jt=eperm, jf="allow"),
        # clone(unsigned long flags, ...) keeps only the low 32 bits of flags; unshare()
        # returns EINVAL for any high bit, so the low half is all either call acts on.
        Label("ns_flags"), _ld(_arg_low(0)),
        Insn(_JSET_K, CLONE_NEWUSER, jt=eperm, jf="allow"),
        # personality(unsigned int persona)
        Label("personality"), _ld(_arg_low(0)),
        *[_jeq(p, jt="allow") for p in _PERSONAS], _ret(_RET_ERRNO | errno.EPERM),
    ]


def _resolve(arch: str | None) -> _Arch:
    # os.uname() is what platform.machine() returns on Linux, without importing platform.
    name = arch if arch is not None else os.uname().machine
    name = _ALIASES.get(name, name)
    if name not in _ARCHES:
        raise SandboxError(
            f"seccomp: no filter for architecture {name!r}",
            hint=f"run on one of {', '.join(ARCHES)}, or pass arch= explicitly",
        )
    return _ARCHES[name]


@lru_cache(maxsize=16)
def _compile(options: SeccompOptions, arch: _Arch) -> bytes:
    return assemble(_program(options, arch))


def build_filter(options: SeccompOptions, arch: str | None = None) -> bytes:
    """The seccomp program for ``arch`` (default: this machine) as bwrap reads it."""
    return _compile(options, _resolve(arch))


def describe(options: SeccompOptions, arch: str | None = None) -> list[dict[str, str]]:
    """What the filter refuses and why, in filter order, for ``--dry-run``."""
    return [r.to_json() for r in _refusals(options, _resolve(arch))]
