"""What Claude Code decides without any rule: the read-only commands, the variables and
wrappers an allow rule looks past, protected paths and critical ``rm`` targets.

Reference §1 "Bash specs" and "Modes":

- the built-in read-only set never prompts: ``ls cat echo head tail grep find wc diff
  stat cd`` and read-only ``git``; an ask or deny rule still gates them;
- ``find`` is read-only only without ``-exec``/``-execdir``/``-ok``/``-okdir``/``-delete``
  or an ``-fprint``-like action;
- wrappers stripped before matching: ``timeout time nice nohup stdbuf command builtin
  noglob`` and flagless ``xargs``; any other wrapper (``sudo``, ``env``, ``doas``...) is
  part of the command an allow rule must name (#92542);
- allow rules look past leading assignments of "safe" variables only (``SAFE_VARIABLES``);
- writes to protected paths are never pre-approved by allow rules;
- ``rm`` of ``/``, a top-level folder, the home folder, the working folder or one of its
  parents is never auto-approved, nor ``rm`` of a ``$VAR``/``$()`` target.
- a bare assignment (``x=1``, no command) needs no rule when the variable is safe or a
  lower-case shell variable (not a ``*_proxy`` one); ``PATH=...`` and other upper-case
  names need an allow rule (``Bash(PATH=*)``), as they change what later commands run;

ringfence's decisions where the reference is silent:

- a few more commands that read nothing or only files are read-only too (``pwd true false
  basename dirname realpath readlink which whoami uname date tr cut sort uniq nl file du
  tree rg``), each with the flags that would make it write or run something excluded;
- a read-only command is auto-allowed only when every path it names is inside the working
  folder (as Claude Code's path checks do) and contains no ``$`` or backquote; a command
  run through a wrapper an allow rule cannot look past, after an unsafe assignment, or in
  an ``xargs`` context (its arguments come from input) is not auto-allowed;
- ``git`` is read-only for the listing/inspecting subcommands and forms below; any global
  option but ``--no-pager``/``-P``/``--no-optional-locks`` makes it not read-only (``-C``,
  ``-c``, ``--git-dir`` and ``--work-tree`` change what it reads or run code);
- protected paths are any path with a ``.git``, ``.claude``, ``.ssh``, ``.vscode`` or
  ``.idea`` segment, shell start-up files, ``.gitconfig``, ``.gitmodules``, ``.mcp.json``,
  ``.envrc``, ``ringfence.toml`` and ``.ringfenceignore``.
"""

from __future__ import annotations

import os

from ringfence.permissions.pathspec import inside, normalize

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Sequence

STRIPPED_WRAPPERS = frozenset({"timeout", "time", "nice", "nohup", "stdbuf", "command", "builtin", "noglob", "xargs"})

# Variables that change how a program formats or logs, never what it runs or loads.
# (PATH, LD_*, PYTHONPATH, NODE_OPTIONS, GIT_*, PAGER, EDITOR, BASH_ENV... are not.)
SAFE_VARIABLES = frozenset(
    {"NODE_ENV", "LANG", "LANGUAGE", "TERM", "COLORTERM", "CI", "RUST_LOG", "RUST_BACKTRACE", "NO_COLOR",
     "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TZ", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE",
     "PYTHONIOENCODING", "COLUMNS", "LINES"}
)
# Assignments that change how the shell itself parses or traces: always ask (reference §2).
SHELL_VARIABLES = frozenset({"IFS", "PS4"})

# Commands a Read deny also covers: their non-option arguments are files they read.
FILE_READERS = frozenset(
    {"cat", "head", "tail", "sed", "less", "more", "grep", "egrep", "fgrep", "rg", "wc", "diff", "stat", "sort",
     "uniq", "cut", "nl", "file", "strings", "od", "xxd", "hexdump", "base64", "tac", "ls", "du", "tree"}
)
# Of those, the ones whose first non-option argument is a pattern or script, not a file.
_PATTERN_FIRST = frozenset({"grep", "egrep", "fgrep", "rg", "sed"})
_PATTERN_FLAGS = frozenset({"-e", "--regexp", "-f", "--file", "--expression"})
# Options whose value is the next word and is not a file.
_VALUE_FLAGS: dict[str, frozenset[str]] = {
    "head": frozenset({"-n", "-c"}),
    "tail": frozenset({"-n", "-c"}),
    "cut": frozenset({"-d", "-f", "-b", "-c"}),
    "sort": frozenset({"-t", "-k", "-S"}),
    "uniq": frozenset({"-f", "-s", "-w"}),
    "grep": frozenset({"-e", "-f", "-m", "-A", "-B", "-C"}),
    "egrep": frozenset({"-e", "-f", "-m", "-A", "-B", "-C"}),
    "fgrep": frozenset({"-e", "-f", "-m", "-A", "-B", "-C"}),
    "rg": frozenset({"-e", "-f", "-m", "-A", "-B", "-C", "-g", "-t", "-T"}),
    "du": frozenset({"-d"}),
    "tree": frozenset({"-L", "-P", "-I"}),
    "stat": frozenset({"-c"}),
    "date": frozenset({"-d"}),
    "sed": frozenset({"-e"}),
}

