"""The workspace as an overlay mount, for ``ringfence run --overlay``.

bubblewrap 0.8 (Debian 12) has no overlay options, so ringfence mounts the overlay itself,
in the namespace helper (``runner._child``) before it becomes bwrap: the real workspace is
the lower layer, the layer's ``upper/`` takes every write, and the mount is placed over the
workspace's own path in a private mount namespace, so bwrap binds it like any workspace and
nothing outside the sandbox sees it.

- As root, the helper mounts before it drops to the agent's account, in a mount namespace
  of its own (overlayfs keeps its marks in ``trusted.*`` attributes).
- Unprivileged, it mounts inside the new user namespace: kernel overlayfs allows that
  since Linux 5.11 with the ``userxattr`` option (marks in ``user.overlay.*``).
- ``redirect_dir`` (``nofollow`` under ``userxattr``), ``metacopy`` and ``index`` are off: a renamed folder is copied, a
  changed file is copied whole, and the upper directory alone says what changed
  (``ringfence.workspace.layer``).

``probe()`` (used by ``ringfence doctor``) tries exactly the unprivileged case.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000
OPTIONS = "redirect_dir=off,metacopy=off,index=off"


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def make_private() -> None:
    """Nothing mounted from here on propagates back to the host's mount namespace."""
    if _libc().mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"making mounts private: {os.strerror(err)}")


def mount(workspace: str, upper: str, work: str, hide: str | None = None, *, userxattr: bool) -> None:
    """Mount the overlay of ``workspace`` (lower) and ``upper`` over ``workspace`` itself.
    ``hide``: a layer of whiteouts between them, for names the agent must not see at all."""
    lower = f"{hide}:{workspace}" if hide else workspace
    options = f"lowerdir={lower},upperdir={upper},workdir={work},"
    # userxattr implies redirect_dir=nofollow (and refuses "off", which follows existing ones)
    options += "userxattr,metacopy=off,index=off" if userxattr else OPTIONS
    path = os.fsencode(workspace)
    if _libc().mount(b"overlay", path, b"overlay", 0, options.encode()) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mounting the overlay of {workspace}: {os.strerror(err)} (kernel overlayfs"
                           f"{' in a user namespace, userxattr: Linux 5.11 or later' if userxattr else ''})")


def probe() -> str | None:
    """None when an unprivileged overlay mount works here, else why not (in a forked child)."""
    import tempfile

    from ringfence.sandbox import netns

    top = tempfile.mkdtemp(prefix="ringfence-overlay-probe-")
    for name in ("lower", "upper", "work"):
        os.mkdir(os.path.join(top, name))
        if os.getuid() == 0:  # the child tries it as nobody
            os.chown(os.path.join(top, name), 65534, 65534)
    os.chmod(top, 0o755)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        why = b""
        try:
            if os.getuid() == 0:
                os.setgroups([])
                os.setresgid(65534, 65534, 65534)
                os.setresuid(65534, 65534, 65534)
                netns.make_dumpable()
            uid, gid = os.getuid(), os.getgid()
            netns.unshare(netns.CLONE_NEWUSER | CLONE_NEWNS)
            netns.map_identity(uid, gid)
            make_private()
            lower = os.path.join(top, "lower")
            mount(lower, os.path.join(top, "upper"), os.path.join(top, "work"), userxattr=True)
            with open(os.path.join(lower, "probe"), "w") as f:
                f.write("ok")
            os.unlink(os.path.join(lower, "probe"))
        except BaseException as exc:  # noqa: BLE001 - told to the parent
            why = str(exc).encode()[:500] or b"failed"
        finally:
            os.write(write, why)
            os._exit(0)
    os.close(write)
    answer = b""
    while chunk := os.read(read, 4096):
        answer += chunk
    os.close(read)
    os.waitpid(pid, 0)
    from ringfence.workspace.layer import _remove_tree

    _remove_tree(top)
    return answer.decode() or None
