"""``.ringfenceignore``: gitignore syntax, for what the scanner and copies leave out.

Rules this module keeps (gitignore(5)):

- blank lines and lines starting with ``#`` are nothing; ``\\#`` and ``\\!`` are literal;
  trailing spaces are dropped unless escaped;
- ``!p`` re-includes what an earlier pattern excluded; the last matching pattern wins;
  a file inside an excluded folder cannot be re-included (git does not descend into it);
- a trailing ``/`` matches folders only;
- a pattern with a ``/`` at its start or middle is anchored to the folder of the file it
  is written in; one without matches a name at any depth below that folder;
- ``*`` matches within a segment, ``?`` one character but ``/``, ``[...]`` a class,
  ``**`` as a whole segment any number of segments (``**/a``, ``a/**``, ``a/**/b``);
- ``.ringfenceignore`` files in subfolders apply below their folder, after the outer ones.

What it never does (the scanner's business, not this module's): re-include a credential
file that a name rule flags. Patterns only ever decide what is *scanned* or *copied*.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import re
    from collections.abc import Iterable

IGNORE_FILE = ".ringfenceignore"


class Pattern:
    """One compiled line: does it match ``relpath`` (relative to the scan root, posix)?"""

    __slots__ = ("text", "negated", "folders_only", "regex")

    def __init__(self, text: str, negated: bool, folders_only: bool, regex: re.Pattern[str]) -> None:
        self.text, self.negated, self.folders_only, self.regex = text, negated, folders_only, regex

    def matches(self, relpath: str, is_dir: bool) -> bool:
        return (is_dir or not self.folders_only) and self.regex.fullmatch(relpath) is not None


def parse(text: str, base: str = "") -> list[Pattern]:
    """The patterns of an ignore file found in folder ``base`` (relative to the root, posix,
    ``""`` for the root itself)."""
    out = []
    for line in text.splitlines():
        pattern = compile_line(line, base)
        if pattern is not None:
            out.append(pattern)
    return out


def compile_line(line: str, base: str = "") -> Pattern | None:
    """One line of an ignore file, or None for a blank line or a comment."""
    import re  # here, not at start-up: most workspaces have no patterns

    text = _strip_trailing_spaces(line.rstrip("\r\n"))
    if not text or text.startswith("#"):
        return None
    negated = text.startswith("!")
    if negated:
        text = text[1:]
    elif text.startswith("\\!") or text.startswith("\\#"):
        text = text[1:]
    folders_only = text.endswith("/") and not text.endswith("\\/")
    body = text.rstrip("/") if folders_only else text
    if not body:
        return None
    anchored = "/" in body
    segments = [s for s in body.strip("/").split("/") if s]
    regex = _segments_regex(segments)
    if not anchored:
        regex = "(?:.*/)?" + regex
    prefix = re.escape(base.strip("/") + "/") if base.strip("/") else ""
    return Pattern(line.strip(), negated, folders_only, re.compile(prefix + regex, re.DOTALL))


def excluded(patterns: Iterable[Pattern], relpath: str, is_dir: bool) -> bool:
    """Is ``relpath`` excluded by ``patterns`` (in order; the last match wins)?  The caller
    does not descend into an excluded folder, which is what keeps its files out even
    when a later ``!`` pattern names them."""
    verdict = False
    for pattern in patterns:
        if pattern.negated == verdict and pattern.matches(relpath, is_dir):
            verdict = not pattern.negated
    return verdict


def _strip_trailing_spaces(text: str) -> str:
    stripped = text.rstrip(" ")
    if stripped.endswith("\\") and len(stripped) < len(text):
        return stripped[:-1] + " "
    return stripped


def _segments_regex(segments: list[str]) -> str:
    regex = ""
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**" and last:
            regex += ".+" if index else ".*"  # a/** is everything inside a, not a itself
        elif segment == "**":
            regex += "(?:[^/]+/)*"  # any number of folders, none included
        else:
            regex += _segment_regex(segment) + ("" if last else "/")
    return regex


def _segment_regex(segment: str) -> str:
    import re  # here, not at start-up: most workspaces have no patterns

    out: list[str] = []
    i = 0
    while i < len(segment):
        c = segment[i]
        if c == "\\" and i + 1 < len(segment):
            out.append(re.escape(segment[i + 1]))
            i += 2
            continue
        if c == "*":
            while i + 1 < len(segment) and segment[i + 1] == "*":
                i += 1  # ** inside a segment is a plain *
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end, cls = _char_class(segment, i)
            out.append(cls)
            i = end
            continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _char_class(segment: str, start: int) -> tuple[int, str]:
    """``[...]`` from ``start``: (index after it, its regex); an unclosed ``[`` is literal."""
    import re  # here, not at start-up: most workspaces have no patterns

    i = start + 1
    if i < len(segment) and segment[i] in "!^":
        i += 1
    if i < len(segment) and segment[i] == "]":
        i += 1
    while i < len(segment) and segment[i] != "]":
        i += 1
    if i >= len(segment):
        return start + 1, re.escape("[")
    inner = segment[start + 1 : i]
    if inner[:1] in ("!", "^"):
        inner = "^" + inner[1:]
    inner = inner.replace("\\", "\\\\")
    return i + 1, f"(?!/)[{inner}]"
