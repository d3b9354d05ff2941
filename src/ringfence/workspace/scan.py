"""Scanning a folder for credential files and secrets (``ringfence scan``, masking, copies).

Rules this module keeps:

- Every regular file below the root is looked at, including what ``.gitignore`` hides (an
  ignored ``.env`` is exactly the risk). ``.ringfenceignore`` files (gitignore syntax,
  ``workspace.ignore``) and the caller's ``exclude`` patterns leave paths out of the
  content scan; a file that a credential-file name rule flags is reported whatever they
  say: no pattern, ``!`` or otherwise, can hide a ``.env`` or an ``id_rsa``.
- A secret's line may carry ``ringfence:allow`` after a comment marker (``#``, ``//``,
  ``--``, ``;``, ``/*``, ``<!--``): that finding is allowed, and counted as such.
- Symbolic links are never followed: a link's own name is checked against the name rules,
  and a link that leaves the root is listed as skipped. Files are opened with
  ``O_NOFOLLOW`` so a file swapped for a link mid-scan is not read either.
- ``.git`` is not walked (its objects are compressed); ``.git/config`` is scanned, since
  remote URLs there carry tokens.
- Files with a NUL byte in their first 8 KiB are binary: only their names are checked.
  Files over ``max_bytes`` are listed as skipped, never half-scanned.
- A finding carries the rule, the file, the line and a fingerprint, never the secret:
  the fingerprint is a truncated SHA-256 of the rule, the file and the value, stable
  across runs (for baselines) but not the value. ``Secret`` objects, which do hold the
  value, are for masking and the leak guard only and never rendered.
"""

from __future__ import annotations

import os
import stat

from ringfence._struct import record
from ringfence.errors import ExitCode, RingfenceError
from ringfence.workspace import ignore

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ringfence.workspace import credfiles

MAX_FILE_BYTES = 256 * 1024 * 1024
_BINARY_PROBE = 8192
_NOT_WALKED = frozenset({".git"})
_GIT_FILES_SCANNED = ("config",)  # inside .git: remote URLs carry tokens
_ALLOW_MARKER = "ringfence:allow"
_COMMENT_STARTS = ("#", "//", "--", ";", "/*", "<!--")


class ScanError(RingfenceError):
    """The folder cannot be scanned (missing, not a folder, unreadable): a usage error."""

    exit_code = ExitCode.USAGE


@record
class Finding:
    """One credential file (``kind="file"``, ``line`` None) or one secret in a file."""

    rule: str
    kind: str  # "file" | "content"
    file: str  # relative to the scanned folder, with "/"
    line: int | None
    fingerprint: str
    title: str  # the rule's one line, for a person


@record
class Secret:
    """Where a secret is, with its value: for masking and the leak guard, never printed.
    ``start``/``end`` are character offsets on ``line`` and ``end_line``."""

    file: str
    rule: str
    line: int
    end_line: int
    start: int
    end: int
    value: str = ""

    def __repr__(self) -> str:  # the value stays out of any repr, log or traceback
        return f"Secret({self.rule} at {self.file}:{self.line})"


@record
class ScanResult:
    root: str
    findings: tuple[Finding, ...]
    files_scanned: int
    allowed: int  # findings a ringfence:allow comment allowed
    skipped: tuple[tuple[str, str], ...]  # (file, why) for files not read
    secrets: tuple[Secret, ...]  # the values behind the content findings
    files: tuple[str, ...] = ()  # every file scanned (or known clean), sorted
    links: tuple[tuple[str, str], ...] = ()  # (link, its target as written) for links inside the folder
    identities: tuple[tuple[str, tuple[int, ...]], ...] = ()  # (file, identity) of each file with secrets


