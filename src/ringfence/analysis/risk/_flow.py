"""Where text goes: decoders, rewriters, literal scripts, and the commands that run them.

Shared by ``obfuscation`` and ``remote_exec``: which commands turn their input into other
text (``base64 -d``, ``xxd -r``, ``gzip -d``, ``tr``, ``sed``...), which run their input as
a program (a shell reading stdin, ``xargs -I{} sh -c '{}'``), which files a command runs,
what a literal ``echo``/``printf`` prints, and how bad a piece of script text would be if
it were typed as it is (``judge``).
"""

from __future__ import annotations

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk._words import INTERPRETERS, SHELLS, inline_code, normal, reads_stdin_script

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand
    from ringfence.analysis.risk import Severity

# --- decoders and rewriters --------------------------------------------------------------

_ESCAPES = lazy(r"\\(x[0-9a-fA-F]|[0-7]{3}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")
_ROT13 = lazy(r"[A-Za-z]-[A-Za-z].*[N-Zn-z]-")
_BASE_CODECS = frozenset({"base64", "base32", "basenc", "gbase64", "gbase32"})
_ALWAYS_DECODE = frozenset(
    {
        "b64decode",
        "uudecode",
        "gunzip",
        "zcat",
        "gzcat",
        "bzcat",
        "xzcat",
        "lzcat",
        "zstdcat",
        "unxz",
        "bunzip2",
        "unzstd",
        "unlzma",
        "uncompress",
        "lz4cat",
        "brotli-d",
    }
)
_COMPRESSORS = frozenset({"gzip", "pigz", "xz", "bzip2", "lzma", "zstd", "lz4", "brotli", "compress"})
_CIPHER = lazy(r"^-?(?:enc|base64|aes|des|bf|cast|camellia|chacha|aria|sm4|rc[245]|seed)")
_DECODING_CODE = lazy(
    r"b64decode|b32decode|b85decode|a85decode|decodebytes|decodestring|a2b_\w+|fromhex|unhexlify|decode64"
    r"|decode_base64|base64_decode|hex2bin|FromBase64String|atob\s*\(|fromCharCode|unpack1?\s*\(?\s*['\"][mH]"
    r"|pack\s*\(?\s*['\"][Hh]|Buffer\.from\([^)]*['\"](?:base64|base64url|hex)['\"]|codecs\.decode|str_rot13"
    r"|gzinflate|gzuncompress|gzdecode|zlib\.decompress|marshal\.loads|\[::-1\]"
    r"|sprintf\s*\(\s*['\"](?:%c)+|printf\s*\(?\s*['\"](?:%c)+|map\s*\(\s*chr\b|\bchr\s*\(\s*\w+\s*\)\s+for\b"
    r"|\b(?:bytes|bytearray)\s*\(\s*\[\s*\d"
)


def decoding_code(code: str) -> bool:
    """Program text that decodes: base64, hex, ``pack("H*")``, char-code chains..."""
    return bool(_DECODING_CODE.search(code)) or code.count("chr(") + code.count("chr (") >= 3


_PERLISH = frozenset({"perl", "ruby"})
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk"})
_REWRITERS = frozenset({"tr", "sed", "gsed", "cut", "rev", "tac", "paste", "fold", "colrm"}) | _AWKS


def _short_cluster_has(argv: tuple[str, ...], letters: str) -> bool:
    return any(a.startswith("-") and not a.startswith("--") and any(c in a[1:] for c in letters) for a in argv[1:])


def decodes(command: SimpleCommand) -> bool:
    """A command whose output is its input (or a file) decoded, unpacked or decrypted:
    ``base64 -d``, ``xxd -r``, ``gzip -dc``, ``zcat``, ``openssl enc -d``, ``gpg -d``,
    ``rev``, rot13 ``tr``, ``printf '\\x..'``, inline code that decodes and prints."""
    cache = command.__dict__
    found: bool | None = cache.get("_rf_decodes")
    if found is None:
        found = cache["_rf_decodes"] = _decodes(command)
    return found


