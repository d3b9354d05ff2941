"""Whole-or-absent file writes: the one helper every writer of a report, export or layer file uses."""

from __future__ import annotations

import os


def write_atomic(path: str, data: bytes | str, mode: int = 0o644, *, sync_folder: bool = False) -> None:
    """Replace ``path`` with ``data``: written beside it (created 0600, given ``mode`` before
    the rename), flushed to disk, then renamed, so ``path`` is the old file or the new one,
    never a part of either. ``sync_folder``: the rename too is flushed (fsync(2): "also needs
    an explicit fsync on the directory"), for what must survive a power loss (the CA's key)."""
    target = os.path.abspath(path)
    partial = f"{target}.{os.urandom(6).hex()}.tmp"
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(raw)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(partial, target)
        if sync_folder:
            folder = os.open(os.path.dirname(target), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
    except BaseException:
        try:
            os.unlink(partial)
        except FileNotFoundError:
            pass
        raise