def scan(root: str, *, exclude: Iterable[str] = (), max_bytes: int = MAX_FILE_BYTES,
         cache: str | None = None, list_files: bool = True) -> ScanResult:
    """Scan the folder ``root``; raises ``ScanError`` when it is not a readable folder.

    With ``cache`` (a folder only ringfence writes: its state folder, which the sandbox
    never sees), files whose identity (device, inode, size, mtime, ctime) is unchanged
    since a scan that found nothing in them are not read again. ctime cannot be set
    back by a user, so a changed file always has a new identity. ``list_files=False`` leaves
    ``ScanResult.files`` empty (masking needs only the findings).
"""
    top = os.path.abspath(root)
    try:
        mode = os.stat(top).st_mode
    except OSError as exc:
        raise ScanError(f"cannot scan {root}: {exc.strerror}") from None
    if not stat.S_ISDIR(mode):
        raise ScanError(f"cannot scan {root}: not a folder")
    walker = _Walker(top, max_bytes)
    walker.list_files = list_files
    cache_file = _cache_file(cache, top) if cache else None
    if cache_file:
        walker.known, walker.known_found = _load_cache(cache_file)
    patterns = [p for line in exclude if (p := ignore.compile_line(line)) is not None]
    walker.walk(top, "", patterns)
    if cache_file and (walker.clean != walker.known or walker.found != walker.known_found):
        _save_cache(cache_file, walker.clean, walker.found)
    findings = sorted(walker.findings, key=lambda f: (f.file, f.line or 0, f.rule))
    walker.files.sort()
    return ScanResult(top, tuple(findings), walker.scanned, walker.allowed, tuple(sorted(walker.skipped)),
                      tuple(sorted(walker.secrets, key=lambda s: (s.file, s.line, s.start))), tuple(walker.files) if list_files else (),
                      tuple(sorted(walker.links)), tuple(sorted(walker.identities.items())))


# --- the cache --------------------------------------------------------------------------
#
# Per scanned folder and rule set, a file (``marshal``) in ringfence's state folder (which the sandbox
# never sees): for a file that held nothing, its identity, by folder (an unchanged folder's entry is
# kept whole, not rebuilt file by file); for a file that held secrets or is a credential file, its
# identity, how many findings an allow comment allowed, and where each secret is (rule,
# lines, offsets, fingerprint), never the value. A cached file with secrets is read again,
# but not scanned: each value is taken at its offsets and must match its fingerprint, else
# the file is scanned afresh.

_Identity = tuple[int, int, int]  # ctime (ns), inode, size: see identity()
# rule, line, end line, start, end (characters on their lines), fingerprint, the value's byte
# offsets in the file, the rule's title, a CRC-32 of the value (a check that the offsets still
# land on it, cheaper than SHA-256 and no more telling than the fingerprint beside it)
_Where = tuple[str, int, int, int, int, str, int, int, str, int]  # ..., CRC-32 of the value
# identity, allowed, secrets, the name rule's id and fingerprint (or "", "")
_Found = tuple[_Identity, int, tuple[_Where, ...], str, str]
_CACHE_FORMAT = 4


def cached_size(root: str, cache: str) -> int | None:
    """The size in bytes of ``root``'s cache (~40 bytes a file), None without one: how big
    the last scan found the folder, known without walking it."""
    try:
        return os.stat(_cache_file(cache, os.path.abspath(root))).st_size
    except OSError:
        return None


_CACHE_FILES: dict[tuple[str, str], str] = {}  # a run asks twice (cached_size, then scan)


def _cache_file(folder: str, top: str) -> str:
    """One file per scanned folder and rule set: a change to the rules starts afresh. Named
    once per process: the rules a process runs are the ones it loaded."""
    known = _CACHE_FILES.get((folder, top))
    if known is None:
        known = _CACHE_FILES[(folder, top)] = _name_cache_file(folder, top)
    return known


def _name_cache_file(folder: str, top: str) -> str:
    from ringfence import __version__

    here = os.path.dirname(os.path.abspath(__file__))
    modules = [os.stat(os.path.join(here, name)) for name in ("credfiles.py", "secrets.py", "scan.py")]
    rules = [f"{m.st_mtime_ns}:{m.st_size}" for m in modules]
    text = "\0".join([top, __version__, *rules]).encode("utf-8", "surrogateescape")
    return os.path.join(folder, f"{_fnv1a(text):016x}{len(text):x}.cache")


