"""The write layer of ``ringfence run --overlay``: an agent's writes wait here for a person.

Rules this module keeps:

- A layer belongs to one workspace and has a name (``default`` unless ``--layer NAME``). It
  lives in ringfence's state folder, which no sandbox sees:
  ``<state>/layers/<key>/<name>/`` (``key``: a hash of the workspace's real path), holding
  ``upper/`` (what the agent wrote: overlayfs's upper directory), ``work/`` (overlayfs's
  own), ``base`` (the identity of every file of the workspace when the layer began),
  ``meta.json`` and ``lock``.
- During a run the workspace is an overlay mount of the real folder (below) and ``upper/``
  (ringfence.sandbox.overlay): the real folder is never written. Whiteouts (character
  devices 0/0) record deletions; an opaque directory (``trusted.overlay.opaque`` or, in a
  user namespace, ``user.overlay.opaque``) hides everything below it. Renames of folders
  are copies (``redirect_dir=off``), a rename of a file is a deletion and an addition with
  the same content, which ``changes`` reports as one ``R``.
- ``changes`` lists A (added), M (changed: content, mode or link target), D (deleted) and R
  (renamed); a file whose copy-up changed nothing is not a change.
- ``apply`` applies all changes or those under the given paths, each file atomically (a
  new file beside it, renamed into place: the old or the new, never half), and refuses,
  naming every such file, where the real file changed since the layer began (its identity
  is not the one in ``base``), unless ``force``. Nothing is applied when anything is
  refused. An interrupted apply can be run again: a file already in place is recognised.
  Applied changes leave the layer; an empty layer is removed.
- A run holds the layer's lock for its whole length: ``apply`` and ``discard`` refuse a
  layer in use, and so does a second run.
- Set-user-id and set-group-id bits never reach the real folder.
"""

from __future__ import annotations

import hashlib
import os
import stat

from ringfence._files import write_atomic
from ringfence._struct import record
from ringfence.errors import ExitCode, RingfenceError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

DEFAULT_LAYER = "default"
_OPAQUE = ("trusted.overlay.opaque", "user.overlay.opaque")
_BINARY_PROBE = 8192
_APPLY_PREFIX = ".ringfence-apply-"


class LayerError(RingfenceError):
    """A layer cannot be used as asked (missing, in use, a conflict, a bad name)."""

    exit_code = ExitCode.USAGE


@record
class Change:
    kind: str  # "A" | "M" | "D" | "R"
    path: str  # relative to the workspace, with "/"
    type: str  # "file" | "dir" | "link"
    size: int | None = None  # the new size of a file (A, M, R)
    old: str | None = None  # R: where it was
    detail: str = ""  # M: "content", "mode 644 -> 755", "content, mode ..."; a link: its target

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "path": self.path, "type": self.type}
        if self.size is not None:
            out["size"] = self.size
        if self.old is not None:
            out["old"] = self.old
        if self.detail:
            out["detail"] = self.detail
        return out


def layers_root(state_dir: str, workspace: str) -> str:
    key = hashlib.sha256(os.fsencode(os.path.realpath(workspace))).hexdigest()[:16]
    return os.path.join(state_dir, "layers", key)


def check_name(name: str) -> str:
    if not name or len(name) > 64 or name.startswith(".") or not all(c.isalnum() or c in "-_." for c in name):
        raise LayerError(f"bad layer name {name!r}", hint="use letters, digits, '-', '_' and '.' (not first)")
    return name


