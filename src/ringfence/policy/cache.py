"""A cache of parsed policy files, so that a run need not load the TOML parser.

``tomllib`` (and the ``re`` it needs) costs a noticeable share of ``ringfence run``'s
start-up; a policy file rarely changes between runs. The parsed table is cached with
``marshal`` (built in, nothing to load), keyed by what identifies one version of the file:
device, inode, size, mtime and ctime — the ctime cannot be set back by anyone, so any
change to the file misses the cache.

Rules this module keeps:

- only files owned by the invoking user are cached, in that user's ringfence state folder
  (``~/.local/share/ringfence/cache``), which every sandbox hides and which cannot be
  re-allowed: an agent can neither read nor poison it;
- any problem with the cache (missing, corrupt, wrong key, unmarshallable values) means the
  file is parsed as if there were no cache; the cache is written atomically.
"""

from __future__ import annotations

import marshal
import os

CACHE_FOLDER = ".local/share/ringfence/cache"


def _key(st: os.stat_result) -> str:
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _entry(folder: str, st: os.stat_result) -> str:
    return os.path.join(folder, f"policy-{st.st_dev:x}-{st.st_ino:x}.marshal")


def load(path: str, st: os.stat_result, folder: str) -> dict[str, object] | None:
    """The cached table of ``path`` at version ``st``, or None."""
    if st.st_uid != os.getuid():
        return None
    try:
        with open(_entry(folder, st), "rb") as fh:
            key, cached_path, table = marshal.load(fh)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if key != _key(st) or cached_path != path or not isinstance(table, dict):
        return None
    return table


def store(path: str, st: os.stat_result, folder: str, table: dict[str, object]) -> None:
    """Remember ``table`` as the parse of ``path`` at version ``st`` (best effort)."""
    if st.st_uid != os.getuid():
        return
    try:
        data = marshal.dumps((_key(st), path, table))
    except ValueError:
        return  # a value marshal cannot hold (a TOML date): parse every time
    entry = _entry(folder, st)
    partial = f"{entry}.{os.getpid()}.tmp"
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(partial, entry)
    except OSError:
        try:
            os.unlink(partial)
        except OSError:
            pass