def _fnv1a(data: bytes) -> int:
    """64-bit FNV-1a: a file name, not a secret (the folder is ringfence's own). Not hashlib
    (its OpenSSL costs the run's start-up a few ms), nor zlib (one more library to load)."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


def _load_cache(path: str) -> tuple[dict[str, dict[str, _Identity]], dict[str, _Found]]:
    import marshal  # only ringfence writes this file, in its own folder; ten times faster than JSON

    try:
        with open(path, "rb") as f:
            data = marshal.loads(f.read())
            age = _now() - os.fstat(f.fileno()).st_mtime
        if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
            return {}, {}
        clean, found = data["clean"], data["found"]
        if isinstance(clean, dict) and isinstance(found, dict):
            if age > _DAY:  # in use: not stale (one touch a day, not one a run)
                os.utime(path)
            return clean, found
    except (OSError, EOFError, ValueError, TypeError, KeyError):
        pass
    return {}, {}  # no cache, or one we cannot read: scan everything


def _save_cache(path: str, clean: dict[str, dict[str, _Identity]], found: dict[str, _Found]) -> None:
    """Written beside, then renamed: a cache is whole or absent, never torn."""
    import marshal
    import tempfile

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        new = not os.path.exists(path)
        fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".scan-")
        with os.fdopen(fd, "wb") as f:
            marshal.dump({"format": _CACHE_FORMAT, "clean": clean, "found": found}, f)
        os.replace(temporary, path)
        if new:
            prune_stale(os.path.dirname(path))
    except (OSError, ValueError):
        pass  # a cache we cannot write only costs time next run


_DAY = 86400.0
STALE_AFTER = 30 * _DAY  # a cache (or masked copies) unused this long: its folder is gone, or its rules are old


def _now() -> float:
    import time

    return time.time()


def prune_stale(folder: str) -> None:
    """Remove the caches and masked copies nobody used for ``STALE_AFTER``: one cache is
    made per scanned folder and per version of the rules, and nothing else ever removes
    them (a workspace deleted, ringfence upgraded). Called when a new cache is made; a cache
    or copies folder in use is touched once a day, so it is never taken."""
    import shutil

    limit = _now() - STALE_AFTER
    try:
        entries = list(os.scandir(folder))
        masked = os.path.join(folder, "masked")
        entries += list(os.scandir(masked)) if os.path.isdir(masked) else []
    except OSError:
        return
    for entry in entries:
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= limit:
                continue
            if entry.name.endswith(".cache") or entry.name.startswith(".scan-"):
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False) and os.path.dirname(entry.path) == masked:
                shutil.rmtree(entry.path)
        except OSError:
            continue


def _titles() -> dict[str, str]:
    from ringfence.workspace import secrets

    return {r.id: r.title for r in secrets.secret_rules()}


def _bytes_before(text: str, at: int) -> int:
    return len(text[:at].encode("utf-8", "surrogateescape"))


def identity(info: os.stat_result) -> _Identity:
    """What tells a file's content has not changed: its ctime, which every write and every
    change of its times moves and no user can set back, with its inode and size."""
    return (info.st_ctime_ns, info.st_ino, info.st_size)


def fingerprint(rule: str, file: str, value: str = "") -> str:
    """Stable across runs, never the value: 16 hex digits of SHA-256 over rule, file, value."""
    import hashlib

    digest = hashlib.sha256(f"ringfence-scan-v1\0{rule}\0{file}\0{value}".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()[:16]


def allowed_line(line: str) -> bool:
    """Does ``line`` carry a ``ringfence:allow`` comment?"""
    at = line.find(_ALLOW_MARKER)
    if at < 0:
        return False
    before = line[:at].rstrip()
    return any(before.endswith(start) for start in _COMMENT_STARTS)


class _Walker:
    def __init__(self, top: str, max_bytes: int) -> None:
        from ringfence.workspace import credfiles

        self.top, self.max_bytes = top, max_bytes
        self.credential_file = credfiles.credential_file
        self.findings: list[Finding] = []
        self.secrets: list[Secret] = []
        self.skipped: list[tuple[str, str]] = []
        self.allowed = 0
        self.list_files = True
        self.scanned = 0
        self.known: dict[str, dict[str, _Identity]] = {}  # from the cache: by folder, files that held nothing
        self.known_found: dict[str, _Found] = {}  # from the cache: files that held secrets
        self.files: list[str] = []
        self.links: list[tuple[str, str]] = []
        self.clean: dict[str, dict[str, _Identity]] = {}  # this scan's: files that hold nothing, not even a name
        self.found: dict[str, _Found] = {}  # this scan's: files with secrets (or allowed ones)
        self.identities: dict[str, _Identity] = {}  # files with secrets: the identity scanned

    def walk(self, folder: str, rel: str, patterns: list[ignore.Pattern]) -> None:
        # entries of a folder opened by descriptor are stat'ed relative to it (fstatat): one
        # path component for the kernel to look up per file, not the whole path
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError as exc:
            self.skipped.append((rel or ".", f"folder not readable: {exc.strerror}"))
            return
        try:
            self._entries(fd, folder, rel, patterns)
        finally:
            os.close(fd)

    def _entries(self, fd: int, folder: str, rel: str, patterns: list[ignore.Pattern]) -> None:
        try:
            entries = list(os.scandir(fd))  # unsorted: the result is sorted once, at the end
        except OSError as exc:
            self.skipped.append((rel or ".", f"folder not readable: {exc.strerror}"))
            return
        patterns = self._with_ignore_file(folder, rel, entries, patterns)
        prefix = f"{rel}/" if rel else ""
        known_here, known_found = self.known.get(rel), self.known_found
        matched = []  # files unchanged since a scan found nothing in them: the fast path
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False):
                    name = entry.name
                    excluded = bool(patterns) and ignore.excluded(patterns, prefix + name, False)
                    if not excluded and (known_here is not None or known_found):
                        info = entry.stat(follow_symlinks=False)
                        if known_here is not None:
                            ident = known_here.get(name)
                            if (ident is not None and ident[0] == info.st_ctime_ns and ident[1] == info.st_ino
                                    and ident[2] == info.st_size):
                                matched.append(name)
                                continue
                        cached = known_found.get(prefix + name)
                        if cached is not None and cached[0] == identity(info) and \
                                self._cached(f"{folder}/{name}", prefix + name, cached):
                            continue
                    self._file(f"{folder}/{name}", prefix + name, excluded)
                elif entry.is_dir(follow_symlinks=False):
                    self._folder(entry.name, f"{folder}/{entry.name}", prefix + entry.name, patterns)
                elif entry.is_symlink():
                    self._link(f"{folder}/{entry.name}", prefix + entry.name)
            except OSError as exc:
                self.skipped.append((prefix + entry.name, f"not readable: {exc.strerror}"))
        if matched:
            assert known_here is not None
            self.scanned += len(matched)
            if len(matched) == len(known_here) and rel not in self.clean:
                self.clean[rel] = known_here  # the folder as cached: nothing to rebuild
            else:
                here = self.clean.setdefault(rel, {})
                for name in matched:
                    here[name] = known_here[name]
            if self.list_files:
                self.files += [prefix + name for name in matched]

    def _mark_clean(self, relpath: str, ident: _Identity) -> None:
        folder, _, name = relpath.rpartition("/")
        self.clean.setdefault(folder, {})[name] = ident

    def _with_ignore_file(
        self, folder: str, rel: str, entries: list[os.DirEntry[str]], patterns: list[ignore.Pattern],
    ) -> list[ignore.Pattern]:
        if not any(e.name == ignore.IGNORE_FILE and e.is_file(follow_symlinks=False) for e in entries):
            return patterns
        try:
            with open(os.path.join(folder, ignore.IGNORE_FILE), encoding="utf-8", errors="replace") as f:
                return patterns + ignore.parse(f.read(), rel)
        except OSError as exc:
            self.skipped.append((f"{rel}/{ignore.IGNORE_FILE}" if rel else ignore.IGNORE_FILE,
                                 f"not readable: {exc.strerror}"))
            return patterns

    def _folder(self, name: str, path: str, relpath: str, patterns: list[ignore.Pattern]) -> None:
        if name in _NOT_WALKED:
            for inside in _GIT_FILES_SCANNED:
                file = os.path.join(path, inside)
                if os.path.isfile(file) and not os.path.islink(file):
                    self._file(file, f"{relpath}/{inside}", ignore.excluded(patterns, relpath, True))
            return
        if ignore.excluded(patterns, relpath, True):
            self._names_only(path, relpath)
            return
        self.walk(path, relpath, patterns)

    def _names_only(self, folder: str, rel: str) -> None:
        """An excluded folder: not scanned, but a credential file inside is still reported."""
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if d not in _NOT_WALKED]
            base = rel + dirpath[len(folder):].replace(os.sep, "/")
            for name in filenames:
                self._name(f"{base}/{name}")

    def _link(self, path: str, relpath: str) -> None:
        self._name(relpath)
        target = os.path.realpath(path)
        if not (target == self.top or target.startswith(self.top + os.sep)):
            self.skipped.append((relpath, "a symbolic link that leaves the folder: not followed"))
        else:
            self.links.append((relpath, os.readlink(path)))

    def _name(self, relpath: str, data: bytes | None = None) -> None:
        self._record(self.credential_file(relpath, data), relpath)

    def _record(self, rule: credfiles.FileRule | None, relpath: str, mark: str = "") -> str:
        if rule is None:
            return ""
        mark = mark or fingerprint(rule.id, relpath)
        self.findings.append(Finding(rule.id, "file", relpath, None, mark, rule.title))
        return mark

    def _file(self, path: str, relpath: str, excluded: bool) -> None:
        by_name = self.credential_file(relpath)
        # a name its content confirms (a *.pem of certificates only is no credential) is judged
        # once read; unread (excluded, too large, unreadable), the name alone decides: failing closed
        confirm = by_name is not None and by_name.confirm is not None
        if excluded or not confirm:
            self._record(by_name, relpath)
        if excluded:
            return
        read = self._read(path, relpath)
        if read is None:
            if confirm:
                self._record(by_name, relpath)
            return
        data, ident = read
        self.scanned += 1
        self.files.append(relpath)
        if confirm:
            by_name = self.credential_file(relpath, data)
            self._record(by_name, relpath)
        if b"\0" in data[:_BINARY_PROBE]:
            if by_name is None:
                self._mark_clean(relpath, ident)
            return
        allowed, where = self._scan(data, relpath)
        if where or allowed or by_name is not None:
            named = (by_name.id, fingerprint(by_name.id, relpath)) if by_name is not None else ("", "")
            self.found[relpath] = (ident, allowed, tuple(where), *named)
            if where:
                self.identities[relpath] = ident
        else:
            self._mark_clean(relpath, ident)

    def _scan(self, data: bytes, relpath: str) -> tuple[int, list[_Where]]:
        import zlib

        from ringfence.workspace import secrets

        text = data.decode("utf-8", "surrogateescape")
        hits = secrets.scan_text(text, relpath)
        allowed = 0
        where: list[_Where] = []
        if not hits:
            return allowed, where
        titles = _titles()
        lines = text.split("\n")  # as secrets.scan_text numbers them
        starts = [0]  # where each line starts in text
        for line in lines[: max(h.end_line for h in hits)]:
            starts.append(starts[-1] + len(line) + 1)
        ascii_only = len(data) == len(text)
        for hit in hits:
            first = lines[hit.line - 1] if 0 < hit.line <= len(lines) else ""
            if allowed_line(first):
                allowed += 1
                continue
            mark = fingerprint(hit.rule, relpath, hit.value)
            at = starts[hit.line - 1] + hit.start
            until = starts[hit.end_line - 1] + hit.end
            if not ascii_only:  # character offsets to byte offsets
                at, until = _bytes_before(text, at), _bytes_before(text, until)
            title = titles.get(hit.rule, hit.rule)
            check = zlib.crc32(hit.value.encode("utf-8", "surrogateescape"))
            where.append((hit.rule, hit.line, hit.end_line, hit.start, hit.end, mark, at, until, title, check))
            self._secret(relpath, hit.rule, hit.line, hit.end_line, hit.start, hit.end, hit.value, mark, title)
        self.allowed += allowed
        return allowed, where

    def _cached(self, path: str, relpath: str, cached: _Found) -> bool:
        """The findings of an unchanged file with secrets, from the cache: each value is
        read at its byte offsets and must match its check. False (nothing recorded) when
        anything differs: the caller scans the file afresh."""
        import zlib

        by_name = self.credential_file(relpath)
        try:
            ident, allowed, where, named, named_mark = cached
            if by_name is not None and by_name.confirm is not None and not named:
                by_name = None  # its content showed nothing secret, and has not changed
            values = []
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
            try:
                if identity(os.fstat(fd)) != ident:
                    return False
                for *_, at, until, _title, check in where:
                    raw = os.pread(fd, until - at, at)
                    if zlib.crc32(raw) != check:
                        return False
                    values.append(raw.decode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        except (OSError, ValueError, TypeError):
            return False  # unreadable now, or a cache entry of the wrong shape
        if by_name is not None and by_name.id != named:
            return False  # not what the cache says: read it
        self._record(by_name, relpath, named_mark)
        self.scanned += 1
        self.files.append(relpath)
        for (rule, line, end_line, start, end, mark, _at, _until, title, _check), value in zip(where, values):
            self._secret(relpath, rule, line, end_line, start, end, value, mark, title)
        self.allowed += allowed
        self.found[relpath] = cached
        if where:
            self.identities[relpath] = ident
        return True

    def _secret(self, relpath: str, rule: str, line: int, end_line: int, start: int, end: int, value: str,
                mark: str, title: str) -> None:
        self.findings.append(Finding(rule, "content", relpath, line, mark, title))
        self.secrets.append(Secret(relpath, rule, line, end_line, start, end, value))

    def _read(self, path: str, relpath: str) -> tuple[bytes, _Identity] | None:
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
        fd = os.open(path, flags)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None
            if info.st_size > self.max_bytes:
                self.skipped.append((relpath, f"{info.st_size:,} bytes, over the {self.max_bytes:,} scanned"))
                return None
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return b"".join(chunks), identity(info)
        finally:
            os.close(fd)