_NO_PATHS = frozenset({"echo", "pwd", "true", "false", "basename", "dirname", "which", "whoami", "uname", "date", "tr"})
_PATHS = frozenset({"ls", "cat", "head", "tail", "wc", "diff", "stat", "realpath", "readlink", "cut", "sort", "uniq",
                    "nl", "file", "du", "tree", "grep", "egrep", "fgrep", "rg", "cd", "find"})
READ_ONLY = _NO_PATHS | _PATHS | {"git"}

# Per command, options that write, run a program or otherwise leave "read-only".
_WRITING_FLAGS = {
    "find": ("-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"),
    "sort": ("-o", "--output", "--compress-program"),
    "tree": ("-o",),
    "date": ("-s", "--set"),
    "rg": ("--pre",),
}

_SHELL_RC = frozenset(
    {".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zprofile", ".zshenv",
     ".zlogin", ".zlogout", ".kshrc", ".cshrc", ".tcshrc", "config.fish"}
)
_PROTECTED_SEGMENTS = frozenset({".git", ".claude", ".ssh", ".vscode", ".idea"})
_PROTECTED_NAMES = _SHELL_RC | {".gitconfig", ".gitmodules", ".mcp.json", ".envrc", "ringfence.toml",
                                 ".ringfenceignore"}


_PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy", "ftp_proxy"})


def harmless_assignment(name: str) -> bool:
    """May a bare ``name=value`` (no command) run without a rule?

    A safe variable or a lower-case shell variable: by convention not an environment
    variable any program reads (but the proxy variables, which curl and others do).
    ``PATH=...``, ``LD_PRELOAD=...``, ``BASH_ENV=...`` change what later commands run."""
    if name in SAFE_VARIABLES or name.startswith("LC_"):
        return True
    return name == name.lower() and name not in _PROXY_VARIABLES


def protected(path: str) -> bool:
    """Is ``path`` (absolute) one whose writes no allow rule pre-approves?"""
    segments = path.split("/")
    return bool(_PROTECTED_SEGMENTS.intersection(segments)) or segments[-1] in _PROTECTED_NAMES


_NOTHING: frozenset[str] = frozenset()


def command_name(argv: Sequence[str]) -> str:
    """The base name of argv[0] (``/bin/rm`` -> ``rm``), "" for no argv."""
    return argv[0].rpartition("/")[2] if argv else ""


def unknowable(word: str) -> bool:
    """Does ``word`` still hold an expansion the shell performs at run time?"""
    return "$" in word or "`" in word


def operands(argv: Sequence[str]) -> list[str]:
    """The words after argv[0] that are not options (everything after ``--`` is one)."""
    values = _VALUE_FLAGS.get(command_name(argv), _NOTHING)
    out: list[str] = []
    skip = False
    ended = False
    for word in argv[1:]:
        if skip:
            skip = False
        elif ended or not word.startswith("-") or word == "-":
            out.append(word)
        elif word == "--":
            ended = True
        else:
            skip = word in values
    return out


def read_paths(argv: Sequence[str]) -> list[str]:
    """The files a ``FILE_READERS`` command (or ``cd``/``find``) reads, as written."""
    name = command_name(argv)
    words = operands(argv)
    if name == "find":
        return _find_roots(argv)
    if name in _PATTERN_FIRST and not _PATTERN_FLAGS.intersection(w.split("=", 1)[0] for w in argv[1:]):
        words = words[1:]
    if name in ("grep", "egrep", "fgrep", "rg"):
        words += _flag_values(argv, ("-f", "--file"))
    return words


def _flag_values(argv: Sequence[str], flags: tuple[str, ...]) -> list[str]:
    values = []
    for index, word in enumerate(argv[1:], start=1):
        if word in flags and index + 1 < len(argv):
            values.append(argv[index + 1])
        for flag in flags:
            if flag.startswith("--") and word.startswith(flag + "="):
                values.append(word[len(flag) + 1 :])
    return values


def _find_roots(argv: Sequence[str]) -> list[str]:
    roots = []
    for word in argv[1:]:
        if word.startswith(("-", "(", "!", ")")):
            break
        roots.append(word)
    return roots or ["."]


