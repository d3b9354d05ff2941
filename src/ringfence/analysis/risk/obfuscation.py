"""Obfuscation: commands written so that a reader cannot see what they run.

Honest commands rarely need to decode their own text. Decoding base64, hex, compressed or
reversed text straight into a shell, building the command name from variables, hiding
characters behind ``$'\\x..'`` escapes, zero-width or look-alike Unicode, or changing
``IFS`` so that words split differently are ways around a reviewer, human or rule.
Decoding into a shell is denied; the rest is asked.

Decoders are ``base64``/``base32``/``basenc -d``, ``xxd -r``, ``openssl enc|base64|<cipher>
-d``, ``gpg -d``, ``gzip -d``/``zcat``/``bzcat``/``xzcat``/``zstd -d``..., ``unzip -p``,
``tar -xO``, ``uudecode``, ``rev``, rot13 ``tr``, ``printf``/``echo`` of ``\\x..`` escapes and
inline code that decodes (``b64decode``, ``fromhex``, ``pack("H*")``...). Rewriters (``tr``,
``sed``, ``cut``, ``awk``, ``perl -pe``, ``tac``, ``paste``, ``fold``) count as decoders only
when what they rewrite is text on the command line (a here-string, an ``echo``/``printf``
stage): ``tr -d '\\r' < install.sh | sh`` fixes line endings, ``tr -d '#' <<< 'r#m...' | sh``
hides a command.

- RF-OBF-001 (CRITICAL): decoded text, or text on the command line rewritten, piped into a
  shell or interpreter, or into ``xargs sh -c '{}'`` (``base64 -d | sh``, ``gzip -dc f |
  bash``, ``rev | sh``, ``tr 'a-z' 'n-za-m' <<< '...' | bash``, ``printf '\\x..' | sh``).
- RF-OBF-002 (CRITICAL): a shell, ``eval``, ``source`` or interpreter running decoded text
  through ``$( )``, ``<( )``, a here-string, a redirect (``sh < <(xxd -r ...)``,
  ``source /dev/stdin <<< "$(... | base64 -d)"``) or a variable that holds it
  (``c=$(... | base64 -d); eval "$c"``), or a command name decoded at run time.
- RF-OBF-003 (HIGH): ``eval``, ``bash -c`` or ``source`` of a string only known at run time
  (``eval $X``, ``eval "$cmd"``); not the shell set-up of installed tools that is made to be
  eval'd (``eval "$(ssh-agent -s)"``, ``eval "$(pyenv init -)"``: ``bash.env_setup``).
- RF-OBF-004 (HIGH): hex, octal or Unicode escapes in ``$'...'`` strings.
- RF-OBF-005 (HIGH): ``PS4`` assigned, ``IFS`` assigned anything but white space (``IFS=,``;
  not ``IFS=$'\\n\\t'``, nor ``IFS= read -r line``, one command's own splitting), or
  ``${IFS}`` used as a space.
- RF-OBF-006 (HIGH): invisible, direction-changing or look-alike Unicode characters.
- RF-OBF-007 (HIGH): a command name computed at run time or written as a glob.
- RF-OBF-008 (CRITICAL): inline code (``python -c``, ``node -e``, ``perl -e``, ``ruby -e``,
  ``php -r``, an awk program) that both decodes (base64, hex, ``pack``, ``atob``,
  ``Buffer.from(..., 'base64')``, ``chr()``/``%c`` chains, ``[::-1]``...) and executes
  (``exec``, ``eval``, ``system``, ``os.system``, ``subprocess``, ``child_process``,
  backquotes, ``| "sh"``). Decoding and printing (``print(b64decode(s))``) is not flagged.
- RF-OBF-009 (CRITICAL): decoded text written to a file (``base64 -d > x.sh``, ``-out``)
  that a later command of the same line runs or sources.
- RF-OBF-010 (CRITICAL) and RF-OBF-011 (HIGH): literal script text that a shell runs
  indirectly (``echo '...' | sh``, ``printf '...' | xargs -I{} sh -c '{}'``, ``echo '...' >
  f; . f``) is judged as if it had been typed: 010 when that would be denied, 011 when it
  would be asked. A harmless script written and run (``echo 'make test' > t.sh && sh
  t.sh``) is not flagged.
- RF-OBF-012 (HIGH): ``xargs`` running each line of its input as a whole shell program
  (``xargs -I{} sh -c '{}'``, ``xargs sh -c``): the program is data no reader sees.
- RF-OBF-013 (CRITICAL): a disguised command (look-alike or invisible characters, a name
  built from variables, ``${IFS}``, ``${PATH:0:1}``, ``${!x}``, arrays, ``set --`` and
  ``"$@"``, ``printf -v``, a glob such as ``/???/?m``) whose plain reading, disguise
  removed, would be denied; a disguise over a harmless command stays an RF-OBF-005/006/007
  question.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.bash import env_setup, whitespace_value
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._flow import (
    decoded_output,
    decodes,
    decoding_code,
    hides_literal,
    judge,
    key,
    literal_producer,
    literal_text,
    printf_text,
    program_words,
    rewrites,
    runs_file,
    runs_input,
    runs_stdin,
    shell_like,
    substitutions,
)
from ringfence.analysis.risk._words import INTERPRETERS, SHELLS, inline_code, safe, written_paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_ESCAPES = lazy(r"\\(x[0-9a-fA-F]|[0-7]{3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


@parsed_rule(
    "RF-OBF-001",
    Severity.CRITICAL,
    "Pipes decoded text, or text on the command line rewritten by tr/sed/cut/awk, into a shell.",
)
def decode_to_shell(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    commands = parsed.commands
    stages: dict[int, list[tuple[int, SimpleCommand]]] = {}
    for index, command in enumerate(commands):
        if command.pipeline >= 0:
            stages.setdefault(command.pipeline, []).append((index, command))
    for members in stages.values():
        if len(members) < 2:
            continue
        decoded_at = min(
            (c.stage for _, c in members if decodes(c) or rewrites(c) and hides_literal(c, commands)), default=None
        )
        if decoded_at is None:
            continue
        for index, command in members:
            if command.stage > decoded_at and runs_stdin(command):
                yield index, f"It decodes or rewrites hidden text and pipes it into `{command.name}` to run."
                break


@parsed_rule(
    "RF-OBF-002",
    Severity.CRITICAL,
    "Runs decoded text through $( ), <( ), a here-string or a variable in a shell, eval or interpreter.",
)
def decoded_substitution(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    source = parsed.source
    if "$(" not in source and "<(" not in source and "`" not in source:
        return
    decoded_vars: set[str] = set()
    for index, command in enumerate(parsed.commands):
        argv = command.argv
        for name, value in _assigned(command):
            if _SUBSTITUTES.search(value) and any(decoded_output(b) for b in substitutions(value)):
                decoded_vars.add(name)
        head = argv[0] if argv else ""
        if (
            _SUBSTITUTES.search(head)
            and any(decoded_output(b) for b in substitutions(head))
            or (decoded_vars and _uses(head, decoded_vars))
        ):
            yield index, "Its command name is text decoded at run time, hidden from any reader."
            continue
        words = program_words(command)
        if not words:
            continue
        runner = command.name if command.name in _RUNNERS or command.name in INTERPRETERS else "the shell"
        if any(_SUBSTITUTES.search(w) and any(decoded_output(b) for b in substitutions(w)) for w in words):
            yield index, f"`{runner}` runs text it decodes at run time, hidden from any reader."
        elif decoded_vars and any(_uses(w, decoded_vars) for w in words):
            yield index, f"`{runner}` runs a variable holding text decoded at run time."


_RUNNERS = SHELLS | {"eval", "source", "."}
_SUBSTITUTES = lazy(r"\$\(|<\(|`")
_DECLARES = frozenset({"export", "declare", "typeset", "local", "readonly"})


def _assigned(command: SimpleCommand) -> list[tuple[str, str]]:
    pairs = list(command.assignments)
    if command.name in _DECLARES:
        for arg in command.argv[1:]:
            name, equals, value = arg.partition("=")
            if equals:
                pairs.append((name, value))
    return pairs


def _uses(word: str, names: set[str]) -> bool:
    return "$" in word and any(f"${n}" in word or f"${{{n}}}" in word for n in names)


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
        if not declares and not command.assignments:
            continue
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
        if any("IFS" in w and _IFS.search(w) and _IFS.sub("", w) for w in command.argv):
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
        words = command.argv[:1] + tuple(a for a in command.argv[1:] if _may_imitate(a))
        if any(_LOOKALIKE.search(w) for w in words):
            yield index, "Its command name, flags or paths use letters that imitate ASCII ones."


def _may_imitate(word: str) -> bool:
    """A flag or path, a word starting with look-alike punctuation (``−la``), or one mixing
    ASCII letters with look-alikes (``pаssword``); not a word of another script (``фикс``)."""
    if word.startswith(("-", "/")):
        return True
    if _LOOKALIKE.match(word):
        return not word[0].isalpha() or any("a" <= c <= "z" or "A" <= c <= "Z" for c in word)
    return any("a" <= c <= "z" or "A" <= c <= "Z" for c in word)


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


# Program text that runs what it is given: eval, exec, a shell call, backquotes (perl, ruby, php).
_EXECUTES = lazy(
    r"\b(?:exec|eval|system|popen|spawn\w*|execSync|execFileSync|passthru|shell_exec|proc_open|pcntl_exec"
    r"|Function|assert|compile|instance_eval|class_eval|load)\s*\(|\beval\b|\bexec\b|os\.system|subprocess"
    r"|child_process|IO\.popen|%x[({\[]|\bqx\b|\|\s*[\"'](?:ba|z|da|k)?sh\b|Invoke-Expression|\biex\b"
)
_BACKQUOTE_LANGUAGES = frozenset({"perl", "ruby", "php"})
_INLINE_NAMES = (
    INTERPRETERS
    | {"awk", "gawk", "mawk", "nawk", "python", "python2", "python3", "pypy", "pypy3"}
    | {f"python3.{minor}" for minor in range(6, 15)}
)


@rule(
    "RF-OBF-008",
    Severity.CRITICAL,
    "Inline code that decodes text and executes it (python -c exec(b64decode(...)), perl pack+system).",
    names=_INLINE_NAMES,
)
def inline_decode_exec(command: SimpleCommand) -> str | None:
    code = inline_code(command)
    if len(code) < 12 or not decoding_code(code):
        return None
    if _EXECUTES.search(code) or "`" in code and command.name in _BACKQUOTE_LANGUAGES:
        return f"`{command.name}` runs inline code that decodes hidden text and executes it."
    return None


@parsed_rule("RF-OBF-009", Severity.CRITICAL, "Writes decoded text to a file that the same command then runs.")
def decoded_file_run(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    decoded: set[str] = set()
    commands = parsed.commands
    if len(commands) < 2:
        return
    for index, command in enumerate(commands):
        if decoded and runs_file(command, decoded):
            yield index, f"It decodes hidden text into a file and runs it (`{safe(command.name, 'a program')}`)."
            continue
        if not (command.redirects or command.pipeline >= 0 or command.name == "xxd" or _OUTPUT & set(command.argv)):
            continue  # its output goes nowhere a later command could run it from
        if decodes(command) or rewrites(command) and hides_literal(command, commands):
            decoded.update(_decoded_writes(command, commands))


_OUTPUT = frozenset({"-o", "-out", "--output"})


def _decoded_writes(command: SimpleCommand, commands: tuple[SimpleCommand, ...]) -> set[str]:
    """Files the decoder's output lands in: its own redirect or -o, or a later stage's."""
    files = set(written_paths(command))
    for option in _OUTPUT:
        if option in command.argv[:-1]:
            files.add(command.argv[command.argv.index(option) + 1])
    if command.name == "xxd":
        operands = [a for a in command.argv[1:] if not a.startswith("-")]
        files.update(operands[1:2])
    if command.pipeline >= 0:
        for later in commands:
            if later.pipeline == command.pipeline and later.stage > command.stage:
                files.update(written_paths(later))
    return {key(f) for f in files if f != "/dev/null"}


@parsed_rule(
    "RF-OBF-010",
    Severity.CRITICAL,
    "Literal script text run indirectly (piped to a shell, through xargs, or written to a file and run) "
    "that would be denied typed as it is.",
)
def literal_script_denied(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, severity, how in _literal_runs(parsed):
        if severity == Severity.CRITICAL:
            yield index, f"It hides a command that would be denied as text {how}."


@parsed_rule(
    "RF-OBF-011",
    Severity.HIGH,
    "Literal script text run indirectly (piped to a shell, through xargs, or written to a file and run) "
    "that would be asked about typed as it is.",
)
def literal_script_asked(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, severity, how in _literal_runs(parsed):
        if severity < Severity.CRITICAL:
            yield index, f"It hides a command that needs review as text {how}."


def _literal_runs(parsed: ParsedCommand) -> list[tuple[int, Severity, str]]:
    """(command, severity, how) for each literal script that a shell runs indirectly."""
    cache = parsed.__dict__
    found: list[tuple[int, Severity, str]] | None = cache.get("_rf_literal_runs")
    if found is None:
        found = cache["_rf_literal_runs"] = list(_find_literal_runs(parsed.commands))
    return found


def _find_literal_runs(commands: tuple[SimpleCommand, ...]) -> Iterator[tuple[int, Severity, str]]:
    if not any(c.name in _LITERAL_NAMES for c in commands):
        return
    texts: dict[str, str] = {}  # file -> the literal text written to it
    for index, command in enumerate(commands):
        if texts and not _interpreter(command):
            path = runs_file(command, set(texts))
            if path is not None:
                severity = judge(texts[path])
                if severity is not None:
                    yield index, severity, "written to a file and then run"
        if not command.argv:
            continue
        text = _piped_literal(command, commands)
        if text is not None:
            severity = judge(text)
            if severity is not None:
                yield index, severity, f"piped into `{command.name}`"
        if literal_producer(command) and command.redirects:
            for redirect in command.redirects:
                if redirect.writes and redirect.target and redirect.target != "/dev/null":
                    written = literal_text(command)
                    if written is not None:
                        path = key(redirect.target)
                        texts[path] = (texts.get(path, "") + "\n" if redirect.op == ">>" else "") + written


_LITERAL_NAMES = frozenset({"echo", "printf", "cat"}) | SHELLS


def _interpreter(command: SimpleCommand) -> bool:
    return command.name in INTERPRETERS or command.name.startswith("python")


def _piped_literal(command: SimpleCommand, commands: tuple[SimpleCommand, ...]) -> str | None:
    """The literal text ``command`` runs as a program: ``echo TEXT | sh``, ``printf TEXT |
    xargs -I{} sh -c '{}'``, ``xargs -I{} sh -c '{}' <<< TEXT``."""
    into_xargs = runs_input(command)
    if into_xargs:
        strings = [r.target for r in command.redirects if r.op == "<<<" and r.target]
        if strings:
            return "\n".join(strings)
    elif not (shell_like(command) and runs_stdin(command) or command.name in ("source", ".") and runs_stdin(command)):
        return None
    if command.pipeline < 0 or command.stage < 1:
        return None
    for other in commands:
        if other.pipeline == command.pipeline and other.stage == command.stage - 1:
            return literal_text(other)
    return None


@rule(
    "RF-OBF-012",
    Severity.HIGH,
    "xargs running each input line as a whole shell program (xargs -I{} sh -c '{}').",
    names=SHELLS,
)
def xargs_program(command: SimpleCommand) -> str | None:
    if runs_input(command):
        return f"`xargs` runs each line of its input as a `{command.name}` program, unseen by any reader."
    return None


@parsed_rule(
    "RF-OBF-013",
    Severity.CRITICAL,
    "An obfuscated command whose plain reading (look-alikes as ASCII, variables, ${IFS} and globs "
    "resolved) would be denied.",
)
def plainly_denied(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    source = parsed.source
    if source.isascii() and "IFS" not in source and not any(_hides_name(c) for c in parsed.commands):
        return
    plain = _plain_reading(parsed)
    if plain != source and judge(plain) == Severity.CRITICAL:
        yield -1, "Read plainly, with its disguise removed, it runs a command that would be denied."


def _hides_name(command: SimpleCommand) -> bool:
    head = command.argv[0] if command.argv else ""
    return "$" in head or "?" in head or "*" in head


# Letters of other scripts drawn like ASCII ones (Unicode's confusables, the usual few).
_CONFUSABLES = str.maketrans(
    "аеорсухіјѕһԁԛԝАВЕКМНОРСТХІЈЅԌ",
    "aeopcyxijshdqwABEKMHOPCTXIJSG",
)
_VARIABLE = lazy(r"\$\{!(\w+)\}|\$\{(\w+)\[(\d+)\]\}|\$\{(\w+):0:1\}|\$\{(\w+)\}|\$(\w+)|\"?\$[@*]\"?")
# Where a glob written as a command name (/???/?m, /usr/bin/c?rl) could land.
_COMMON_PATHS = tuple(
    f"{folder}/{name}"
    for folder in ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")
    for name in ("rm", "sh", "bash", "dash", "zsh", "curl", "wget", "nc", "cat", "chmod", "dd", "python3", "perl")
)
_ENVIRONMENT = {"SHELL": "bash", "BASH": "bash", "IFS": " "}


def _plain_reading(parsed: ParsedCommand) -> str:
    """The command as it would read with its disguise removed (a best effort on the text)."""
    text = parsed.source
    if not text.isascii():
        text = _INVISIBLE.sub("", text).translate(_CONFUSABLES)
        text = "".join(chr(ord(c) - 0xFEE0) if "\uff01" <= c <= "\uff5e" else c for c in text)
    values: dict[str, str] = dict(_ENVIRONMENT)
    arrays: dict[str, list[str]] = {}
    positional: list[str] = []
    separator = ""
    for command in parsed.commands:
        argv = command.argv
        for name, value in _assigned(command):
            if value.startswith("(") and value.endswith(")"):
                arrays[name] = value[1:-1].split()
            elif name == "IFS":
                separator = value.strip("'\"")[:1]
            elif "$" not in value and "`" not in value:
                values[name] = value.strip("'\"")
        if command.name == "printf" and argv[1:2] == ("-v",) and len(argv) > 3:
            values[argv[2]] = printf_text(argv[3], argv[4:])
        elif command.name == "set" and argv[1:2] == ("--",):
            positional = list(argv[2:])
    if separator and separator not in " \t\n":
        values = {k: v.replace(separator, " ") for k, v in values.items()}

    def resolve(match: re.Match[str]) -> str:
        indirect, array, item, first, braced, bare = match.groups()
        if indirect:
            return values.get(values.get(indirect, ""), match.group(0))
        if array:
            items = arrays.get(array, [])
            return items[int(item)] if int(item) < len(items) else match.group(0)
        if first:
            return "/" if first in ("PATH", "HOME", "PWD") else match.group(0)
        name = braced or bare
        if name:
            return values.get(name, match.group(0))
        return " ".join(positional) if positional else match.group(0)

    if "$" in text:
        text = _VARIABLE.sub(resolve, text)
    if "?" in text or "*" in text:
        text = " ".join(_unglob(word) for word in text.split(" "))
    return text


def _unglob(word: str) -> str:
    if not word.startswith("/") or not ("?" in word or "*" in word):
        return word
    from fnmatch import fnmatchcase

    return next((path for path in _COMMON_PATHS if fnmatchcase(path, word)), word)