class Layer:
    def __init__(self, state_dir: str, workspace: str, name: str = DEFAULT_LAYER) -> None:
        self.workspace = os.path.realpath(workspace)
        self.name = check_name(name)
        self.path = os.path.join(layers_root(state_dir, workspace), self.name)
        self.upper = os.path.join(self.path, "upper")
        self.work = os.path.join(self.path, "work")
        self._lock_fd: int | None = None

    def exists(self) -> bool:
        return os.path.isdir(self.upper)

    # ---- the run's side ------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the layer if it is new (recording the workspace's files as they are now)
        and take its lock for the run; LayerError if another run holds it."""
        for bad in (",", ":", "\\", "\n"):
            if bad in self.workspace or bad in self.path:
                raise LayerError(f"cannot make an overlay of {self.workspace}: overlayfs options cannot hold "
                                 f"{bad!r} in a path", hint="run from a folder whose path has none")
        new = not self.exists()
        if new:
            os.makedirs(self.path, mode=0o700, exist_ok=True)
        self.lock()
        if not new:  # a run continuing the layer: files it holds no change for count from now
            base, held = self._load_base(), self._held()
            fresh = {p: i for p, i in _identities(self.workspace).items() if p not in held}
            fresh.update((p, i) for p, i in base.items() if p in held)
            self._save_base(fresh)
        if new:
            import json

            os.makedirs(self.upper, mode=0o755, exist_ok=True)
            os.makedirs(self.work, mode=0o700, exist_ok=True)
            top = os.stat(self.workspace)  # the merged top folder is the upper one: same owner and mode
            os.chmod(self.upper, stat.S_IMODE(top.st_mode))
            if os.geteuid() == 0:
                os.chown(self.upper, top.st_uid, top.st_gid)
            self._save_base(_identities(self.workspace))
            write_atomic(os.path.join(self.path, "meta.json"),
                         json.dumps({"workspace": self.workspace, "name": self.name}).encode(), 0o600)

    def hide(self, paths: Iterable[str]) -> str:
        """A fresh layer of whiteouts for ``paths`` (absolute, inside the workspace), to sit
        between the workspace and the upper layer: in the overlay, those names do not exist.
        Its folders copy the real ones' mode (and, as root, owner): a folder's attributes
        in the overlay come from the highest layer that has it."""
        folder = os.path.join(self.path, "hide")
        if os.path.lexists(folder):
            _remove_tree(folder)
        os.mkdir(folder, 0o755)
        for path in paths:
            relpath = os.path.relpath(path, self.workspace)
            if relpath.startswith(".."):
                continue
            parts = relpath.split(os.sep)
            for n in range(1, len(parts)):
                sub = os.path.join(folder, *parts[:n])
                if not os.path.isdir(sub):
                    real = os.stat(os.path.join(self.workspace, *parts[:n]))
                    os.mkdir(sub)
                    os.chmod(sub, stat.S_IMODE(real.st_mode))
                    if os.geteuid() == 0:
                        os.chown(sub, real.st_uid, real.st_gid)
            os.mknod(os.path.join(folder, *parts), stat.S_IFCHR | 0o000, 0)  # a whiteout (Linux 5.8+ unprivileged)
        return folder

    def _held(self) -> set[str]:
        """Every path the layer holds something for (a file, a whiteout, a folder)."""
        held: set[str] = set()
        for dirpath, dirnames, filenames in os.walk(self.upper):
            rel = os.path.relpath(dirpath, self.upper)
            for name in dirnames + filenames:
                held.add(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
        return held

    def lock(self) -> None:
        import fcntl

        fd = os.open(os.path.join(self.path, "lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LayerError(f"layer {self.name!r} of {self.workspace} is in use by a run",
                             hint="wait for that run to end, or use another --layer NAME") from None
        self._lock_fd = fd

    def unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # ---- what changed ------------------------------------------------------------------
    def changes(self) -> list[Change]:
        if not self.exists():
            return []
        found: list[Change] = []
        self._walk(self.upper, "", found, hides_below=False)
        return _renames(found, self.workspace, self.upper)

    def _walk(self, folder: str, rel: str, found: list[Change], hides_below: bool) -> None:
        """Changes below ``folder`` of the layer; ``hides_below``: an opaque folder (here or
        above) hides what the real folder holds, so what the layer lacks here was deleted."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            return
        real_folder = os.path.join(self.workspace, rel) if rel else self.workspace
        if hides_below and os.path.isdir(real_folder) and not os.path.islink(real_folder):
            kept = {e.name for e in entries}
            for name in sorted(os.listdir(real_folder)):
                gone = None if name in kept else _lstat(os.path.join(real_folder, name))
                if gone is not None:
                    found.append(Change("D", f"{rel}/{name}" if rel else name, _type(gone)))
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            info = entry.stat(follow_symlinks=False)
            real = os.path.join(self.workspace, relpath)
            below = _lstat(real)
            if _whiteout(info):
                if below is not None:
                    found.append(Change("D", relpath, _type(below)))
                continue
            if stat.S_ISDIR(info.st_mode):
                if below is None or not stat.S_ISDIR(below.st_mode):
                    if below is not None:
                        found.append(Change("D", relpath, _type(below)))
                    found.append(Change("A", relpath, "dir"))
                    self._walk(entry.path, relpath, found, hides_below=False)
                    continue
                if _mode(info) != _mode(below):
                    found.append(Change("M", relpath, "dir", detail=_modes(below, info)))
                self._walk(entry.path, relpath, found, hides_below=hides_below or _opaque(entry.path))
                continue
            kind = "link" if stat.S_ISLNK(info.st_mode) else "file"
            size = info.st_size if kind == "file" else None
            detail = os.readlink(entry.path) if kind == "link" else ""
            if below is None:
                found.append(Change("A", relpath, kind, size, detail=detail))
                continue
            if stat.S_ISDIR(below.st_mode):
                found.append(Change("D", relpath, "dir"))
                found.append(Change("A", relpath, kind, size, detail=detail))
                continue
            what = _difference(real, below, entry.path, info)
            if what:
                found.append(Change("M", relpath, kind, size, detail=what if kind == "file" else detail))

    def diff(self, changes: Iterable[Change]) -> str:
        """A unified diff of the changes (binary files summarised)."""
        parts = []
        for change in changes:
            before = os.path.join(self.workspace, change.old or change.path)
            after = os.path.join(self.upper, change.path)
            a = f"a/{change.old or change.path}"
            b = f"b/{change.path}"
            if change.type == "dir":
                parts.append(f"{change.kind} {change.path}/ (folder)\n")
                continue
            old = _content(before) if change.kind != "A" else b""
            new = _content(after) if change.kind != "D" else b""
            if change.type == "link" or _is_link(before):
                was = f"{_link_text(before)} " if change.kind != "A" else ""
                now = _link_text(after) if change.kind != "D" else "(deleted)"
                parts.append(f"{change.kind} {change.path}: symbolic link {was}-> {now}\n")
                continue
            if b"\0" in old[:_BINARY_PROBE] or b"\0" in new[:_BINARY_PROBE]:
                parts.append(f"Binary files {a if change.kind != 'A' else '/dev/null'} and "
                             f"{b if change.kind != 'D' else '/dev/null'} differ "
                             f"({len(old):,} -> {len(new):,} bytes)\n")
                continue
            import difflib

            header = f"rename from {change.old}\nrename to {change.path}\n" if change.kind == "R" else ""
            lines = difflib.unified_diff(
                old.decode("utf-8", "replace").splitlines(keepends=True),
                new.decode("utf-8", "replace").splitlines(keepends=True),
                fromfile=a if change.kind != "A" else "/dev/null", tofile=b if change.kind != "D" else "/dev/null",
            )
            text = "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
            if change.kind == "M" and not text and "mode" in change.detail:
                text = f"{change.path}: {change.detail}\n"
            parts.append(header + text)
        return "".join(parts)

    # ---- a person's decision -----------------------------------------------------------
    def apply(self, paths: Iterable[str] = (), *, force: bool = False) -> tuple[list[Change], list[Change]]:
        """Apply the changes under ``paths`` (all when empty): (applied, already in place)."""
        if not self.exists():
            raise LayerError(f"no layer {self.name!r} for {self.workspace}", hint="`ringfence changes` lists layers")
        self.lock()
        try:
            chosen = _select(self.changes(), [_relative(p, self.workspace) for p in paths])
            base = self._load_base()
            done: list[Change] = []
            pending: list[Change] = []
            for change in chosen:
                (done if self._in_place(change) else pending).append(change)
            if not force:
                conflicts = [c for c in pending if self._conflict(c, base)]
                if conflicts:
                    names = ", ".join(c.path for c in conflicts[:10]) + (" ..." if len(conflicts) > 10 else "")
                    raise LayerError(f"changed in {self.workspace} since the layer began: {names}; nothing applied",
                                     hint="look at them (`ringfence changes --diff`), then apply with --force "
                                     "to overwrite, or `ringfence discard`")
            for change in _ordered(pending):
                self._apply_one(change)
            for change in pending + done:
                for path in (change.path, change.old):
                    if path is not None:
                        _forget(base, path)
                        now = _lstat(os.path.join(self.workspace, path))
                        if now is not None and not stat.S_ISDIR(now.st_mode):
                            base[path] = _identity(now)
            self._save_base(base)  # before the layer forgets them: a crash in between is recognised
            for change in pending + done:
                self._drop(change)
            done += self._tidy(self.upper, "")
            self._prune()
            return pending, done
        finally:
            self.unlock()

    def discard(self) -> None:
        if not os.path.isdir(self.path):
            raise LayerError(f"no layer {self.name!r} for {self.workspace}", hint="`ringfence changes` lists layers")
        self.lock()
        try:
            _remove_tree(self.path)
        finally:
            self.unlock()

    # ---- inside apply ------------------------------------------------------------------
    def _in_place(self, change: Change) -> bool:
        real = os.path.join(self.workspace, change.path)
        now = _lstat(real)
        if change.kind == "D":
            return now is None
        if change.kind == "R" and _lstat(os.path.join(self.workspace, change.old or "")) is not None:
            return False
        info = _lstat(os.path.join(self.upper, change.path))
        if now is None or info is None:
            return False
        if change.type == "dir":
            return stat.S_ISDIR(now.st_mode) and _mode(now) == _safe_mode(info)
        return not _difference(real, now, os.path.join(self.upper, change.path), info, safe=True)

    def _conflict(self, change: Change, base: dict[str, tuple[int, int, int]]) -> bool:
        for path in (change.path, change.old):
            if path is None:
                continue
            real = os.path.join(self.workspace, path)
            now = _lstat(real)
            if change.type == "dir" and now is not None and stat.S_ISDIR(now.st_mode):
                if change.kind == "D" and _tree_changed(real, path, base):
                    return True
                continue
            if (None if now is None else _identity(now)) != base.get(path):
                return True
        return False

    def _apply_one(self, change: Change) -> None:
        real = os.path.join(self.workspace, change.path)
        upper = os.path.join(self.upper, change.path)
        if change.kind == "D":
            now = _lstat(real)
            if now is not None and stat.S_ISDIR(now.st_mode):
                _remove_tree(real)
            elif now is not None:
                os.unlink(real)
            return
        self._parents(change.path)
        info = os.lstat(upper)
        if stat.S_ISDIR(info.st_mode):
            now = _lstat(real)
            if now is not None and not stat.S_ISDIR(now.st_mode):
                os.unlink(real)
            os.makedirs(real, exist_ok=True)
            os.chmod(real, _safe_mode(info))
            _own_like(real, info, None)
        else:
            now = _lstat(real)
            if now is not None and stat.S_ISDIR(now.st_mode):
                _remove_tree(real)
                now = None
            _replace(upper, real, info, now)
        if change.kind == "R" and change.old:
            old = os.path.join(self.workspace, change.old)
            if _lstat(old) is not None:
                os.unlink(old)

    def _parents(self, relpath: str) -> None:
        """Folders on the way that the real workspace lacks, made as the layer has them."""
        parts = relpath.split("/")[:-1]
        for n in range(1, len(parts) + 1):
            sub = "/".join(parts[:n])
            real = os.path.join(self.workspace, sub)
            if not os.path.isdir(real):
                info = _lstat(os.path.join(self.upper, sub))
                os.mkdir(real, _safe_mode(info) if info is not None else 0o755)
                if info is not None:
                    _own_like(real, info, None)

    def _drop(self, change: Change) -> None:
        for path in (change.path, change.old):
            if path is None:
                continue
            target = os.path.join(self.upper, path)
            info = _lstat(target)
            if info is None:
                continue
            if stat.S_ISDIR(info.st_mode):
                continue  # a folder goes once what it holds has gone (see _prune)
            if not _whiteout(info) and self._hides(os.path.dirname(target)):
                continue  # under an opaque folder its absence would read as a deletion; it is a no-op now
            os.unlink(target)

    def _tidy(self, folder: str, rel: str) -> list[Change]:
        """Drop what the layer holds that is no change (any more): a copy equal to the real
        file (an apply that stopped after renaming it into place, a file opened for writing
        and left as it was), a whiteout of something already gone. Returns them."""
        gone: list[Change] = []
        for entry in entries_of(folder):
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            info = entry.stat(follow_symlinks=False)
            real = os.path.join(self.workspace, relpath)
            below = _lstat(real)
            if stat.S_ISDIR(info.st_mode):
                if below is not None and stat.S_ISDIR(below.st_mode):
                    gone += self._tidy(entry.path, relpath)
                continue
            if _whiteout(info):
                if below is None:
                    os.unlink(entry.path)
                    gone.append(Change("D", relpath, "file"))
                continue
            if below is not None and not stat.S_ISDIR(below.st_mode) and not self._hides(folder) and \
                    not _difference(real, below, entry.path, info, safe=True):
                os.unlink(entry.path)
                gone.append(Change("M", relpath, "link" if stat.S_ISLNK(info.st_mode) else "file"))
        return gone

    def _prune(self) -> None:
        """Remove folders left empty in the layer; remove the layer once nothing is left."""
        for dirpath, _dirnames, _filenames in os.walk(self.upper, topdown=False):
            if dirpath == self.upper or os.listdir(dirpath):
                continue
            real = os.path.join(self.workspace, os.path.relpath(dirpath, self.upper))
            info, now = _lstat(dirpath), _lstat(real)
            if info is None or now is None or not stat.S_ISDIR(now.st_mode) or _mode(now) != _safe_mode(info):
                continue  # the folder itself is still a change
            if os.listdir(real) and self._hides(dirpath):
                continue  # an opaque folder (it or one above) still hides what the real one holds
            os.rmdir(dirpath)
        if not os.listdir(self.upper) or not self.changes():
            _remove_tree(self.path)  # nothing left to apply: the layer has done its work

    def _hides(self, dirpath: str) -> bool:
        while len(dirpath) > len(self.upper):
            if _opaque(dirpath):
                return True
            dirpath = os.path.dirname(dirpath)
        return False

    def _load_base(self) -> dict[str, tuple[int, int, int]]:
        import marshal

        try:
            with open(os.path.join(self.path, "base"), "rb") as f:
                data = marshal.loads(f.read())
            return data if isinstance(data, dict) else {}
        except (OSError, EOFError, ValueError, TypeError):
            return {}

    def _save_base(self, base: dict[str, tuple[int, int, int]]) -> None:
        import marshal

        write_atomic(os.path.join(self.path, "base"), marshal.dumps(base), 0o600)