def _decodes(command: SimpleCommand) -> bool:
    name, argv = command.name, command.argv
    if name in _BASE_CODECS:
        return "--decode" in argv or _short_cluster_has(argv, "dD")
    if name in _ALWAYS_DECODE or name == "rev":
        return True
    if name in _COMPRESSORS:
        return "--decompress" in argv or "--uncompress" in argv or _short_cluster_has(argv, "d")
    if name == "xxd":
        return "-revert" in argv or _short_cluster_has(argv, "r")
    if name == "openssl":
        return len(argv) > 1 and bool(_CIPHER.match(argv[1])) and ("-d" in argv or "-decrypt" in argv)
    if name in ("gpg", "gpg2", "age"):
        return "--decrypt" in argv or "-d" in argv
    if name == "unzip":
        return _short_cluster_has(argv, "p")
    if name in ("tar", "bsdtar", "gtar"):
        first = argv[1] if len(argv) > 1 else ""
        return "--to-stdout" in argv or ("x" in first and "O" in first)
    if name == "tr":
        return any(_ROT13.search(a) for a in argv[1:])
    if name in ("printf", "echo"):
        return any(_ESCAPES.search(a) for a in argv[1:])
    code = inline_code(command) if name in INTERPRETERS or name.startswith("python") else ""
    return bool(code) and decoding_code(code)


def rewrites(command: SimpleCommand) -> bool:
    """A text rewriter (``tr``, ``sed``, ``cut``, ``awk``, ``perl -pe``...): harmless on a
    file, a way to hide a command when what it rewrites is text on the command line."""
    name = command.name
    if name in _REWRITERS:
        return True
    return name in _PERLISH and _short_cluster_has(command.argv, "pn")


def literal_input(command: SimpleCommand) -> bool:
    """It reads a here-string or heredoc: text written on the command line."""
    return any(r.op in ("<<<", "<<", "<<-") for r in command.redirects)


def literal_producer(command: SimpleCommand) -> bool:
    """``echo``/``printf`` (not ``printf -v``), or ``cat`` of a here-string or heredoc."""
    name = command.name
    if name == "echo" or name == "printf" and "-v" not in command.argv[1:2]:
        return True
    return name == "cat" and len(command.argv) == 1 and literal_input(command)


def literal_text(command: SimpleCommand) -> str | None:
    """What ``echo``/``printf`` print, as far as their arguments say; None for others."""
    name, argv = command.name, command.argv
    if name == "echo":
        args = list(argv[1:])
        escapes = False
        while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
            escapes = escapes or "e" in args[0]
            args.pop(0)
        text = " ".join(args)
        return _unescape(text) if escapes else text
    if name == "printf" and len(argv) > 1 and argv[1] != "-v":
        return _printf(argv[1], list(argv[2:]))
    if name == "cat" and len(argv) == 1:
        strings = [r.target for r in command.redirects if r.op == "<<<" and r.target]
        return "\n".join(strings) if strings else None
    return None


_FORMAT = lazy(r"%[-+ #0]*\d*(?:\.\d+)?([sbdiqc%])")


def printf_text(fmt: str, args: tuple[str, ...] | list[str]) -> str:
    """What ``printf FMT ARGS...`` prints, for %s/%b/%d/%c; the format is reused while
    arguments remain."""
    return _printf(fmt, list(args))


def _printf(fmt: str, args: list[str]) -> str:
    out: list[str] = []
    while True:
        used = 0

        def fill(match: re.Match[str], args: list[str] = args) -> str:
            nonlocal used
            kind = match.group(1)
            if kind == "%":
                return "%"
            value = args[used] if used < len(args) else ""
            used += 1
            return _unescape(value) if kind == "b" else value[:1] if kind == "c" else value

        out.append(_unescape(_FORMAT.sub(fill, fmt)))
        args = args[used:]
        if not args or not used:
            return "".join(out)


_BACKSLASH = lazy(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "a": "\a", "e": "\x1b", "f": "\f", "v": "\v"}


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if body[0] == "x" and len(body) > 1:
            return chr(int(body[1:], 16))
        if body[0] in "01234567":
            return chr(int(body, 8))
        return _SIMPLE.get(body, "\\" + body)

    return _BACKSLASH.sub(one, text)


# --- commands that run what they are given -----------------------------------------------

_SHELL_VARIABLES = frozenset({"$SHELL", "${SHELL}", "$BASH", "${BASH}"})


