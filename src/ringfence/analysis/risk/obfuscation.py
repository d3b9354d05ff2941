"""Obfuscation: commands written so that a reader cannot see what they run.

Honest commands rarely need to decode their own text. Decoding base64, hex or reversed text
straight into a shell, building the command name from variables, hiding characters behind
``$'\\x..'`` escapes, zero-width or look-alike Unicode, or changing ``IFS`` so that words
split differently are ways around a reviewer, human or rule. Decoding into a shell is
denied; the rest is asked.

- RF-OBF-001 (CRITICAL): decoded or unescaped text piped into a shell or interpreter
  (``base64 -d | sh``, ``xxd -r -p | bash``, ``rev | sh``, ``printf '\\x..' | sh``).
- RF-OBF-002 (CRITICAL): a shell, ``eval`` or interpreter running decoded text through
  ``$( )`` or ``<( )`` (``eval "$(echo ... | base64 -d)"``).
- RF-OBF-003 (HIGH): ``eval``, ``bash -c`` or ``source`` of a string only known at run time
  (``eval $X``, ``eval "$cmd"``); not the shell set-up of installed tools that is made to be
  eval'd (``eval "$(ssh-agent -s)"``, ``eval "$(pyenv init -)"``: ``bash.env_setup``).
- RF-OBF-004 (HIGH): hex, octal or Unicode escapes in ``$'...'`` strings.
- RF-OBF-005 (HIGH): ``PS4`` assigned, ``IFS`` assigned anything but white space (``IFS=,``;
  not ``IFS=$'\n\t'``, nor ``IFS= read -r line``, one command's own splitting), or
  ``${IFS}`` used as a space.
- RF-OBF-006 (HIGH): invisible, direction-changing or look-alike Unicode characters.
- RF-OBF-007 (HIGH): a command name computed at run time or written as a glob.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.bash import env_setup, whitespace_value
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import INTERPRETERS, SHELLS, reads_stdin_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_ESCAPES = lazy(r"\\(x[0-9a-fA-F]|[0-7]{3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def _decodes(command: SimpleCommand) -> bool:
    """A command whose output is its input decoded: base64 -d, xxd -r, rev, rot13, printf '\\x..'."""
    name, argv = command.name, command.argv
    words = set(argv[1:])
    if name in ("base64", "base32", "basenc", "b64decode") and (
        words & {"-d", "-D", "--decode"} or name == "b64decode"
    ):
        return True
    if name == "openssl" and ("base64" in words or "enc" in words) and "-d" in words:
        return True
    if name == "xxd" and any(a.startswith("-") and "r" in a for a in argv[1:]):
        return True
    if name in ("rev", "uudecode", "gunzip", "zcat", "bzcat", "xzcat") or (
        name in ("gzip", "xz", "bzip2") and "-d" in words
    ):
        return True
    if name == "tr" and any(re.search(r"[A-Za-z]-[A-Za-z].*[N-Zn-z]-", a) for a in argv[1:]):
        return True  # rot13
    if name in ("printf", "echo") and any(_ESCAPES.search(a) for a in argv[1:]):
        return True
    return name in ("python", "python3", "perl", "node") and bool(
        re.search(r"b64decode|fromhex|unhexlify|decode\(|atob|pack\(", " ".join(argv))
    )


@parsed_rule(
    "RF-OBF-001", Severity.CRITICAL, "Pipes decoded text into a shell (base64 -d | sh, xxd -r | bash, rev | sh)."
)
def decode_to_shell(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    stages: dict[int, list[tuple[int, SimpleCommand]]] = {}
    for index, command in enumerate(parsed.commands):
        if command.pipeline >= 0:
            stages.setdefault(command.pipeline, []).append((index, command))
    for members in stages.values():
        decoded_at = min((c.stage for _, c in members if _decodes(c)), default=None)
        if decoded_at is None:
            continue
        for index, command in members:
            if command.stage > decoded_at and reads_stdin_script(command):
                yield index, f"It decodes hidden text and pipes it into `{command.name}` to run."
                break


_DECODE_SUBSTITUTION = lazy(
    r"(?:\$\(|<\(|`)[^)]*(?:base64\s+(?:-\w*\s+)*(?:-d|-D|--decode)|xxd\s+-\w*r|\brev\b|printf\s+['\"]?\\x"
    r"|openssl\s+(?:base64|enc)\b[^)]*-d)"
)


@rule("RF-OBF-002", Severity.CRITICAL, "Runs decoded text through $( ) or <( ) in a shell, eval or interpreter.")
def decoded_substitution(command: SimpleCommand) -> str | None:
    name = command.name
    if name not in SHELLS and name not in INTERPRETERS and name not in ("eval", "source", "."):
        return None
    if any(_DECODE_SUBSTITUTION.search(arg) for arg in command.argv[1:]):
        return f"`{name}` runs text it decodes at run time, hidden from any reader."
    return None


@rule("RF-OBF-003", Severity.HIGH, "eval, bash -c or source of a string only known at run time.")
def eval_computed(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "eval" and any("$" in a or "`" in a for a in argv[1:]) and not env_setup(argv[1:]):
        return "`eval` runs a string only known at run time."
    if name in SHELLS and "-c" in argv:
        string = argv[argv.index("-c") + 1] if argv.index("-c") + 1 < len(argv) else ""
        if re.fullmatch(r"\"?\$\{?\w+\}?\"?", string):
            return f"`{name} -c` runs a string held in a variable."
    if name in ("source", ".") and len(argv) > 1 and re.match(r"^\$\{?\w+", argv[1]):
        return f"`{name}` runs a file named only at run time."
    return None


@parsed_rule("RF-OBF-004", Severity.HIGH, "Hex, octal or Unicode escapes in $'...' strings.")
def ansi_c_escapes(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    if "$'" not in parsed.source:
        return
    for body in re.findall(r"\$'((?:[^'\\]|\\.)*)'", parsed.source):
        if _ESCAPES.search(body):
            yield -1, "It spells characters as $'\\x..' escapes, hiding what they are."
            return


@parsed_rule("RF-OBF-005", Severity.HIGH, "Assigns IFS or PS4, or uses ${IFS} as a space.")
def ifs(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        declares = command.name in ("export", "declare", "typeset", "local", "readonly")
        pairs = list(command.assignments)
        if declares:
            pairs += [a.partition("=")[::2] for a in command.argv[1:] if "=" in a]
        # IFS of white space (`IFS=$'\n\t'`), or as one command's prefix (`IFS= read -r l`),
        # splits nothing in a surprising way; `eval` and `source` run words it splits
        prefix = bool(command.argv) and not declares and command.name not in ("eval", "source", ".")
        hit = {n for n, v in pairs if n == "PS4" or n == "IFS" and not (prefix or whitespace_value(v))}
        if hit:
            yield index, f"It changes {min(hit)}, which changes how bash splits or traces words."
    for index, command in enumerate(parsed.commands):
        if any(_IFS.search(w) and _IFS.sub("", w) for w in command.argv):
            yield index, "It uses ${IFS} in place of a space, a way to hide a command's words."


_IFS = lazy(r"\$\{?IFS\}?")


_LOOKALIKE = lazy("[\u0370-\u03ff\u0400-\u04ff\u2010-\u2015\u2212\u2044\u2215\uff01-\uff5e]")
_INVISIBLE = lazy("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


@parsed_rule("RF-OBF-006", Severity.HIGH, "Invisible, direction-changing or look-alike Unicode characters.")
def unicode_tricks(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    source = parsed.source
    if source.isascii():
        return
    if _INVISIBLE.search(source):
        yield -1, "It contains invisible or direction-changing characters that hide what runs."
    for index, command in enumerate(parsed.commands):
        words = command.argv[:1] + tuple(a for a in command.argv[1:] if a.startswith(("-", "/")) or _LOOKALIKE.match(a))
        if any(_LOOKALIKE.search(w) for w in words):
            yield index, "Its command name, flags or paths use letters that imitate ASCII ones."


@rule("RF-OBF-007", Severity.HIGH, "A command name computed at run time or written as a glob.")
def computed_name(command: SimpleCommand) -> str | None:
    if not command.argv:
        return None
    head = command.argv[0]
    if "$" in head or "`" in head:
        return "Its command name is only known at run time."
    if head not in ("[", "[[") and ("*" in head or "?" in head or "[" in head):
        return "Its command name is a glob pattern, which picks a program by shape."
    return None
