"""The sandbox's own network namespace, and the proxy's listening socket inside it.

The agent reaches the proxy without any TCP port on the host and without a relay process:
a forked child enters a new user + network namespace (loopback only), brings ``lo`` up,
creates a listening socket on ``127.0.0.1:PORT`` there, and hands the socket to the parent
over a Unix socket pair (SCM_RIGHTS). The parent's proxy, which stays in the host's
network namespace, accepts connections from that socket; the child then becomes bwrap,
which builds the rest of the sandbox inside this namespace.

Everything here runs in the forked child, which is single-threaded (``unshare(2)`` with
CLONE_NEWUSER refuses multi-threaded callers).
"""

from __future__ import annotations

import _socket  # not socket: its enum conversions of every constant cost the helper ~2 ms
import ctypes
import errno
import fcntl
import os
import struct

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH14x"  # struct ifreq: name, then ifr_flags in the union (netdevice(7))


def unshare(flags: int) -> None:
    if hasattr(os, "unshare"):  # Python 3.12 and later
        os.unshare(flags)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(ctypes.c_int(flags)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")


_PR_SET_DUMPABLE = 4
_PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int, parent: int) -> None:
    """Have the kernel send ``sig`` when our parent dies (prctl(2), PR_SET_PDEATHSIG); if it
    died before we asked, send it now."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)


def make_dumpable() -> None:
    """After dropping from root the kernel marks us non-dumpable, which makes /proc/self/*
    root-owned and the uid_map unwritable (proc(5), PR_SET_DUMPABLE); undo that."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_DUMPABLE): {os.strerror(err)}")


def enter_user_and_net_namespace(extra: int = 0) -> None:
    """New user namespace (mapping only our own ids) and a new network namespace (and the
    namespaces ``extra`` names: a mount namespace for the overlay)."""
    uid, gid = os.getuid(), os.getgid()
    unshare(CLONE_NEWUSER | CLONE_NEWNET | extra)
    map_identity(uid, gid)


def enter_net_namespace_of(pid: int) -> None:
    """Join the user namespace ``pid`` is in (rootless podman's: its pause process), then make
    a network namespace there. That namespace belongs to podman's user namespace, so rootless
    podman may join it (``--network ns:PATH``); one made in a user namespace of our own would
    be out of its reach. We own that user namespace: joining it needs no privilege."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWUSER) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into podman's user namespace: {os.strerror(err)}")
    finally:
        os.close(fd)
    unshare(CLONE_NEWNET)


def map_identity(uid: int, gid: int) -> None:
    """In a new user namespace: our own ids, and only those."""
    # user_namespaces(7): setgroups must be denied before an unprivileged gid_map write
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{uid} {uid} 1")
    _write("/proc/self/gid_map", f"{gid} {gid} 1")


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def bring_up_loopback() -> None:
    s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        request = struct.pack(_IFREQ, b"lo", 0)
        flags = struct.unpack(_IFREQ, fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))
    finally:
        s.close()


def listen_loopback(port: int) -> list[_socket.socket]:
    """Listening sockets on 127.0.0.1:port and, where IPv6 exists, [::1]:port."""
    listeners = [_listen(_socket.AF_INET, "127.0.0.1", port)]
    try:
        listeners.append(_listen(_socket.AF_INET6, "::1", port))
    except OSError as exc:
        if exc.errno not in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
            raise
    return listeners


def _listen(family: int, host: str, port: int) -> _socket.socket:
    sock = _socket.socket(family, _socket.SOCK_STREAM)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    if family == _socket.AF_INET6:
        sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock
