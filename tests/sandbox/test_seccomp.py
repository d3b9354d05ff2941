"""The seccomp compiler: assembler, program structure, and the filter on a real kernel.

The unit tests run the compiled program through a small classic-BPF interpreter, so
every rule is checked on both architectures without a kernel. The boundary tests load
the same bytes with ``bwrap --seccomp`` and try each call for real, once without the
filter (the baseline) so a row can prove the filter, not the kernel, refused the call.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import platform
import pwd
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ringfence.errors import SandboxError
from ringfence.sandbox import seccomp
from ringfence.sandbox.seccomp import Insn, Label, SeccompOptions, assemble, build_filter

DEFAULT = SeccompOptions()
UNIX_OK = SeccompOptions(allow_unix_sockets=True)

AUDIT_X86_64 = 0xC000003E
AUDIT_AARCH64 = 0xC00000B7
AUDIT_I386 = 0x40000003
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
EPERM = 0x00050000 | errno.EPERM
ENOSYS = 0x00050000 | errno.ENOSYS


# --- a classic-BPF interpreter, just enough for seccomp programs -------------------------


def run_bpf(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """What the kernel's filter returns for ``struct seccomp_data`` (little-endian)."""
    full = (list(args) + [0] * 6)[:6]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *[a & (2**64 - 1) for a in full])
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = insns[pc]
        pc += 1
        if code == 0x20:  # ld [k]
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == 0x54:  # and #k
            acc &= k
        elif code in (0x15, 0x45):  # jeq / jset
            hit = acc == k if code == 0x15 else bool(acc & k)
            pc += jt if hit else jf
        elif code == 0x06:  # ret #k
            return int(k)
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def verdict(nr_name: str, args: tuple[int, ...] = (), *, arch: str = "x86_64",
            options: SeccompOptions = DEFAULT) -> int:  # fmt: skip
    table = {"x86_64": seccomp._X86_64, "aarch64": seccomp._AARCH64}[arch]
    return run_bpf(build_filter(options, arch), table.numbers[nr_name], table.audit, args)


# --- assembler ---------------------------------------------------------------------------


