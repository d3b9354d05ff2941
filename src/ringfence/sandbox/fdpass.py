"""Passing file descriptors over a Unix socket pair (SCM_RIGHTS, unix(7)).

Built on ``_socket`` rather than ``socket``: the ``socket`` module's import (selectors, enum
conversions of every constant) costs a noticeable part of ``ringfence run``'s start-up.
"""

from __future__ import annotations

import _socket
import array

Socket = _socket.socket


def socketpair() -> tuple[Socket, Socket]:
    """A connected pair of AF_UNIX stream sockets (close-on-exec, as every new fd here)."""
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM, 0)


def send_fds(sock: Socket, data: bytes, fds: list[int]) -> None:
    """Send ``data`` with ``fds`` attached (data must not be empty: it carries the fds)."""
    ancillary = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([data], ancillary)


def recv_fds(sock: Socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    """Receive up to ``size`` bytes and up to ``max_fds`` descriptors sent with them."""
    data, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_LEN(max_fds * array.array("i").itemsize))
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % fds.itemsize
            fds.frombytes(payload[:usable])
    return data, list(fds)
