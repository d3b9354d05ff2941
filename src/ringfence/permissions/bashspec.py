"""``Bash(spec)``: matching one simple command's text against a spec.

The text is ``SimpleCommand.text``: the words of one simple command, quotes removed,
joined with single spaces. Splitting a compound command into simple commands, wrappers
and assignments is the parser's job (``ringfence.analysis.bash``); the compound rule is
the engine's.

Rules this module keeps (reference §1 "Bash specs"):

- a spec without an unescaped ``*`` matches exactly;
- ``X:*``, recognised only at the very end, matches ``X`` or ``X`` followed by a space
  and anything (``npm run test:*`` matches ``npm run test`` and ``npm run test -- -k x``
  but not ``npm run testing``);
- otherwise the spec is a glob over the whole text: ``*`` matches any characters, spaces
  included, ``\\*`` is a literal star;
- a glob whose only ``*`` is a final `` *`` has an optional tail: ``ls *`` matches ``ls``
  and ``ls -la`` but not ``lsof``; ``ls*`` matches ``lsof``.

ringfence's decisions where the reference is silent: in ``X:*`` a star inside ``X`` is a
glob too (``git * push:*`` is ``git * push`` with an optional tail); a backslash escapes
only a following ``*`` and is otherwise itself.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable

STAR = None  # a wildcard among the pieces of a spec; every other piece is literal text


def compile_bash(spec: str) -> tuple[str | None, Callable[[str], bool]]:
    """(the literal first word every match starts with, or None; the predicate on a text)."""
    pieces = _pieces(spec)
    if len(pieces) >= 2 and pieces[-1] is STAR and isinstance(pieces[-2], str) and pieces[-2].endswith(":"):
        head = pieces[:-2] + ([pieces[-2][:-1]] if pieces[-2] != ":" else [])
        return _first_word(head), _with_tail(head)
    if STAR not in pieces:
        exact = "".join(p for p in pieces if p is not None)
        return _first_word(pieces), exact.__eq__
    if pieces.count(STAR) == 1 and pieces[-1] is STAR and isinstance(pieces[-2], str) and pieces[-2].endswith(" "):
        return _first_word(pieces), _with_tail([pieces[-2][:-1]])  # one star: one literal before it
    return _first_word(pieces), _glob(pieces)


def _pieces(spec: str) -> list[str | None]:
    pieces: list[str | None] = []
    text: list[str] = []
    i = 0
    while i < len(spec):
        if spec.startswith("\\*", i):
            text.append("*")
            i += 2
            continue
        if spec[i] == "*":
            if text:
                pieces.append("".join(text))
                text = []
            pieces.append(STAR)
        else:
            text.append(spec[i])
        i += 1
    if text:
        pieces.append("".join(text))
    return pieces


def _first_word(pieces: list[str | None]) -> str | None:
    first = pieces[0] if pieces else None
    if first is None or (" " not in first and len(pieces) > 1):
        return None
    return first.split(" ", 1)[0]


def _with_tail(head: list[str | None]) -> Callable[[str], bool]:
    """``head`` alone, or ``head`` followed by a space and anything."""
    if STAR not in head:
        literal = "".join(p for p in head if p is not None)
        with_space = literal + " "
        return lambda text: text == literal or text.startswith(with_space)
    import re

    match = re.compile(_regex(head) + "(?: .*)?", re.DOTALL).fullmatch
    return lambda text: match(text) is not None


def _glob(pieces: list[str | None]) -> Callable[[str], bool]:
    import re

    match = re.compile(_regex(pieces), re.DOTALL).fullmatch
    return lambda text: match(text) is not None


def _regex(pieces: list[str | None]) -> str:
    import re

    return "".join(".*" if p is STAR else re.escape(p) for p in pieces)