def shell_like(command: SimpleCommand) -> bool:
    """A shell by name, or by the variables that name one (``$SHELL``, ``${BASH}``)."""
    return command.name in SHELLS or bool(command.argv) and command.argv[0] in _SHELL_VARIABLES


def runs_stdin(command: SimpleCommand) -> bool:
    """It runs what arrives on its stdin as a program: a shell or interpreter reading a
    script from stdin, ``source /dev/stdin``, or ``xargs ... sh -c '{}'``."""
    if reads_stdin_script(command) or runs_input(command):
        return True
    if command.argv and command.argv[0] in _SHELL_VARIABLES:
        return not any(a.startswith("-") and "c" in a[1:] for a in command.argv[1:] if not a.startswith("--"))
    return False


def runs_input(command: SimpleCommand) -> bool:
    """``xargs -I{} sh -c '{}'``, ``xargs sh -c``: the shell's whole program is a line of
    xargs's input."""
    if command.context != "xargs" or command.name not in SHELLS:
        return False
    argv = command.argv
    flag = next((i for i, a in enumerate(argv) if a.startswith("-") and not a.startswith("--") and "c" in a[1:]), 0)
    if not flag:
        return False
    if flag + 1 >= len(argv):
        return True  # xargs appends the input: the first input word is the program
    return argv[flag + 1].strip() in _replacements(command.prefix)


def _replacements(prefix: tuple[str, ...]) -> set[str]:
    """The replacement strings of ``xargs -I R``, ``-IR``, ``-i[R]``, ``--replace[=R]``."""
    start = prefix.index("xargs") + 1 if "xargs" in prefix else 0
    found: set[str] = set()
    words = prefix[start:]
    for i, word in enumerate(words):
        if word == "-I" and i + 1 < len(words):
            found.add(words[i + 1])
        elif word in ("-i", "--replace"):
            found.add("{}")
        elif word.startswith(("-I", "-i")):
            found.add(word[2:])
        elif word.startswith("--replace="):
            found.add(word.partition("=")[2])
    return found


def program_words(command: SimpleCommand) -> list[str]:
    """The words a shell, ``eval``, ``source`` or interpreter takes as its program: the
    ``-c`` string or script operand, ``eval``'s words, inline code, and what a ``<`` or
    ``<<<`` redirect feeds it."""
    name, argv = command.name, command.argv
    words: list[str] = []
    if name == "eval":
        words += argv[1:]
    elif name in ("source", "."):
        words += argv[1:2]
    elif shell_like(command):
        flag = _shell_code_flag(argv)
        words += argv[flag + 1 : flag + 2] if flag else _script(argv, "")
    elif name in INTERPRETERS or name.startswith("python"):
        code = inline_code(command)
        words += [code] if code else _script(argv, _VALUED.get(name, ""))
    else:
        return []
    words += [r.written for r in command.redirects if r.op in ("<", "<<<") and r.written]
    return words


# Interpreter options that take a value as the next word (python -W ignore script.py).
_VALUED = {"python": "WX", "python3": "WX", "node": "r", "ruby": "IrCE", "perl": "IM"}
_INLINE_LETTERS = {"php": "rBRFE", "node": "epr", "ruby": "e", "perl": "eE", "Rscript": "e"}


def _shell_code_flag(argv: tuple[str, ...]) -> int:
    """The index of a shell's ``-c`` (or ``-xc``...), 0 when there is none."""
    for i, arg in enumerate(argv[1:], start=1):
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return i
        if not arg.startswith(("-", "+")):
            return 0
    return 0