def test_assembler_resolves_labels_to_forward_offsets() -> None:
    prog = assemble([
        Insn(0x15, 7, jt="yes", jf="no"),
        Insn(0x06, 1),
        Label("yes"), Insn(0x06, 2),
        Label("no"), Insn(0x06, 3),
    ])  # fmt: skip
    assert struct.unpack("=HBBI", prog[:8]) == (0x15, 1, 2, 7)
    assert len(prog) == 4 * 8


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ([Insn(0x15, 0, jt="far"), *[Insn(0x06)] * 256, Label("far"), Insn(0x06)], "256 long"),
        ([Label("back"), Insn(0x06), Insn(0x15, jt="back")], "backward"),
        ([Insn(0x15, jt="nowhere"), Insn(0x06)], "unknown label"),
        ([Label("x"), Label("x"), Insn(0x06)], "defined twice"),
        ([], "0 instructions"),
        ([Insn(0x06)] * 4097, "4097 instructions"),
    ],
    ids=["too-far", "backward", "unknown", "duplicate", "empty", "too-long"],
)
def test_assembler_refuses_programs_the_kernel_would_not_load(
    program: list[Insn | Label], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        assemble(program)


def test_assembler_allows_a_jump_of_exactly_255() -> None:
    prog = assemble([Insn(0x15, 0, jt="edge"), *[Insn(0x06)] * 255, Label("edge"), Insn(0x06)])
    assert prog[2] == 255


# --- the program, rule by rule (interpreted) --------------------------------------------

LOW_HIGH = 1 << 32  # a bit the kernel drops when it truncates an argument to 32 bits


@dataclass(frozen=True)
class Rule:
    id: str
    syscall: str
    args: tuple[int, ...]
    expected: int
    options: SeccompOptions = DEFAULT


ALWAYS_REFUSED = [name for names, _ in seccomp._ALWAYS for name in names]

RULES = [
    Rule("clone3", "clone3", (0, 88), ENOSYS),
    Rule("clone-newuser", "clone", (0x10000000 | 17,), EPERM),
    Rule("clone-fork", "clone", (17,), RET_ALLOW),
    Rule("clone-thread", "clone", (0x3D0F00,), RET_ALLOW),
    # the kernel keeps only the low half of clone's flags: a high NEWUSER is no request
    Rule("clone-newuser-high-half", "clone", (0x10000000 * LOW_HIGH | 17,), RET_ALLOW),
    Rule("unshare-newuser", "unshare", (0x10000000,), EPERM),
    Rule("unshare-newuser-newns", "unshare", (0x10020000,), EPERM),
    Rule("unshare-newns", "unshare", (0x20000,), RET_ALLOW),
    Rule("ioctl-tiocsti", "ioctl", (0, 0x5412, 0), EPERM),
    Rule("ioctl-tiocsti-high-bits", "ioctl", (0, 0x5412 | 0xFFFF * LOW_HIGH, 0), EPERM),
    Rule("ioctl-tioclinux", "ioctl", (0, 0x541C), EPERM),
    Rule("ioctl-tiocgwinsz", "ioctl", (0, 0x5413), RET_ALLOW),
    Rule("socket-unix", "socket", (1, 1, 0), EPERM),
    Rule("socket-unix-high-bits", "socket", (1 | LOW_HIGH, 1, 0), EPERM),
    Rule("socket-unix-allowed", "socket", (1, 1, 0), RET_ALLOW, UNIX_OK),
    Rule("socket-packet", "socket", (17, 3, 0), EPERM),
    Rule("socket-packet-unix-allowed", "socket", (17, 3, 0), EPERM, UNIX_OK),
    Rule("socket-vsock", "socket", (40, 1, 0), EPERM),
    Rule("socket-inet-raw", "socket", (2, 3, 1), EPERM),
    Rule("socket-inet-raw-cloexec", "socket", (2, 3 | 0o2000000, 1), EPERM),
    Rule("socket-inet6-raw", "socket", (10, 3, 58), EPERM),
    Rule("socket-inet-stream", "socket", (2, 1, 0), RET_ALLOW),
    Rule("socket-inet6-dgram", "socket", (10, 2, 0), RET_ALLOW),
    Rule("socket-netlink", "socket", (16, 3, 0), RET_ALLOW),
    Rule("socket-netlink-raw-not-inet", "socket", (16, 3, 0), RET_ALLOW),
    Rule("socketpair-unix", "socketpair", (1, 1, 0, 0), RET_ALLOW),
    Rule("personality-linux", "personality", (0,), RET_ALLOW),
    Rule("personality-query", "personality", (0xFFFFFFFF,), RET_ALLOW),
    Rule("personality-linux32", "personality", (8,), RET_ALLOW),
    Rule("personality-no-aslr", "personality", (0x0040000,), EPERM),
    Rule("personality-query-high-bits", "personality", (0xFFFFFFFF | LOW_HIGH,), RET_ALLOW),
]


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule(rule: Rule, arch: str) -> None:
    assert verdict(rule.syscall, rule.args, arch=arch, options=rule.options) == rule.expected


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_every_listed_syscall_is_refused_with_eperm(arch: str) -> None:
    table = {"x86_64": seccomp._X86_64, "aarch64": seccomp._AARCH64}[arch]
    names = [n for n in ALWAYS_REFUSED if n in table.numbers]
    assert names and all(verdict(n, arch=arch) == EPERM for n in names)


@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_ordinary_syscalls_are_allowed(arch: str) -> None:
    table = {"x86_64": seccomp._X86_64, "aarch64": seccomp._AARCH64}[arch]
    refused = set(table.numbers.values())
    program = build_filter(DEFAULT, arch)
    for nr in range(0, 470):
        if nr not in refused:
            assert run_bpf(program, nr, table.audit) == RET_ALLOW, nr


def test_name_to_handle_at_stays_allowed() -> None:
    assert run_bpf(build_filter(DEFAULT, "x86_64"), 303, AUDIT_X86_64) == RET_ALLOW


@pytest.mark.parametrize(
    ("arch", "audit"),
    [("x86_64", AUDIT_I386), ("x86_64", AUDIT_AARCH64), ("aarch64", 0x40000028),
     ("aarch64", AUDIT_X86_64), ("aarch64", 0x800000B7)],
    ids=["x86_64-i386", "x86_64-aarch64", "aarch64-arm32", "aarch64-x86_64", "aarch64-be"],
)  # fmt: skip
def test_foreign_abi_kills_the_process(arch: str, audit: int) -> None:
    for nr in (0, 39, 172, 0x40000027):
        assert run_bpf(build_filter(DEFAULT, arch), nr, audit) == RET_KILL_PROCESS


def test_x32_syscalls_are_refused_on_x86_64() -> None:
    program = build_filter(DEFAULT, "x86_64")
    assert run_bpf(program, 0x40000000 | 39, AUDIT_X86_64) == EPERM
    assert run_bpf(program, 0x40000000 | 0x200, AUDIT_X86_64) == EPERM


def test_aarch64_has_no_x32_check_and_no_x86_only_calls() -> None:
    # on arm64 0x40000000+ is just an unknown number (ENOSYS from the kernel)
    assert run_bpf(build_filter(DEFAULT, "aarch64"), 0x40000000 | 172, AUDIT_AARCH64) == RET_ALLOW
    assert {"iopl", "ioperm", "modify_ldt", "uselib"}.isdisjoint(seccomp._AARCH64.numbers)


def test_aarch64_program_structure() -> None:
    program = build_filter(DEFAULT, "aarch64")
    insns = [struct.unpack_from("=HBBI", program, i) for i in range(0, len(program), 8)]
    assert len(program) % 8 == 0
    assert insns[0] == (0x20, 0, 0, 4)  # ld seccomp_data.arch
    code, jt, jf, k = insns[1]
    assert (code, jt, k) == (0x15, 0, AUDIT_AARCH64)
    assert insns[1 + 1 + jf] == (0x06, 0, 0, RET_KILL_PROCESS)
    assert insns[2] == (0x20, 0, 0, 0)  # ld seccomp_data.nr
    assert insns[3][0] == 0x15  # straight to the syscall chain: no x32 check


def test_unknown_architecture_is_a_sandbox_error_with_a_hint() -> None:
    with pytest.raises(SandboxError) as info:
        build_filter(DEFAULT, "riscv64")
    assert "riscv64" in str(info.value) and info.value.hint


def test_arch_aliases_and_default() -> None:
    assert build_filter(DEFAULT, "amd64") == build_filter(DEFAULT, "x86_64")
    assert build_filter(DEFAULT, "arm64") == build_filter(DEFAULT, "aarch64")
    if platform.machine() in seccomp.ARCHES:
        assert build_filter(DEFAULT) == build_filter(DEFAULT, platform.machine())


def test_options_change_only_the_unix_socket_rule() -> None:
    a, b = build_filter(DEFAULT, "x86_64"), build_filter(UNIX_OK, "x86_64")
    assert len(a) == len(b) + 8


# --- numbers against the kernel's own headers -------------------------------------------


def header_numbers(path: str) -> dict[str, int]:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        pytest.skip(f"no {path}: install linux-libc-dev to cross-check syscall numbers")
    return {m[1]: int(m[2]) for m in re.finditer(r"^#define __NR_(\w+)\s+(\d+)\s*$", text, re.M)}


@pytest.mark.parametrize(
    ("arch", "header"),
    [("x86_64", "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
     ("aarch64", "/usr/include/asm-generic/unistd.h")],
)  # fmt: skip
def test_syscall_numbers_match_the_kernel_headers(arch: str, header: str) -> None:
    known = header_numbers(header)
    table = {"x86_64": seccomp._X86_64, "aarch64": seccomp._AARCH64}[arch].numbers
    checked = {n: nr for n, nr in table.items() if n in known}
    assert checked == {n: known[n] for n in checked}
    # newer than the headers (open_tree_attr is Linux 6.15): the shared table from 424 on
    assert all(nr >= 424 for n, nr in table.items() if n not in known)


def test_open_tree_attr_uses_the_shared_number() -> None:
    assert seccomp._X86_64.numbers["open_tree_attr"] == seccomp._AARCH64.numbers[
        "open_tree_attr"
    ] == 467


# --- describe, speed, imports ------------------------------------------------------------


def test_describe_lists_every_refusal_with_a_reason() -> None:
    rows = seccomp.describe(DEFAULT, "x86_64")
    assert all(set(r) == {"syscall", "result", "when", "reason"} for r in rows)
    assert all(r["reason"] for r in rows)
    named = {r["syscall"] for r in rows}
    assert set(ALWAYS_REFUSED) | {"clone", "clone3", "unshare", "ioctl", "socket"} <= named
    json.dumps(rows)


def test_describe_follows_the_options_and_arch() -> None:
    def unix(rows: list[dict[str, str]]) -> bool:
        return any("AF_UNIX" in r["when"] for r in rows)

    assert unix(seccomp.describe(DEFAULT, "x86_64"))
    assert not unix(seccomp.describe(UNIX_OK, "x86_64"))
    arm = {r["syscall"] for r in seccomp.describe(DEFAULT, "aarch64")}
    assert "iopl" not in arm and "mount" in arm


def test_build_is_fast_even_uncached() -> None:
    compile_uncached = seccomp._compile.__wrapped__
    times = []
    for _ in range(30):
        start = time.perf_counter()
        compile_uncached(DEFAULT, seccomp._X86_64)
        times.append(time.perf_counter() - start)
    assert sorted(times)[len(times) // 2] < 0.001


def test_module_imports_stay_light() -> None:
    tree = ast.parse(Path(seccomp.__file__).read_text())
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "errno", "os", "struct", "collections.abc",
                        "ringfence._struct", "functools", "ringfence.errors"}  # fmt: skip


# --- boundary: the filter on a real kernel under bubblewrap -------------------------------

BWRAP = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
         "--unshare-all", "--die-with-parent"]  # fmt: skip
PYTHON = "/usr/bin/python3"  # readable by every user, unlike a pyenv under /root
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"}

# Each case runs in a forked child, so a call that changes the process (unshare,
# personality) cannot disturb the next; the child's exit status is the errno (0 = ok).
PROBE = textwrap.dedent(r"""
    import ctypes, fcntl, json, os, socket, subprocess, sys, termios, threading

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long

    def sys_(nr, *args):
        r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
        return 0 if r >= 0 else ctypes.get_errno()

    def raw_clone(nr, flags):
        pid = libc.syscall(ctypes.c_long(nr), ctypes.c_long(flags), ctypes.c_long(0),
                           ctypes.c_long(0), ctypes.c_long(0), ctypes.c_long(0))
        if pid == 0:
            os._exit(0)
        if pid < 0:
            return ctypes.get_errno()
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    def tiocsti_on_controlling_pty():
        master, slave = os.openpty()
        os.setsid()
        os.close(os.open(os.ttyname(slave), os.O_RDWR))  # becomes the controlling tty
        fcntl.ioctl(slave, termios.TIOCSTI, b"x")
        return 0

    def ioctl_pty(cmd, arg):
        master, slave = os.openpty()
        fcntl.ioctl(slave, cmd, arg)
        return 0

    def ioctl_devnull(cmd):
        return sys_(16, os.open("/dev/null", os.O_RDONLY), cmd, 0)

    def sock(domain, type_, proto=0):
        return sys_(41, domain, type_, proto)

    def inet_connect():
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            with socket.create_connection(server.getsockname()) as c:
                c.sendall(b"ok")
                conn, _ = server.accept()
                assert conn.recv(2) == b"ok"
        return 0

    def thread():
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        return 0

    def run(*argv):
        return subprocess.run(argv, stdout=subprocess.DEVNULL).returncode

    def socketpair():
        a, b = socket.socketpair(socket.AF_UNIX)
        a.sendall(b"ok")
        return 0 if b.recv(2) == b"ok" else 1

    def one(expr):
        pid = os.fork()
        if pid == 0:
            try:
                os._exit(eval(expr))
            except OSError as e:
                os._exit(e.errno)
            except BaseException:
                os._exit(255)
        return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

    print(json.dumps({k: one(v) for k, v in json.loads(sys.argv[1]).items()}))
""")


@dataclass(frozen=True)
class Case:
    id: str
    expr: str  # evaluated by PROBE; a syscall name in braces is replaced by its number
    expected: int  # errno under the filter, 0 = success
    proves: bool = False  # the call succeeds or fails differently without the filter


def sys_case(name: str, *args: int, proves: bool = False) -> Case:
    call = ", ".join(["{%s}" % name, *map(str, args)])
    return Case(name, f"sys_({call})", errno.EPERM, proves)


CASES = [
    # mount API: as root, bwrap's command is root of its own user namespace and could
    # mount for real; the shell test below proves that path.
    sys_case("mount", 0, 0, 0, 0, 0, proves=True),
    sys_case("umount2", 0, 0, proves=True),
    sys_case("pivot_root", 0, 0),
    sys_case("move_mount", -1, 0, -1, 0, 0),
    sys_case("open_tree", -1, 0, 0, proves=True),
    sys_case("open_tree_attr", -1, 0, 0, 0, 0, proves=True),
    sys_case("fsopen", 0, 0),
    sys_case("fsmount", -1, 0, 0),
    sys_case("fsconfig", -1, 0, 0, 0, 0, proves=True),
    sys_case("fspick", -1, 0, 0),
    sys_case("mount_setattr", -1, 0, 0, 0, 0, proves=True),
    sys_case("kexec_load", 0, 0, 0, 0),
    sys_case("kexec_file_load", -1, -1, 0, 0, 0),
    sys_case("reboot", 0, 0, 0, 0),  # no magic numbers: never a real reboot
    sys_case("init_module", 0, 0, 0),
    sys_case("finit_module", -1, 0, 0),
    sys_case("delete_module", 0, 0),
    sys_case("io_uring_setup", 1, 0, proves=True),
    sys_case("io_uring_enter", -1, 0, 0, 0, 0, 0, proves=True),
    sys_case("io_uring_register", -1, 0, 0, 0, proves=True),
    sys_case("keyctl", 0, -3, 0, proves=True),  # KEYCTL_GET_KEYRING_ID of the session
    sys_case("add_key", 0, 0, 0, 0, 0, proves=True),
    sys_case("request_key", 0, 0, 0, 0, proves=True),
    sys_case("bpf", 0, 0, 0),
    sys_case("perf_event_open", 0, 0, -1, -1, 0, proves=True),
    sys_case("userfaultfd", 1, proves=True),  # UFFD_USER_MODE_ONLY needs no privilege
    sys_case("ptrace", 16, 0, 0, 0, proves=True),  # PTRACE_ATTACH to pid 0: ESRCH
    sys_case("process_vm_readv", 0, 0, 0, 0, 0, 0, proves=True),
    sys_case("process_vm_writev", 0, 0, 0, 0, 0, 0, proves=True),
    sys_case("pidfd_getfd", -1, 0, 0, proves=True),
    sys_case("swapon", 0, 0),
    sys_case("swapoff", 0),
    sys_case("acct", 0),
    sys_case("quotactl", 0, 0, 0, 0, proves=True),
    sys_case("quotactl_fd", -1, 0, 0, 0, proves=True),
    sys_case("vhangup"),
    sys_case("syslog", 10, 0, 0),
    sys_case("open_by_handle_at", -1, 0, 0, proves=True),
    sys_case("setns", -1, 0, proves=True),
    sys_case("lookup_dcookie", 0, 0, 0),
    sys_case("uselib", 0),
    sys_case("iopl", 0, proves=True),
    sys_case("ioperm", 0, 0, 0, proves=True),
    sys_case("modify_ldt", 0, 0, 0, proves=True),
    Case("personality-no-aslr", "sys_({personality}, 0x0040000)", errno.EPERM, True),
    Case("personality-query", "sys_({personality}, 0xffffffff)", 0),
    Case("personality-linux", "sys_({personality}, 0)", 0),
    Case("clone3", "sys_({clone3}, 0, 0)", errno.ENOSYS, True),
    Case("x32-getpid", "sys_(0x40000000 | {getpid})", errno.EPERM, True),
    Case("clone-newuser", "raw_clone({clone}, 0x10000000 | 17)", errno.EPERM, True),
    Case("clone-fork", "raw_clone({clone}, 17)", 0),
    Case("clone-newuser-high-half", "raw_clone({clone}, (0x10000000 << 32) | 17)", 0),
    Case("unshare-newuser", "sys_({unshare}, 0x10000000)", errno.EPERM, True),
    Case("unshare-nothing", "sys_({unshare}, 0)", 0),
    Case("unshare-newuser-high-half", "sys_({unshare}, 0x10000000 << 32)", errno.EINVAL),
    Case("ioctl-tiocsti-pty", "tiocsti_on_controlling_pty()", errno.EPERM),
    Case("ioctl-tiocsti-high-bits", "ioctl_devnull(0x5412 | (1 << 32))", errno.EPERM, True),
    Case("ioctl-tioclinux", "ioctl_devnull(0x541c)", errno.EPERM, True),
    Case("ioctl-tiocgwinsz-pty", "ioctl_pty(termios.TIOCGWINSZ, bytes(8))", 0),
    Case("socket-unix", "sock(1, 1)", errno.EPERM, True),
    Case("socket-unix-high-bits", "sock(1 | (1 << 32), 1)", errno.EPERM, True),
    Case("socket-packet", "sock(17, 3)", errno.EPERM),
    Case("socket-vsock", "sock(40, 1)", errno.EPERM),
    Case("socket-inet-raw", "sock(2, 3, 1)", errno.EPERM),
    Case("socket-inet6-raw", "sock(10, 3 | 0o2000000, 58)", errno.EPERM),
    Case("socket-netlink", "sock(16, 3, 0)", 0),
    Case("socketpair-unix", "socketpair()", 0),
    Case("inet-connect", "inet_connect()", 0),
    Case("fork", "os.waitstatus_to_exitcode(os.waitpid(os.fork() or os._exit(0), 0)[1])", 0),
    Case("thread", "thread()", 0),
    Case("subprocess-ls", "run('ls', '/')", 0),
    Case("subprocess-git", "run('git', '--version')", 0),
]

UNIX_CASES = {"socket-unix": 0, "socket-unix-high-bits": 0, "socketpair-unix": 0,
              "socket-packet": errno.EPERM}  # fmt: skip


@dataclass(frozen=True)
class Runner:
    """Runs argv under bwrap as one user, with or without a seccomp program."""

    user: str | None

    def __call__(self, argv: list[str], program: bytes | None) -> subprocess.CompletedProcess[str]:
        fd = os.memfd_create("ringfence-seccomp")
        try:
            os.write(fd, program or b"")
            os.lseek(fd, 0, os.SEEK_SET)
            extra = ["--seccomp", str(fd)] if program is not None else []
            return subprocess.run(
                [*BWRAP, *extra, "--", *argv], pass_fds=(fd,), capture_output=True,
                text=True, env=ENV, cwd="/", timeout=60, user=self.user, group=self.user,
                extra_groups=[] if self.user else None,
            )  # fmt: skip
        finally:
            os.close(fd)


@pytest.fixture(scope="module", params=["invoker", "rftest"])
def sandbox(request: pytest.FixtureRequest) -> Runner:
    if platform.machine() != "x86_64":
        pytest.skip("boundary probes use x86_64 syscall numbers")
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    runner = Runner(None)
    if request.param == "rftest":
        try:
            pwd.getpwnam("rftest")
        except KeyError:
            pytest.skip("no user rftest: create it to test the unprivileged path")
        if os.geteuid() != 0:
            pytest.skip("switching to rftest needs root")
        runner = Runner("rftest")
    smoke = runner(["/bin/true"], None)
    if smoke.returncode != 0:
        pytest.skip(f"bwrap cannot create a sandbox here: {smoke.stderr.strip()}")
    return runner


@pytest.fixture(scope="module")
def probe(sandbox: Runner) -> Callable[[bytes | None, list[Case]], dict[str, int]]:
    if not os.access(PYTHON, os.X_OK):
        pytest.skip(f"{PYTHON} is missing: the probe needs a system-wide python")
    numbers = header_numbers("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    numbers.setdefault("open_tree_attr", 467)  # Linux 6.15, newer than many headers

    def run(program: bytes | None, cases: list[Case]) -> dict[str, int]:
        exprs = {c.id: c.expr.format(**numbers) for c in cases}
        done = sandbox([PYTHON, "-c", PROBE, json.dumps(exprs)], program)
        assert done.returncode == 0, done.stderr
        result: dict[str, int] = json.loads(done.stdout)
        return result

    return run


@pytest.fixture(scope="module")
def filtered(probe: Callable[[bytes | None, list[Case]], dict[str, int]]) -> dict[str, int]:
    return probe(build_filter(DEFAULT), CASES)


@pytest.mark.boundary
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_under_the_filter(case: Case, filtered: dict[str, int]) -> None:
    assert filtered[case.id] == case.expected, errno.errorcode.get(filtered[case.id])


@pytest.mark.boundary
def test_the_filter_not_the_kernel_refuses(
    probe: Callable[[bytes | None, list[Case]], dict[str, int]],
) -> None:
    proving = [c for c in CASES if c.proves]
    baseline = probe(None, proving)
    same = [c.id for c in proving if baseline[c.id] == c.expected]
    assert not same, f"refused without the filter too: {same}"


@pytest.mark.boundary
def test_unix_sockets_when_the_policy_allows_them(
    probe: Callable[[bytes | None, list[Case]], dict[str, int]],
) -> None:
    cases = [c for c in CASES if c.id in UNIX_CASES]
    assert probe(build_filter(UNIX_OK), cases) == UNIX_CASES


@pytest.mark.boundary
@pytest.mark.parametrize(
    ("argv", "refused"),
    [(["unshare", "-r", "true"], True),
     (["mount", "-t", "tmpfs", "x", "/tmp"], True),
     (["ls", "/"], False),
     (["git", "--version"], False)],
    ids=["unshare-r", "mount-tmpfs", "ls", "git"],
)  # fmt: skip
def test_commands(sandbox: Runner, argv: list[str], refused: bool) -> None:
    done = sandbox(argv, build_filter(DEFAULT))
    assert (done.returncode != 0) == refused, done.stderr
    # Without the filter: unshare -r works for anyone, and mount works when bwrap runs
    # as root (the command is then root of its own user namespace), so there the
    # refusal is the filter's doing; as rftest, mount(8) already gives up by itself.
    if refused and (argv[0] == "unshare" or sandbox.user is None and os.geteuid() == 0):
        assert sandbox(argv, None).returncode == 0


I386_GETPID = r"""
void _start(void) {
    long pid;
    /* int 0x80 from a 64-bit process enters the i386 ABI: getpid is 20 there */
    __asm__ volatile ("int $0x80" : "=a"(pid) : "a"(20L) : "memory");
    __asm__ volatile ("syscall" :: "a"(60L), "D"(pid > 0 ? 0L : 1L) : "rcx", "r11", "memory");
    for (;;) {}
}
"""


@pytest.fixture(scope="module")
def i386_binary() -> Iterator[Path]:
    if platform.machine() != "x86_64":
        pytest.skip("int 0x80 is an x86_64 question")
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is missing: cannot build the int 0x80 probe")
    # world-readable, so rftest can run it too (pytest's tmp_path is private to root)
    folder = Path(tempfile.mkdtemp(prefix="ringfence-seccomp-"))
    folder.chmod(0o755)
    try:
        (folder / "i386.c").write_text(I386_GETPID)
        binary = folder / "i386"
        subprocess.run([gcc, "-static", "-nostdlib", "-O1", "-o", str(binary),
                        str(folder / "i386.c")], check=True, capture_output=True)  # fmt: skip
        if subprocess.run([str(binary)]).returncode != 0:
            pytest.skip("this kernel has no IA32 emulation: int 0x80 fails without a filter")
        yield binary
    finally:
        shutil.rmtree(folder)


@pytest.mark.boundary
def test_i386_abi_kills_the_process(sandbox: Runner, i386_binary: Path) -> None:
    assert sandbox([str(i386_binary)], None).returncode == 0
    done = sandbox([str(i386_binary)], build_filter(DEFAULT))
    assert done.returncode == 128 + signal.SIGSYS, done.stderr
