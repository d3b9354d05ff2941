"""What the families share: reading options and paths, and words safe to put in a message."""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ringfence.analysis.bash import SimpleCommand

SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "fish", "csh", "tcsh"})
DOWNLOADERS = frozenset({"curl", "wget", "fetch", "http", "https", "xh", "aria2c", "lwp-request", "GET"})
# Interpreters that run a script read from stdin when given no script (or "-").
INTERPRETERS = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "lua", "Rscript", "bun", "deno", "pwsh"}
)
PRIVILEGED_WRAPPERS = frozenset({"sudo", "doas", "pkexec", "runuser", "su", "run0"})

# Top-level directories whose loss or rewrite breaks the system (Linux and macOS).
SYSTEM_DIRS = frozenset(
    {
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/srv",
        "/sys",
        "/usr",
        "/var",
        "/mnt",
        "/media",
        "/snap",
        "/System",
        "/Applications",
        "/Library",
        "/Users",
        "/private",
        "/Volumes",
        "/nix",
    }
)
_HOME = re.compile(r"^(?:~|\$HOME|\$\{HOME\}|/root(?=/|$)|/home/[^/]+|/Users/[^/]+)(?=/|$)")
_TOKENISH = re.compile(r"[A-Za-z0-9_\-]{24,}")
_SAFE = re.compile(r"^[\w@./:+~=,-]{1,80}$")


def home(word: str) -> str:
    """``$HOME/x``, ``${HOME}/x``, ``/root/x``, ``/home/me/x`` -> ``~/x``; others unchanged."""
    return _HOME.sub("~", word, count=1)


def normal(path: str) -> str:
    """A path as rules compare it: home as ``~``, quotes gone, no ``//``, ``/./`` or trailing ``/``."""
    path = home(path.replace('"', "").replace("'", ""))
    path = re.sub(r"/+", "/", path)
    path = re.sub(r"(?:/\.)+(?=/|$)", "", path) if path not in ("/.", ".") else path
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


def system_path(path: str) -> bool:
    """Whether ``path`` is a top-level system directory or lies inside one."""
    if not path.startswith("/"):
        return False
    top = "/" + path[1:].split("/", 1)[0]
    return top in SYSTEM_DIRS


def split_options(
    argv: tuple[str, ...], valued: str = "", long_valued: frozenset[str] = frozenset()
) -> tuple[set[str], list[str]]:
    """Options (``-rf`` -> ``r``, ``f``; ``--force`` kept whole) and operands of ``argv[1:]``."""
    options: set[str] = set()
    operands: list[str] = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            operands.extend(argv[i + 1 :])
            break
        if arg.startswith("--"):
            name = arg.partition("=")[0]
            options.add(name)
            if name in long_valued and "=" not in arg:
                i += 1
        elif arg.startswith("-") and len(arg) > 1:
            for offset, letter in enumerate(arg[1:], start=1):
                options.add(letter)
                if letter in valued:
                    if offset == len(arg) - 1:
                        i += 1
                    break
        else:
            operands.append(arg)
        i += 1
    return options, operands


def option_value(argv: tuple[str, ...], *names: str) -> str | None:
    """The value of ``-o VALUE``, ``-oVALUE``, ``--output VALUE`` or ``--output=VALUE``."""
    for i, arg in enumerate(argv[1:], start=1):
        for name in names:
            if arg == name:
                return argv[i + 1] if i + 1 < len(argv) else None
            if name.startswith("--") and arg.startswith(name + "="):
                return arg[len(name) + 1 :]
            if not name.startswith("--") and arg.startswith(name) and len(arg) > len(name):
                return arg[len(name) :]
    return None


def reads_stdin_script(command: SimpleCommand) -> bool:
    """A shell or interpreter that would run whatever arrives on its stdin."""
    name = command.name
    if name in SHELLS:
        return _shell_reads_stdin(command.argv)
    if name in INTERPRETERS or re.match(r"^python3(\.\d+)?$", name):
        return _interpreter_reads_stdin(command.argv)
    return (
        name in ("source", ".") and len(command.argv) > 1 and command.argv[1] in ("/dev/stdin", "-", "/proc/self/fd/0")
    )


def _shell_reads_stdin(argv: tuple[str, ...]) -> bool:
    for arg in argv[1:]:
        if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
            return False
        if arg.startswith("-") and not arg.startswith("--") and "s" in arg[1:]:
            return True
        if not arg.startswith(("-", "+")):
            return arg in ("/dev/stdin", "/proc/self/fd/0")
    return True


_INLINE_CODE = frozenset({"-c", "-e", "-E", "-m", "--eval", "-p", "--print", "-Command", "-command", "-r"})
_STDIN_PATHS = frozenset({"-", "/dev/stdin", "/proc/self/fd/0", "/dev/fd/0"})


def _interpreter_reads_stdin(argv: tuple[str, ...]) -> bool:
    """``python3``, ``python3 -``, ``node -``: no script and no inline code (-c, -e, -m)."""
    interpreter = argv[0].rpartition("/")[2]
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in _STDIN_PATHS:
            return True
        if arg in _INLINE_CODE and not (arg == "-r" and interpreter != "php"):
            return False
        if arg.startswith("-") and not arg.startswith("--") and arg[1:2] in ("c", "m", "e"):
            return False  # -cCODE, -mmodule, -eCODE
        if not arg.startswith("-"):
            return False  # a script file
        i += 2 if arg in ("-W", "-X", "-I", "-r", "--require") else 1
    return True


def safe(word: str, fallback: str = "a path") -> str:
    """``word`` if it is safe to print in a message; ``fallback`` if it could be a secret."""
    if _SAFE.match(word) and not _TOKENISH.search(word) and "://" not in word and "@" not in word[1:]:
        return word
    return fallback
