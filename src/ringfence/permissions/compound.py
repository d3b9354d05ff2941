"""The parts of a Bash command that rules are matched against.

A parsed command is a list of simple commands (the parser recurses into ``&&``, pipes,
subshells, ``$()``, ``bash -c`` strings...). For each one this module gives:

- the texts a deny or ask rule is matched against: the command as parsed (wrappers and
  assignments removed), with ``argv[0]`` reduced to its base name (``/bin/rm`` is ``rm``,
  #11662), with its wrappers and their options in front (so ``Bash(sudo:*)`` still
  fires), and with its assignments in front too (so ``Bash(LD_PRELOAD=*)`` can);
- the one text an allow rule must match: the parsed text, unless an assignment is not a
  safe variable or a wrapper is not one Claude Code strips (or is ``xargs`` with options),
  in which case all of them stay in front (``sudo npm test`` is not allowed by
  ``Bash(npm test)``; #31558, #92542);
- the files it writes (redirect targets and ``tee`` operands) and reads (``<`` targets and
  the operands of ``cat``, ``head``, ``sed``... see ``builtin.FILE_READERS``).

``BashRules`` holds one list's compiled Bash specs, bucketed by their literal first word
so that a command is only tried against the specs that could match it.
"""

from __future__ import annotations


from ringfence.permissions.bashspec import compile_bash
from ringfence.permissions.builtin import FILE_READERS, SAFE_VARIABLES, STRIPPED_WRAPPERS, operands, read_paths

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ringfence.analysis.bash import Redirect, SimpleCommand
    from ringfence.permissions.rules import Rule


class BashRules:
    """The Bash specs of one list (deny, ask or allow), compiled."""

    __slots__ = ("by_word", "anywhere")

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.by_word: dict[str, list[tuple[Rule, Callable[[str], bool]]]] = {}
        self.anywhere: list[tuple[Rule, Callable[[str], bool]]] = []
        for rule in rules:
            word, test = compile_bash(rule.spec)
            bucket = self.anywhere if word is None else self.by_word.setdefault(word, [])
            bucket.append((rule, test))

    def __bool__(self) -> bool:
        return bool(self.by_word or self.anywhere)

    def match(self, text: str) -> Rule | None:
        """The first rule whose spec matches ``text``, or None."""
        for rule, test in self.by_word.get(text.split(" ", 1)[0], ()):
            if test(text):
                return rule
        for rule, test in self.anywhere:
            if test(text):
                return rule
        return None

    def match_any(self, texts: Iterable[str]) -> tuple[Rule, str] | None:
        """(the first rule matching one of ``texts``, that text), or None."""
        for text in texts:
            rule = self.match(text)
            if rule is not None:
                return rule, text
        return None


def deny_texts(command: SimpleCommand) -> list[str]:
    """Every spelling of ``command`` a deny or ask rule is tried against."""
    argv = command.argv
    heads = [argv]
    if argv and "/" in argv[0]:
        heads.append((command.name,) + argv[1:])
    fronts: list[tuple[str, ...]] = [()]
    if command.prefix:
        fronts.append(command.prefix)
    if command.assignments:
        fronts.append(tuple(f"{name}={value}" for name, value in command.assignments) + command.prefix)
    if len(heads) == 1 and len(fronts) == 1:
        return [command.text]
    return list(dict.fromkeys(" ".join(front + head) for front in fronts for head in heads))


def looks_past(command: SimpleCommand) -> bool:
    """May an allow rule ignore this command's assignments and wrappers?"""
    safe = all(name in SAFE_VARIABLES or name.startswith("LC_") for name, _value in command.assignments)
    return safe and all(w in STRIPPED_WRAPPERS for w in command.wrappers) and not _xargs_flags(command.prefix)


def allow_text(command: SimpleCommand) -> str:
    """The text an allow rule must match for ``command``."""
    if looks_past(command):
        return command.text
    front = [f"{name}={value}" for name, value in command.assignments] + list(command.prefix)
    return " ".join(front + [command.text]) if command.text else " ".join(front)


def _xargs_flags(prefix: tuple[str, ...]) -> bool:
    """Does ``xargs`` come with options? (Claude Code strips only a flagless one.)"""
    if "xargs" not in prefix:
        return False
    after = prefix[prefix.index("xargs") + 1 :]
    for word in after:
        if word in STRIPPED_WRAPPERS:
            return False
        if word.startswith("-"):
            return True
    return False


def written_files(command: SimpleCommand) -> list[str]:
    """The files ``command`` writes: its write-redirect targets and ``tee`` operands."""
    files = [r.target for r in command.redirects if r.writes and r.target is not None and not _is_fd(r)]
    if command.name == "tee":
        files += operands(command.argv)
    return files


def read_files(command: SimpleCommand) -> list[str]:
    """The files ``command`` reads that a Read deny covers: ``<`` targets and the operands
    of the file readers."""
    files = [
        r.target for r in command.redirects
        if not r.writes and r.target is not None and r.op.lstrip("0123456789") in _READ_OPS and not _is_fd(r)
    ]
    if command.name in FILE_READERS:
        files += read_paths(command.argv)
    return files


def _is_fd(redirect: Redirect) -> bool:
    """``>&2``, ``2>&1``, ``<&-``: a file descriptor duplicated or closed, not a path."""
    target = redirect.target or ""
    return target.startswith("&") or ("&" in redirect.op and (target.isdigit() or target == "-"))


_READ_OPS = frozenset({"<", "<>"})  # not "<<", "<<-" (heredocs) nor "<<<" (a word, not a file)
