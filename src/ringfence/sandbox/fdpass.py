"""Passing file descriptors over a Unix socket pair (SCM_RIGHTS, unix(7)).

Built on ``_socket`` rather than ``socket``: the ``socket`` module's import (selectors, enum
conversions of every constant) costs a noticeable part of ``ringfence run``'s start-up; and
the descriptors are C ints packed with ``int.to_bytes`` (no ``array`` extension to load).
"""

from __future__ import annotations

import _socket
import sys

_INT = 4  # sizeof(int) on every Linux ABI ringfence runs on

Socket = _socket.socket


def socketpair() -> tuple[Socket, Socket]:
    """A connected pair of AF_UNIX stream sockets (close-on-exec, as every new fd here)."""
    return _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM, 0)


def send_fds(sock: Socket, data: bytes, fds: list[int]) -> None:
    """Send ``data`` with ``fds`` attached (data must not be empty: it carries the fds)."""
    packed = b"".join(fd.to_bytes(_INT, sys.byteorder, signed=True) for fd in fds)
    ancillary = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, packed)] if fds else []
    sock.sendmsg([data], ancillary)


def recv_fds(sock: Socket, size: int, max_fds: int) -> tuple[bytes, list[int]]:
    """Receive up to ``size`` bytes and up to ``max_fds`` descriptors sent with them."""
    data, ancillary, _flags, _addr = sock.recvmsg(size, _socket.CMSG_LEN(max_fds * _INT))
    fds: list[int] = []
    for level, kind, payload in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += (int.from_bytes(payload[at:at + _INT], sys.byteorder, signed=True)
                    for at in range(0, len(payload) - len(payload) % _INT, _INT))
    return data, fds
