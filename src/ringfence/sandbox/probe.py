"""What the planner needs to know about the host's file system, gathered in one pass.

The planner itself stays pure: it receives a ``HostView`` (a snapshot of path kinds and of
what a walk of each writable root found) and returns a plan. Only this module reads the
disk.
"""

from __future__ import annotations

import os
import stat
from ringfence._struct import field, record
from enum import Enum

from ringfence.policy.model import PROTECTED_NAMES


class Kind(Enum):
    DIR = "dir"
    FILE = "file"
    SOCKET = "socket"
    OTHER = "other"  # fifo, device
    MISSING = "missing"


def parents(path: str) -> list[str]:
    """The folders above an absolute, normalised ``path``, nearest first (as Path.parents)."""
    out = []
    while path != "/":
        path = os.path.dirname(path)
        out.append(path)
    return out


def under(path: str, roots: list[str]) -> bool:
    """Is ``path`` one of ``roots`` or inside one of them?"""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def depth(path: str) -> int:
    return 0 if path == "/" else path.count("/")


def kind_of(path: str) -> Kind:
    """The kind of what ``path`` resolves to (symlinks followed), or MISSING."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return Kind.MISSING
    except OSError:
        return Kind.OTHER
    if stat.S_ISDIR(mode):
        return Kind.DIR
    if stat.S_ISREG(mode):
        return Kind.FILE
    if stat.S_ISSOCK(mode):
        return Kind.SOCKET
    return Kind.OTHER


def real(path: str) -> str:
    """``path`` with every symlink resolved: masks and binds land on what a link points at."""
    return os.path.realpath(path)


# The protected names, split into a first component and an optional second one.
_SINGLE = frozenset(n for n in PROTECTED_NAMES if "/" not in n)
_NESTED: dict[str, tuple[str, ...]] = {}
for _name in PROTECTED_NAMES:
    if "/" in _name:
        _head, _tail = _name.split("/", 1)
        _NESTED[_head] = _NESTED.get(_head, ()) + (_tail,)


@record(frozen=False)
class WalkResult:
    """Protected items found under one writable root, and host sockets (when asked for)."""

    protected: list[str] = field(default_factory=list)  # existing protected paths
    git_dirs: list[str] = field(default_factory=list)  # every .git folder (and submodule gitdir)
    claude_dirs: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    entries: int = 0


def walk_root(root: str, *, find_sockets: bool, skip: frozenset[str] = frozenset()) -> WalkResult:
    """Walk ``root`` without following symlinks; collect protected names at any depth.

    This walk runs on every ``ringfence run`` over the whole workspace: it reads only what
    ``getdents`` gives (names and types) and stats nothing but entries of an unusual type
    (a socket, when asked for)."""
    result = WalkResult()
    protected, stack = result.protected, [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:
            continue
        result.entries += len(entries)
        prefix = folder + "/" if folder != "/" else "/"
        for entry in entries:
            name = entry.name
            path = prefix + name
            if skip and path in skip:
                continue
            if name in _SINGLE:
                protected.append(path)
            try:
                if entry.is_file(follow_symlinks=False):
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if not is_dir:
                if find_sockets and not entry.is_symlink() and _is_socket(entry):
                    result.sockets.append(path)
                continue
            if name == ".git":
                _visit_gitdir(path, result)
                continue  # objects and refs are not ours to walk; modules are handled above
            if name == ".claude":
                result.claude_dirs.append(path)
                nested = [os.path.join(path, t) for t in _NESTED[".claude"]]
                protected += [p for p in nested if os.path.lexists(p)]
            if name not in _SINGLE:  # a protected folder is bound read-only whole
                stack.append(path)
    return result


def _is_socket(entry: os.DirEntry[str]) -> bool:
    try:
        return stat.S_ISSOCK(entry.stat(follow_symlinks=False).st_mode)
    except OSError:
        return False


def _visit_gitdir(gitdir: str, result: WalkResult) -> None:
    """A git folder: its hooks and config, and those of submodules under modules/."""
    pending = [gitdir]
    while pending:
        current = pending.pop()
        result.git_dirs.append(current)
        nested = [os.path.join(current, t) for t in _NESTED[".git"]]
        result.protected += [p for p in nested if os.path.lexists(p)]
        modules = os.path.join(current, "modules")
        try:
            with os.scandir(modules) as it:
                pending += [os.path.join(modules, e.name) for e in it if e.is_dir(follow_symlinks=False)]
        except OSError:
            continue


def reachable(path: str, uid: int, gid: int) -> bool:
    """Can ``uid``/``gid`` (no supplementary groups, no capabilities) look up ``path``?

    A folder the agent cannot search (``/root`` as 0700) hides what is inside it already;
    bwrap, which runs as the agent, could not even mount over it.
    """
    if uid == 0:
        return True
    for folder in reversed(parents(path)):
        try:
            st = os.stat(folder)
        except OSError:
            return False
        if st.st_uid == uid:
            bit = stat.S_IXUSR
        elif st.st_gid == gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True