def read_only_reads(argv: Sequence[str], home: str) -> list[str] | None:
    """None when the command is not in the built-in read-only set; else the paths (as
    written) it reads, which must all be inside the working folder for it to be allowed.

    ``argv[0]`` must be the bare name: ``./cat`` is whatever the agent put there."""
    name = argv[0] if argv else ""
    if name not in READ_ONLY or _writes(name, argv):
        return None
    if name == "git":
        return [] if _read_only_git(argv[1:]) else None
    if name in _NO_PATHS:
        return []
    if name == "uniq" and len(operands(argv)) > 1:
        return None  # the second operand is the output file
    if name == "cd":
        words = operands(argv)
        if words[:1] == ["-"]:
            return None  # the previous folder: unknown here
        return words[:1] or [home]
    return read_paths(argv)


def _writes(name: str, argv: Sequence[str]) -> bool:
    flags = _WRITING_FLAGS.get(name, ())
    return any(word == flag or word.startswith(flag + "=") for word in argv[1:] for flag in flags)


# git subcommands that only read, with the options that would make them write or run code.
_GIT_READ = {
    "status": (), "log": ("--output", "--ext-diff"), "show": ("--output", "--ext-diff"),
    "diff": ("--output", "--no-index", "--ext-diff"),
    "shortlog": (), "describe": (), "rev-parse": (), "rev-list": (), "ls-files": (), "ls-tree": (),
    "cat-file": (), "blame": (), "annotate": (), "grep": ("-O", "--open-files-in-pager"), "merge-base": (),
    "name-rev": (), "for-each-ref": (), "show-ref": (), "count-objects": (), "check-ignore": (),
    "check-attr": (), "whatchanged": ("--output", "--ext-diff"), "version": (),
}
_GIT_GLOBAL = frozenset({"--no-pager", "-P", "--no-optional-locks"})
_GIT_BRANCH_WRITES = ("-d", "-D", "--delete", "-m", "-M", "--move", "-c", "-C", "--copy", "-u", "--set-upstream-to",
                      "--unset-upstream", "--edit-description", "-f", "--force", "-t", "--track")
_GIT_TAG_WRITES = ("-d", "--delete", "-a", "--annotate", "-s", "--sign", "-u", "--local-user", "-m", "--message",
                   "-F", "--file", "-f", "--force", "-e", "--edit")
_GIT_CONFIG_READS = frozenset({"--get", "--get-all", "--get-regexp", "--list", "-l", "get", "list"})


def _read_only_git(args: Sequence[str]) -> bool:
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if args[index] not in _GIT_GLOBAL:
            return False
        index += 1
    if index == len(args):
        return False
    sub, rest = args[index], args[index + 1 :]
    if sub in _GIT_READ:
        return not _has_flag(rest, _GIT_READ[sub])
    return _GIT_SPECIAL.get(sub, _never)(rest)


def _has_flag(args: Sequence[str], flags: Sequence[str]) -> bool:
    return any(
        word == flag or (flag.startswith("--") and word.startswith(flag + "=")) for word in args for flag in flags
    )


def _never(_args: Sequence[str]) -> bool:
    return False


def _git_branch(args: Sequence[str]) -> bool:
    listing = "--list" in args or "-l" in args
    return not _has_flag(args, _GIT_BRANCH_WRITES) and (listing or all(w.startswith("-") for w in args))


def _git_tag(args: Sequence[str]) -> bool:
    listing = "--list" in args or "-l" in args
    return not _has_flag(args, _GIT_TAG_WRITES) and (listing or all(w.startswith("-") for w in args))


def _git_remote(args: Sequence[str]) -> bool:
    words = [w for w in args if not w.startswith("-")]
    return all(w in ("-v", "--verbose") for w in args) or (bool(words) and words[0] in ("show", "get-url"))


def _git_stash(args: Sequence[str]) -> bool:
    return bool(args) and args[0] in ("list", "show")


_GIT_CONFIG_OTHER = ("--add", "--unset", "--unset-all", "--replace-all", "--edit", "-e", "set", "unset", "edit",
                     "-f", "--file", "--blob")  # writes, or reads a file anywhere as config


def _git_config(args: Sequence[str]) -> bool:
    return bool(_GIT_CONFIG_READS.intersection(args)) and not _has_flag(args, _GIT_CONFIG_OTHER)


def _git_reflog(args: Sequence[str]) -> bool:
    return not args or args[0] == "show" or args[0].startswith("-")


_GIT_SPECIAL = {
    "branch": _git_branch, "tag": _git_tag, "remote": _git_remote, "stash": _git_stash, "config": _git_config,
    "reflog": _git_reflog,
}


def critical_rm_target(argv: Sequence[str], *, cwd: str, home: str) -> str | None:
    """The first target of an ``rm``/``rmdir`` that is never auto-approved, or None."""
    if command_name(argv) not in ("rm", "rmdir"):
        return None
    for word in operands(argv):
        if unknowable(word):
            return word
        path = normalize(word, cwd=cwd, home=home)
        if os.path.basename(path) in ("*", ".*"):
            path = os.path.dirname(path)
        if path == "/" or os.path.dirname(path) == "/" or path == home or inside(cwd, path):
            return word
    return None