def list_layers(state_dir: str, workspace: str) -> list[str]:
    root = layers_root(state_dir, workspace)
    try:
        return sorted(n for n in os.listdir(root) if os.path.isdir(os.path.join(root, n, "upper")))
    except FileNotFoundError:
        return []


def entries_of(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return list(it)


# ---- helpers ---------------------------------------------------------------------------

def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return (info.st_ctime_ns, info.st_ino, info.st_size)


def _identities(top: str) -> dict[str, tuple[int, int, int]]:
    """Every file and link below ``top`` (links not followed), by relative path."""
    out: dict[str, tuple[int, int, int]] = {}
    stack = [("", top)]
    while stack:
        rel, folder = stack.pop()
        try:
            entries = entries_of(folder)
        except OSError:
            continue
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append((relpath, entry.path))
                else:
                    out[relpath] = _identity(entry.stat(follow_symlinks=False))
            except OSError:
                continue
    return out


def _tree_changed(real: str, rel: str, base: dict[str, tuple[int, int, int]]) -> bool:
    now = {f"{rel}/{p}": i for p, i in _identities(real).items()}
    before = {p: i for p, i in base.items() if p.startswith(rel + "/")}
    return now != before


def _forget(base: dict[str, tuple[int, int, int]], path: str) -> None:
    base.pop(path, None)
    prefix = path + "/"
    for key in [k for k in base if k.startswith(prefix)]:
        del base[key]


def _whiteout(info: os.stat_result) -> bool:
    return stat.S_ISCHR(info.st_mode) and info.st_rdev == 0


def _opaque(path: str) -> bool:
    for name in _OPAQUE:
        try:
            if os.getxattr(path, name, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False


def _type(info: os.stat_result) -> str:
    if stat.S_ISDIR(info.st_mode):
        return "dir"
    return "link" if stat.S_ISLNK(info.st_mode) else "file"


def _mode(info: os.stat_result) -> int:
    return stat.S_IMODE(info.st_mode)


def _safe_mode(info: os.stat_result) -> int:
    return stat.S_IMODE(info.st_mode) & ~(stat.S_ISUID | stat.S_ISGID)


def _modes(before: os.stat_result, after: os.stat_result) -> str:
    return f"mode {_mode(before):o} -> {_mode(after):o}"


def _difference(real: str, below: os.stat_result, upper: str, info: os.stat_result, safe: bool = False) -> str:
    """How the layer's ``upper`` differs from the real file ("" when it does not)."""
    if stat.S_ISLNK(info.st_mode) or stat.S_ISLNK(below.st_mode):
        if not (stat.S_ISLNK(info.st_mode) and stat.S_ISLNK(below.st_mode)):
            return "type"
        return "" if os.readlink(real) == os.readlink(upper) else "target"
    parts = []
    if info.st_size != below.st_size or not _same_bytes(real, upper):
        parts.append("content")
    wanted = _safe_mode(info) if safe else _mode(info)
    if wanted != _mode(below):
        parts.append(f"mode {_mode(below):o} -> {wanted:o}")
    return ", ".join(parts)


def _same_bytes(a: str, b: str) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


def _content(path: str) -> bytes:
    try:
        if os.path.islink(path):
            return b""
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError):
        return b""


def _is_link(path: str) -> bool:
    return os.path.islink(path)


def _link_text(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "(none)"


def _renames(found: list[Change], workspace: str, upper: str) -> list[Change]:
    """A deleted file and an added one with the same bytes (and no other candidate): R."""
    deleted = [c for c in found if c.kind == "D" and c.type == "file"]
    added = [c for c in found if c.kind == "A" and c.type == "file"]
    if not deleted or not added:
        return found
    by_size: dict[int, list[Change]] = {}
    for c in added:
        by_size.setdefault(c.size or 0, []).append(c)
    paired: dict[str, Change] = {}
    used: set[str] = set()
    for d in deleted:
        old = os.path.join(workspace, d.path)
        info = _lstat(old)
        if info is None:
            continue
        matches = [a for a in by_size.get(info.st_size, []) if a.path not in used
                   and _same_bytes(old, os.path.join(upper, a.path))]
        if len(matches) == 1:
            used.add(matches[0].path)
            paired[d.path] = Change("R", matches[0].path, "file", matches[0].size, old=d.path)
    out = []
    for c in found:
        if c.kind == "D" and c.path in paired:
            continue
        if c.kind == "A" and c.path in used:
            out.append(next(r for r in paired.values() if r.path == c.path))
            continue
        out.append(c)
    return out


def _relative(path: str, workspace: str) -> str:
    """A path given on the command line (relative to the current folder), relative to the
    workspace; its last component is not resolved (it may be a link, or gone)."""
    full = os.path.abspath(path)
    full = os.path.join(os.path.realpath(os.path.dirname(full)), os.path.basename(full)).rstrip(os.sep)
    if full == workspace or os.path.realpath(full) == workspace:
        return ""
    if not full.startswith(workspace + os.sep):
        raise LayerError(f"{path} is not inside the workspace {workspace}")
    return full[len(workspace) + 1:].replace(os.sep, "/")


def _select(changes: list[Change], paths: list[str]) -> list[Change]:
    if not paths or "" in paths:
        return changes
    chosen = [c for c in changes if any(_under(c.path, p) or (c.old and _under(c.old, p)) for p in paths)]
    missing = [p for p in paths if not any(_under(c.path, p) or (c.old and _under(c.old, p)) for c in changes)]
    if missing:
        raise LayerError(f"no change in the layer under {', '.join(missing)}; nothing applied",
                         hint="`ringfence changes` lists them")
    return chosen


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _ordered(changes: list[Change]) -> list[Change]:
    """Deletions deepest first, then additions and changes shallowest first."""
    deletions = sorted((c for c in changes if c.kind == "D"), key=lambda c: -c.path.count("/"))
    rest = sorted((c for c in changes if c.kind != "D"), key=lambda c: (c.path.count("/"), c.path))
    return deletions + rest


def _replace(source: str, target: str, info: os.stat_result, now: os.stat_result | None) -> None:
    """``target`` becomes a copy of ``source`` (a file or a link) in one rename."""
    import tempfile

    folder = os.path.dirname(target)
    if stat.S_ISLNK(info.st_mode):
        temporary = os.path.join(folder, f"{_APPLY_PREFIX}{os.urandom(6).hex()}")
        os.symlink(os.readlink(source), temporary)
    else:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=_APPLY_PREFIX)
        try:
            with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                dst.flush()
                os.fchmod(dst.fileno(), _safe_mode(info))
                os.fsync(dst.fileno())
        except BaseException:
            os.unlink(temporary)
            raise
    try:
        _own_like(temporary, info, now)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _own_like(path: str, info: os.stat_result, now: os.stat_result | None) -> None:
    """As root: a replaced file keeps its owner; a new one gets the agent's (the layer's)."""
    if os.geteuid() != 0:
        return
    owner = now if now is not None else info
    os.lchown(path, owner.st_uid, owner.st_gid)


def _remove_tree(path: str) -> None:
    """Remove a folder whatever its modes (overlayfs leaves a d--------- work folder)."""
    import shutil

    def fix(function: object, failed: str, _exc: object) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, 0o700)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, 0o700)
            shutil.rmtree(failed, onerror=fix)
        else:
            os.unlink(failed)

    shutil.rmtree(path, onerror=fix)