def _script(argv: tuple[str, ...], valued: str) -> list[str]:
    """The script operand: the first word that is not an option (nor an option's value)."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return list(argv[i + 1 : i + 2])
        if arg in ("-", "/dev/stdin"):
            return []
        if not arg.startswith(("-", "+")):
            return [arg]
        i += 2 if len(arg) == 2 and arg[1] in valued else 1
    return []


def substitutions(word: str) -> list[str]:
    """The bodies of ``$( )``, ``<( )`` and backquotes in ``word``."""
    bodies: list[str] = []
    i = 0
    while i < len(word):
        two = word[i : i + 2]
        if two in ("$(", "<(") and word[i + 2 : i + 3] != "(":
            depth, j = 1, i + 2
            while j < len(word) and depth:
                depth += {"(": 1, ")": -1}.get(word[j], 0)
                j += 1
            bodies.append(word[i + 2 : j - 1] if not depth else word[i + 2 :])
            i = j
        elif word[i] == "`":
            end = word.find("`", i + 1)
            end = len(word) if end < 0 else end
            bodies.append(word[i + 1 : end])
            i = end + 1
        else:
            i += 1
    return bodies


def decoded_output(text: str) -> bool:
    """Whether the output of the script ``text`` is decoded text (its last word comes from a
    decoder, or from a rewriter of literal text)."""
    cached = _DECODED.get(text)
    if cached is None:
        if len(_DECODED) > 256:
            _DECODED.clear()
        cached = _DECODED[text] = _decoded_output(_parse(text))
    return cached


_DECODED: dict[str, bool] = {}
_PASS_THROUGH = frozenset({"cat", "tee", "head", "tail", "dd", "stdbuf"})


def _decoded_output(parsed: ParsedCommand) -> bool:
    commands = parsed.commands
    for command in commands:
        if not (decodes(command) or rewrites(command) and hides_literal(command, commands)):
            continue
        if command.pipeline < 0:
            return True
        later = [c for c in commands if c.pipeline == command.pipeline and c.stage > command.stage]
        if all(decodes(c) or rewrites(c) or c.name in _PASS_THROUGH for c in later):
            return True
    return False


def hides_literal(command: SimpleCommand, commands: tuple[SimpleCommand, ...]) -> bool:
    """A rewriter whose input is text on the command line: a here-string, or an earlier
    ``echo``/``printf`` stage of its pipeline."""
    if literal_input(command):
        return True
    if command.pipeline < 0:
        return False
    return any(c.pipeline == command.pipeline and c.stage < command.stage and literal_producer(c) for c in commands)


def _parse(text: str) -> ParsedCommand:
    from ringfence.analysis.bash import parse

    return parse(text)


# --- files ---------------------------------------------------------------------------------

BIN_DIRS = ("~/.local/bin", "~/bin", "/usr/local/bin", "/usr/bin", "/bin", "/opt/homebrew/bin", "~/.cargo/bin")


def key(path: str) -> str:
    """A path as files are compared here: normalised, without a leading ``./``."""
    path = normal(path)
    while path.startswith("./"):
        path = path[2:]
    return path


def executed(command: SimpleCommand) -> list[str]:
    """Files ``command`` runs: its own path (``./x``, ``/tmp/x``), the script a shell or
    interpreter is given, what ``source``/``.`` read. A bare name (``helper``) is kept as
    it is: the caller matches it against files put in a ``bin`` folder."""
    name, argv = command.name, command.argv
    if not argv:
        return []
    if name in ("source", "."):
        return [key(argv[1])] if len(argv) > 1 else []
    if shell_like(command):
        return [] if _shell_code_flag(argv) else [key(a) for a in _script(argv, "")]
    if name in INTERPRETERS or name.startswith("python"):
        letters = "cm" if name.startswith("python") else _INLINE_LETTERS.get(name, "e")
        if any(a.startswith("-") and not a.startswith("--") and a[1:2] in letters for a in argv[1:]):
            return []  # inline code or a module: no script file
        return [key(a) for a in _script(argv, _VALUED.get(name, ""))]
    return [key(argv[0])]


def runs_file(command: SimpleCommand, files: set[str]) -> str | None:
    """The member of ``files`` (keys) that ``command`` runs, if any."""
    for path in executed(command):
        if path in files:
            return path
        if "/" not in path:
            for folder in BIN_DIRS:
                if f"{folder}/{path}" in files:
                    return f"{folder}/{path}"
    return None


# --- judging a script as if it were typed ----------------------------------------------------

_depth = 0


def judge(text: str) -> Severity | None:
    """The worst severity the rules give the script ``text`` parsed on its own (LOW and
    parser problems left out), or None."""
    global _depth
    if _depth > 4 or not text.strip():
        return None
    from ringfence.analysis.risk import Severity, analyze

    _depth += 1
    try:
        findings = analyze(_parse(text))
    finally:
        _depth -= 1
    worst = max((f.severity for f in findings if f.family != "unparseable"), default=None)
    return worst if worst is not None and worst > Severity.LOW else None
