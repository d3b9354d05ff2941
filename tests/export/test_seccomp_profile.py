"""`ringfence export seccomp`: the container profile, as data and loaded by podman + runc."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ringfence.export.seccomp import _ioctl_allowed, profile, refused
from ringfence.export.syscalls import SYSCALLS
from ringfence.policy import UnixSockets, load_policy
from ringfence.sandbox import seccomp as bpf



def _policy(tmp_path: Path, text: str = "") -> object:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return load_policy(policy_file=str(path), home=str(tmp_path), managed=str(tmp_path / "none.toml"))


def _allowed(rules: list[dict], name: str) -> list[dict]:
    return [r for r in rules if name in r["names"] and r["action"] == "SCMP_ACT_ALLOW"]


def test_an_allowlist_that_refuses_what_the_sandbox_refuses(tmp_path: Path) -> None:
    data = profile(_policy(tmp_path), "x86_64", "header")
    assert data["comment"] == "header" and data["defaultAction"] == "SCMP_ACT_ERRNO"
    assert data["architectures"] == ["SCMP_ARCH_X86_64"]
    unconditional = set(data["syscalls"][0]["names"])
    sandbox_refused = {n for names, _ in bpf._ALWAYS for n in names}
    assert sandbox_refused <= set(refused()) and not (unconditional & set(refused()))
    assert {"read", "write", "openat", "execve", "mmap", "futex", "epoll_wait", "connect"} <= unconditional
    for name in ("socket", "ioctl", "clone", "unshare", "personality", "clone3", "mount", "bpf", "io_uring_setup"):
        assert name not in unconditional, name
    denied = [r for r in data["syscalls"] if r["action"] == "SCMP_ACT_ERRNO" and r.get("errnoRet") == 1]
    assert set(denied[0]["names"]) == set(refused())
    assert {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38} in data["syscalls"]
    assert unconditional | set(refused()) | {"socket", "ioctl", "clone", "unshare", "personality", "clone3"} >= SYSCALLS


def test_socket_domains_follow_the_policy(tmp_path: Path) -> None:
    def domains(policy: object) -> set[int]:
        rules = _allowed(profile(policy)["syscalls"], "socket")
        return {r["args"][0]["valueTwo"] for r in rules}

    assert domains(_policy(tmp_path)) == {bpf.AF_INET, bpf.AF_INET6, 16}
    sandbox = _policy(tmp_path, '[network]\nunix_sockets = "sandbox"\n')
    assert sandbox.network.unix_sockets is UnixSockets.SANDBOX  # type: ignore[attr-defined]
    assert domains(sandbox) == {bpf.AF_INET, bpf.AF_INET6, 16, bpf.AF_UNIX}


def test_ioctl_blocks_cover_every_command_but_two_and_no_high_bits() -> None:
    blocks = _ioctl_allowed()

    def allowed(cmd: int) -> bool:
        return any(cmd & mask == base for base, mask in blocks)

    for cmd in (0, 0x5401, 0x5411, 0x5413, 0x541B, 0x541D, 0x8912, 0xC0185879, 0xFFFFFFFF):
        assert allowed(cmd), hex(cmd)
    for cmd in (bpf.TIOCSTI, bpf.TIOCLINUX, (1 << 32) | bpf.TIOCSTI, 1 << 32, (1 << 63) | 0x5401):
        assert not allowed(cmd), hex(cmd)
    for step in range(0, 1 << 32, 65_521):  # a sweep: every allowed block is reached, nothing overlaps
        assert allowed(step) == (step not in (bpf.TIOCSTI, bpf.TIOCLINUX))


def test_the_command_line(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "ringfence", "export", "seccomp"]
    printed = subprocess.run([*run, "--arch", "aarch64"], capture_output=True, text=True, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    data = json.loads(printed.stdout)
    assert data["architectures"] == ["SCMP_ARCH_AARCH64"] and "ringfence" in data["comment"]
    out = tmp_path / "profile.json"
    written = subprocess.run([*run, "--out", str(out)], capture_output=True, text=True, cwd=tmp_path)
    assert written.returncode == 0 and json.loads(out.read_text())["syscalls"]
    bad = subprocess.run([*run, "--arch", "sparc"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 2 and "no seccomp profile for architecture 'sparc'" in bad.stderr


PROBE = r"""
import ctypes, errno, json, socket
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_ulong(a) for a in args])
    return "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()]
def sock(family, kind=socket.SOCK_STREAM, proto=0):
    try:
        socket.socket(family, kind, proto).close()
        return "ok"
    except OSError as exc:
        return errno.errorcode[exc.errno]
print(json.dumps({
    "unix": sock(socket.AF_UNIX), "inet": sock(socket.AF_INET), "inet6_dgram": sock(socket.AF_INET6, socket.SOCK_DGRAM),
    "vsock": sock(40), "packet": sock(17, socket.SOCK_RAW), "raw": sock(socket.AF_INET, socket.SOCK_RAW, 1),
    "socketpair": "ok" if socket.socketpair() else "no",
    "tiocsti": call(16, 0, 0x5412, 0), "tiocsti_high_bit": call(16, 0, (1 << 32) | 0x5412, 0),
    "tcgets": call(16, 0, 0x5401, 0), "unshare_user": call(272, 0x10000000), "io_uring": call(425, 1, 0),
    "clone3": call(435, 0, 0), "mount": call(165, 0, 0, 0, 0, 0), "keyctl": call(250, 0),
    "personality_query": call(135, 0xFFFFFFFF), "personality_no_aslr": call(135, 0x0040000),
}))
"""


def test_podman_with_runc_enforces_the_profile(container_rootfs: Path, tmp_path: Path) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the probe's syscall numbers are x86_64's")
    profile_file = tmp_path / "profile.json"
    profile_file.write_text(json.dumps(profile(_policy(tmp_path), "x86_64")))
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    os.chmod(tmp_path, 0o755)
    proc = subprocess.run(
        ["podman", "--runtime", "runc", "run", "--rm", "--read-only", "--network", "none", "--cap-drop", "ALL",
         "--security-opt", "no-new-privileges", "--security-opt", f"seccomp={profile_file}",
         "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024", "--user", "65534:65534",
         "-v", f"{probe}:/probe.py:ro", "--rootfs", str(container_rootfs), "/usr/bin/python3", "/probe.py"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {
        "unix": "EPERM", "inet": "ok", "inet6_dgram": "ok", "vsock": "EPERM", "packet": "EPERM", "raw": "EPERM",
        "socketpair": "ok", "tiocsti": "EPERM", "tiocsti_high_bit": "EPERM", "tcgets": "ENOTTY",
        "unshare_user": "EPERM", "io_uring": "EPERM", "clone3": "ENOSYS", "mount": "EPERM", "keyctl": "EPERM",
        "personality_query": "ok", "personality_no_aslr": "EPERM",
    }
