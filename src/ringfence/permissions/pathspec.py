"""``Read(path)`` and ``Edit(path)`` specs: gitignore syntax with Claude Code's anchors.

Rules this module keeps (reference §1 "Read/Edit specs"):

- anchors: ``//abs`` is from the filesystem root; ``~/p`` from the home folder; ``/p``
  from the settings source's folder (the rule's ``base``: the project root for a project
  file, the launch folder for a local file or the command line, ``~/.claude`` for the user
  file, the file's own folder for a ``--settings`` file or a ringfence policy layer);
  ``p`` and ``./p`` from the working folder;
- ``*`` matches within one path segment, ``?`` one character but ``/``, ``[...]`` a class;
  ``**`` as a whole segment crosses segments (``a/**`` is everything inside ``a``,
  ``**/a`` is ``a`` at any depth, ``a/**/b`` is ``b`` at any depth below ``a``);
  elsewhere ``**`` is a plain ``*`` (gitignore); ``\\x`` is a literal ``x``;
- a pattern that matches a folder also matches everything inside it (gitignore: an
  ignored folder's contents are ignored), and a trailing ``/`` is dropped;
- a relative pattern without a ``/`` (``.env``) matches at any depth;
- ``src/**`` (relative, with a ``/``) is only ``<cwd>/src`` in an allow rule but any depth
  in a deny or ask rule.

ringfence's decisions where the reference is silent:

- a relative deny or ask pattern matches at any depth *anywhere* on the filesystem, not
  only below the working folder (``Read(.env)`` also stops ``/other/project/.env``);
  a relative pattern with ``..`` is anchored to the working folder instead;
- in an allow rule ``./p`` anchors ``p`` to the working folder (``./.env`` is only
  ``<cwd>/.env``), where a bare ``.env`` allows any depth below it; both readings are
  the narrower one for the list they are in;
- every anchor folder is also tried resolved (``os.path.realpath``), so that a working
  folder reached through a symbolic link still matches the resolved path of a file in it;
- negation (``!p``) and ``~user/`` are refused: neither has a meaning in a permission rule.
"""

from __future__ import annotations

import os
import re

from ringfence.permissions.errors import RuleError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable

ANYWHERE = ""  # the "root" of a pattern that matches at any depth anywhere


def check_path_spec(text: str, spec: str) -> None:
    """Raise ``RuleError`` for a path spec that has no meaning; the rule is ``text``."""
    if spec.startswith("!"):
        raise RuleError(text, "negated patterns (!p) are not supported in permission rules", hint="write a deny rule")
    if spec.startswith("~") and not (spec == "~" or spec.startswith("~/")):
        raise RuleError(text, "only ~/ (the home folder) is expanded", hint="write the path as //home/NAME/...")
    re.compile(_pattern_regex(spec.split("/")))  # a pattern always translates; this proves it


def compile_path(spec: str, kind: str, *, base: str, cwd: str, home: str) -> Callable[[str], bool]:
    """A predicate over absolute, normalised paths: does the spec of a ``kind`` rule match?"""
    roots, segments, anywhere_below = _anchor(spec, kind, base=base or cwd, cwd=cwd, home=home)
    alternatives = []
    for root in roots:
        prefix = _root_regex(root, segments)
        lead = "(?:/[^/]+)*" if anywhere_below else ""
        alternatives.append(prefix + lead + _pattern_regex(segments))
    regex = re.compile("(?:" + "|".join(alternatives) + ")(?:/.*)?", re.DOTALL)
    match = regex.fullmatch
    return lambda path: match(path) is not None


def _anchor(spec: str, kind: str, *, base: str, cwd: str, home: str) -> tuple[list[str], list[str], bool]:
    """(root folders, pattern segments, matches at any depth below the root)."""
    if spec.startswith("//"):
        return _rooted("/", spec[2:])
    if spec == "~" or spec.startswith("~/"):
        return _rooted(home, spec[2:])
    if spec.startswith("/"):
        return _rooted(base, spec[1:])
    explicit = spec.startswith("./")
    pattern = spec
    while pattern.startswith("./"):
        pattern = pattern[2:]
    if ".." in pattern.split("/") or not _segments(pattern, []):
        return _rooted(cwd, pattern)  # "..", ".": the working folder itself, not any depth
    bare = "/" not in pattern.rstrip("/")
    if kind != "allow":
        return [ANYWHERE], _segments(pattern, []), True
    roots, segments, _ = _rooted(cwd, pattern)
    return roots, segments, bare and not explicit


def _rooted(root: str, pattern: str) -> tuple[list[str], list[str], bool]:
    """Both spellings of ``root`` (as given and resolved), with ``pattern``'s ``.`` and
    ``..`` segments applied to it lexically."""
    roots = []
    for folder in dict.fromkeys((root, os.path.realpath(root) if root != "/" else root)):
        parts = [p for p in folder.split("/") if p]
        segments = _segments(pattern, parts)
        roots.append("/" + "/".join(parts))
    return roots, segments, False


def _segments(pattern: str, root_parts: list[str]) -> list[str]:
    out: list[str] = []
    for segment in pattern.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if out:
                out.pop()
            elif root_parts:
                root_parts.pop()
            continue
        out.append(segment)
    return out


def _root_regex(root: str, segments: list[str]) -> str:
    if root == ANYWHERE:
        return ""
    if root == "/":
        return "" if segments else "/.*"
    return re.escape(root)


def _pattern_regex(segments: list[str]) -> str:
    """The regex for ``/seg1/seg2...`` below a root."""
    out = []
    for index, segment in enumerate(segments):
        if segment == "**":
            last = index == len(segments) - 1
            out.append("/.+" if last else "(?:/[^/]+)*")
        elif segment:
            out.append("/" + _segment_regex(segment))
    return "".join(out)


def _segment_regex(segment: str) -> str:
    out = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if char == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end, cls = _char_class(segment, i)
            if end > i:
                out.append(cls)
                i = end + 1
                continue
            out.append(re.escape(char))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _char_class(segment: str, start: int) -> tuple[int, str]:
    """(index of the closing ``]``, regex) for a class opening at ``start``, or (-1, "")."""
    i = start + 1
    negate = i < len(segment) and segment[i] in "!^"
    if negate:
        i += 1
    first = i
    while i < len(segment) and (segment[i] != "]" or i == first):
        i += 1
    if i >= len(segment):
        return -1, ""
    body = segment[first:i].replace("\\", "\\\\").replace("^", "\\^").replace("[", "\\[").replace("]", "\\]")
    return i, ("[^/" + body + "]") if negate else ("[" + body + "]")


def expand_home(path: str, home: str) -> str:
    """``~``, ``$HOME`` and ``${HOME}`` at the start of ``path`` replaced by ``home``."""
    for spelling in ("~", "$HOME", "${HOME}"):
        if path == spelling or path.startswith(spelling + "/"):
            return home + path[len(spelling) :]
    return path


def normalize(path: str, *, cwd: str, home: str) -> str:
    """An input path made absolute (``~/`` is the home folder) and lexically normalised."""
    path = os.path.normpath(os.path.join(cwd, expand_home(path, home)))
    return "/" + path.lstrip("/")  # POSIX keeps a leading "//"; a rule never means it


def inside(path: str, folder: str) -> bool:
    """Is ``path`` ``folder`` or below it (both absolute and normalised)?"""
    return path == folder or path.startswith(folder.rstrip("/") + "/")
