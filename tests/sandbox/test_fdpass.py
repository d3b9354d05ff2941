"""SCM_RIGHTS over a real Unix socket pair."""

from __future__ import annotations

import os

from ringfence.sandbox import fdpass


def test_passes_descriptors_and_data() -> None:
    a, b = fdpass.socketpair()
    read_end, write_end = os.pipe()
    try:
        fdpass.send_fds(a, b"hello", [write_end, read_end])
        data, fds = fdpass.recv_fds(b, 64, 2)
        assert data == b"hello" and len(fds) == 2
        assert set(fds).isdisjoint({read_end, write_end})  # new numbers, same open files
        os.write(fds[0], b"through the passed fd")
        assert os.read(read_end, 100) == b"through the passed fd"
        for fd in fds:
            os.close(fd)
    finally:
        a.close()
        b.close()
        os.close(read_end)
        os.close(write_end)


def test_data_without_descriptors() -> None:
    a, b = fdpass.socketpair()
    fdpass.send_fds(a, b"go", [])
    assert fdpass.recv_fds(b, 64, 2) == (b"go", [])
    a.close()
    assert fdpass.recv_fds(b, 64, 2) == (b"", [])  # the peer is gone
    b.close()
