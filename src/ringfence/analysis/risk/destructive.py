"""Destructive operations: what cannot be undone.

Deleting ``/``, your home directory, the workspace or a system directory, writing over a
disk, formatting or wiping it, shredding files, killing every process or stopping the
machine; and, beyond files, throwing away uncommitted work or git history, and deleting
containers' volumes, cluster objects, cloud infrastructure, buckets or databases. The ones
with no everyday use are denied; the ones that are sometimes right but costly when wrong
are asked. Ordinary clean-ups stay quiet: ``rm -rf node_modules build dist``, ``rm -rf
./tmp``, ``find . -name '*.pyc' -delete``, ``dd of=disk.img``, ``git clean -fdx -- dist/``,
``git push --force-with-lease``, ``docker image prune -f``, ``rsync --delete public/ dist/``.

- RF-DEST-001 (CRITICAL): ``rm -r`` of ``/``, ``/*``, your home (or a pattern naming all of
  it: ``~/*``, ``~/.[!.]*``), a top-level system directory, or ``rm --no-preserve-root``.
- RF-DEST-002 (HIGH): ``rm -r`` of the workspace or above it (``.``, ``..``, ``*``,
  ``$PWD``), of ``~/.ssh``, ``~/.gnupg``, ``~/.config``..., or ``rm`` in a system directory.
- RF-DEST-003 (MEDIUM): ``rm -r`` of a path only known at run time (``"$DIR"``, ``$(...)``):
  an empty variable turns ``rm -rf "$DIR"/`` into ``rm -rf /``. Not a variable the command
  line only ever sets to ``$(mktemp ...)`` (``tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT``).
- RF-DEST-004 (CRITICAL): writing to a disk device (``dd of=/dev/sda``, ``> /dev/nvme0n1``).
- RF-DEST-005 (CRITICAL): making or wiping a filesystem (``mkfs*``, ``wipefs``, ``blkdiscard``).
- RF-DEST-006 (HIGH): editing a partition table (``fdisk``, ``parted``, ``sgdisk``...).
- RF-DEST-007 (HIGH): ``shred`` of files; RF-DEST-008 (CRITICAL): ``shred`` of a disk.
- RF-DEST-009 (CRITICAL): ``find`` over ``/``, home or a system directory with ``-delete``
  or ``-exec rm``; RF-DEST-010 (HIGH): ``find ... -delete`` with no test at all.
- RF-DEST-011 (HIGH): truncating or overwriting a system file (``truncate``, ``: > /etc/x``,
  ``cp /dev/null /etc/x``), or writing kernel settings in /proc/sys or /sys.
- RF-DEST-012 (HIGH): recursive ``chmod``/``chown``, or ``mv``, of a critical path.
- RF-DEST-013 (HIGH): shutting the machine down or rebooting it.
- RF-DEST-014 (CRITICAL): a fork bomb, in bash or as a fork in an endless loop in code
  handed to an interpreter (``perl -e 'fork while 1'``).
- RF-DEST-015 (CRITICAL): ``rm -r`` of ``.``, ``*`` or ``..`` after ``cd`` to ``/``, home or
  a system directory (``cd ~ && rm -rf *``).
- RF-DEST-016 (MEDIUM): git throwing away uncommitted work or local history: ``reset
  --hard``, ``clean -f`` with ``-d`` or ``-x`` over the whole tree, ``checkout .``/``restore
  .``/``checkout -f``, ``stash clear``, ``reflog expire --expire=now``, ``filter-branch``/
  ``filter-repo``, ``rm -r .git``.
- RF-DEST-017 (HIGH): ``git push`` that overwrites or deletes remote history: ``--force``,
  ``-f``, ``+ref``, ``--mirror``, ``--delete``, ``:ref``, ``--prune`` (not
  ``--force-with-lease``).
- RF-DEST-018 (CRITICAL): killing every process you own, or init: ``kill -9 -1``,
  ``killall5``, ``pkill -u``/``killall -u`` with no process name, ``kill 1``.
- RF-DEST-019 (MEDIUM): ``killall NAME``: every process of that name, not just yours.
- RF-DEST-020 (CRITICAL): code handed to an interpreter that deletes home, / or a system
  directory (``shutil.rmtree(os.path.expanduser('~'))``, ``fs.rmSync(os.homedir(), ...)``,
  ``remove_tree("/home/me")``, ``FileUtils.rm_rf(Dir.home)``).
- RF-DEST-021 (CRITICAL): ``rsync --delete`` into ``/``, home or a top-level system directory.
- RF-DEST-022 (CRITICAL): ``xargs rm -r`` fed a listing of ``/``, home or a system
  directory (``cd ~; ls -A | xargs rm -rf``, ``find ~ -maxdepth 1 | xargs rm -rf``).
- RF-DEST-023 (HIGH): deleting containers' data, cluster objects or infrastructure:
  ``docker system prune -a``/``--volumes``, ``volume prune``, ``image prune -a``, ``rm``/
  ``rmi`` of a list computed at run time, ``compose down -v``; ``kubectl delete``, ``helm
  uninstall``; ``terraform``/``tofu``/``pulumi``/``cdk destroy``.
- RF-DEST-024 (HIGH): deleting cloud storage or hosted resources: ``aws s3 rm --recursive``,
  ``aws s3 rb``, ``aws ... delete-*``/``terminate-*``, ``gsutil rm -r``, ``gcloud``/``az``/
  ``doctl ... delete``, ``heroku apps:destroy``, ``gh repo delete``, ``gh release delete``.
- RF-DEST-025 (HIGH): destroying database data through a client (``psql``, ``mysql``,
  ``sqlite3``, ``mongosh``, ``redis-cli``, ``clickhouse-client``...): ``DROP DATABASE``/
  ``SCHEMA``/``TABLE``, ``TRUNCATE``, ``DELETE FROM`` without ``WHERE``, ``FLUSHALL``/
  ``FLUSHDB``, ``dropDatabase()``, ``.drop()``; ``dropdb``, ``mysqladmin drop``.
- RF-DEST-026 (MEDIUM): ``crontab -r``: every scheduled job of the user, gone.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import SYSTEM_DIRS, inline_code, normal, safe, split_options, system_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_ROOTS = frozenset({"/", "/*", "~", "~/*", "~/.*"})
_WORKSPACE = frozenset({".", "./*", "*", "..", "../*", "../..", "$PWD", "${PWD}", "$(pwd)", "`pwd`", "./.*", ".*"})
_KEYS = frozenset({"~/.ssh", "~/.gnupg", "~/.config", "~/.local", "~/.aws", "~/.kube"})
_DISK = lazy(r"^/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|disk\d|rdisk\d|md\d|dm-\d|mapper/|loop\d|sr\d)")
_MKFS = lazy(r"^(mkfs(\.\w+)?|mke2fs|mkswap|mkdosfs|mkntfs|mkexfatfs|newfs(_\w+)?|wipefs|blkdiscard)$")
_PARTITION = frozenset({"fdisk", "sfdisk", "cfdisk", "gdisk", "sgdisk", "parted", "diskutil"})
_HARMLESS_DEVICES = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero"})


def _rm_targets(command: SimpleCommand) -> tuple[bool, list[str]] | None:
    """(recursive, targets) of an ``rm``; None for other commands."""
    if command.name != "rm":
        return None
    options, operands = split_options(command.argv)
    recursive = bool(options & {"r", "R", "--recursive"})
    return recursive, operands


def _critical(path: str) -> bool:
    target = normal(path)
    if target in _ROOTS or target in SYSTEM_DIRS or target.rstrip("*").rstrip("/") in SYSTEM_DIRS:
        return True
    return ("*" in target or "?" in target or "[" in target) and _whole_glob(target)


_BRACKETS = lazy(r"\[!?\^?\]?[^\]]*\]")


def _whole_glob(path: str) -> bool:
    """``~/.[!.]*``, ``~/*``, ``/.??*``: a pattern made only of wildcards, directly under
    home or /, so it names (nearly) everything there."""
    if path.startswith("~/"):
        rest = path[2:]
    elif path.startswith("/"):
        rest = path[1:]
    else:
        return False
    if not rest or "/" in rest:
        return False
    pattern = _BRACKETS.sub("?", rest)
    return not pattern.strip(".*?") and ("*" in pattern or "?" in pattern)


@rule(
    "RF-DEST-001", Severity.CRITICAL, "rm -r of /, your home directory or a top-level system directory.", names=("rm",)
)
def rm_root(command: SimpleCommand) -> str | None:
    found = _rm_targets(command)
    if found is None:
        return None
    recursive, targets = found
    if "--no-preserve-root" in command.argv:
        return "`rm --no-preserve-root` removes the protection against deleting /."
    for target in targets:
        if recursive and _critical(target):
            return f"`rm -r` of {_describe(normal(target))} would destroy the system or your files."
    return None


def _describe(path: str) -> str:
    if path.startswith("~"):
        return "your home directory" if path == "~" else "everything in your home directory"
    if path.startswith("/*") or path == "/" or _whole_glob(path):
        return "/ (everything)"
    return f"the system directory {path.rstrip('/*')}"


@parsed_rule(
    "RF-DEST-002", Severity.HIGH, "rm -r of the workspace or its parents, of key directories, or of system files."
)
def rm_workspace(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    subdirectory = False  # after `cd build`, `rm -rf *` empties build, not the workspace
    for index, command in enumerate(parsed.commands):
        if command.name in ("cd", "pushd"):
            operands = split_options(command.argv)[1]
            target = normal(operands[0]) if operands else "~"
            subdirectory = not target.startswith(("/", "~", "$", "..", "-")) and target != "."
            continue
        found = _rm_targets(command)
        if found is not None:
            message = _rm_workspace_target(*found, subdirectory)
            if message is not None:
                yield index, message


def _rm_workspace_target(recursive: bool, targets: list[str], subdirectory: bool) -> str | None:
    for target in targets:
        path = normal(target)
        if _critical(path):
            continue  # RF-DEST-001
        parent = re.fullmatch(r"(\.\./)*\.\.(/\*)?", path)
        if recursive and (parent or (path in _WORKSPACE and not subdirectory)):
            return f"`rm -r {safe(path)}` deletes the whole workspace or a directory above it."
        if recursive and path in _KEYS:
            return f"`rm -r` of {path} deletes your keys or configuration."
        if system_path(path):
            return f"`rm` deletes files in the system directory {safe('/' + path[1:].split('/', 1)[0])}."
    return None


@parsed_rule("RF-DEST-003", Severity.MEDIUM, "rm -r of a path computed at run time ($VAR, $(...)).")
def rm_computed(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    temporary: set[str] | None = None
    for index, command in enumerate(parsed.commands):
        found = _rm_targets(command)
        if found is None or not found[0]:
            continue
        computed = [t for t in found[1] if ("$" in t or "`" in t) and not _critical(t)]
        if not computed:
            continue
        if temporary is None:
            temporary = _temporary_variables(parsed)
        if not all(_variable(t) in temporary for t in computed):
            yield (
                index,
                "`rm -r` of a path computed at run time: if it expands to nothing or to /, it deletes far more.",
            )


_VARIABLE = lazy(r"\$(?:(\w+)|\{(\w+)\})")
_MKTEMP = lazy(r"^[\"']?(?:\$\(|`)\s*mktemp\b")


def _variable(word: str) -> str:
    """The name in a word that is one variable and nothing else (``$tmp``, ``${tmp}``)."""
    whole = _VARIABLE.fullmatch(word)
    return (whole.group(1) or whole.group(2)) if whole else ""


def _temporary_variables(parsed: ParsedCommand) -> set[str]:
    """Variables the command line only ever sets to ``$(mktemp ...)``: ``rm -rf "$tmp"`` of
    one deletes a fresh temporary directory, or nothing at all if mktemp failed."""
    temporary: set[str] = set()
    other: set[str] = set()
    for command in parsed.commands:
        pairs = list(command.assignments)
        if command.name in ("export", "declare", "typeset", "local", "readonly"):
            pairs += [(a.partition("=")[0], a.partition("=")[2]) for a in command.argv[1:] if "=" in a]
        for name, value in pairs:
            (temporary if _MKTEMP.match(value) else other).add(name)
    return temporary - other


@rule("RF-DEST-004", Severity.CRITICAL, "Writes straight to a disk device (dd of=/dev/sda, > /dev/nvme0n1).")
def disk_write(command: SimpleCommand) -> str | None:
    targets = [r.target for r in command.redirects if r.writes and r.target]
    if command.name == "dd":
        targets += [a[3:] for a in command.argv if a.startswith("of=")]
    if command.name in ("cp", "tee", "cat", "pv") and len(command.argv) > 1:
        targets.append(command.argv[-1])
    for target in targets:
        if _DISK.match(target):
            return "It writes straight to a disk device, destroying the filesystem on it."
    return None


@rule("RF-DEST-005", Severity.CRITICAL, "Creates or wipes a filesystem (mkfs, wipefs, blkdiscard).")
def make_filesystem(command: SimpleCommand) -> str | None:
    if _MKFS.match(command.name):
        return f"`{command.name}` erases whatever filesystem is on the device."
    return None


@rule("RF-DEST-006", Severity.HIGH, "Edits a disk's partition table (fdisk, parted, sgdisk...).")
def partition(command: SimpleCommand) -> str | None:
    if command.name in _PARTITION and not set(command.argv[1:]) & {"-l", "--list", "list", "-h", "--help"}:
        return f"`{command.name}` edits a disk's partition table."
    return None


@rule("RF-DEST-007", Severity.HIGH, "shred: overwrites files so they cannot be recovered.", names=("shred",))
def shred(command: SimpleCommand) -> str | None:
    if command.name != "shred":
        return None
    if any(_DISK.match(a) for a in command.argv[1:]):
        return None  # RF-DEST-008
    return "`shred` overwrites files so they can never be recovered."


@parsed_rule("RF-DEST-008", Severity.CRITICAL, "shred of a whole disk device.")
def shred_disk(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        if command.name == "shred" and any(_DISK.match(a) for a in command.argv[1:]):
            yield index, "`shred` of a disk device destroys everything on it."


_FIND_TESTS = lazy(
    r"^-(i?name|i?path|i?wholename|i?regex|type|mtime|mmin|atime|amin|ctime|cmin|newer\w*|size|empty"
    r"|user|group|perm|links|inum|samefile|xtype|maxdepth)$"
)


@parsed_rule("RF-DEST-009", Severity.CRITICAL, "find over /, home or a system directory that deletes what it finds.")
def find_delete_broad(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        deletes, roots, _ = _find_deletes(command, parsed)
        if deletes and any(_critical(r) for r in roots):
            yield index, "`find` over / or your home directory deletes everything it matches."


@parsed_rule("RF-DEST-010", Severity.HIGH, "find over the workspace that deletes everything (no test).")
def find_delete_all(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        deletes, roots, tested = _find_deletes(command, parsed)
        if deletes and not tested and not any(_critical(r) for r in roots):
            yield index, "`find ... -delete` with no test deletes every file under the path."


def _find_deletes(command: SimpleCommand, parsed: ParsedCommand) -> tuple[bool, list[str], bool]:
    if command.name != "find":
        return False, [], False
    argv = command.argv
    roots = []
    for arg in argv[1:]:
        if arg.startswith(("-", "(", "!")) or arg in (")",):
            break
        roots.append(arg)
    deletes = "-delete" in argv or any(
        other.context == "find -exec" and other.name in ("rm", "shred", "unlink") for other in parsed.commands
    )
    tested = any(_FIND_TESTS.match(a) for a in argv)
    return deletes, roots or ["."], tested


_SYSTEM_FILE = lazy(r"^/(etc|boot|usr|bin|sbin|lib\w*|var/lib|System|Library)/")
_KERNEL = lazy(r"^/(proc/sys|sys)/")
_EMPTY_WRITERS = frozenset({"", ":", "true", "false", "echo", "printf", "cat"})


@rule("RF-DEST-011", Severity.HIGH, "Truncates or overwrites a system file, or writes kernel settings.")
def system_overwrite(command: SimpleCommand) -> str | None:
    name = command.name
    if name == "truncate":
        _, files = split_options(command.argv, valued="sr", long_valued=frozenset({"--size", "--reference"}))
        if any(_SYSTEM_FILE.match(normal(f)) for f in files):
            return "`truncate` empties a system file."
    argv = command.argv
    if name == "cp" and len(argv) >= 3 and argv[-2] == "/dev/null" and _SYSTEM_FILE.match(normal(argv[-1])):
        return "`cp /dev/null` empties a system file."
    for redirect in command.redirects:
        if not redirect.writes or not redirect.target:
            continue
        target = normal(redirect.target)
        if _KERNEL.match(target):
            return "It writes a kernel setting under /proc/sys or /sys."
        truncates = redirect.op.lstrip("0123456789") in (">", ">|", "&>")
        if truncates and _SYSTEM_FILE.match(target) and (name in _EMPTY_WRITERS or not argv):
            return f"It overwrites the system file {safe(target)}."
    return None


@rule(
    "RF-DEST-012",
    Severity.HIGH,
    "Recursive chmod/chown, or mv, of /, home or a system directory.",
    names=("chmod", "chown", "chgrp", "mv"),
)
def critical_tree(command: SimpleCommand) -> str | None:
    name = command.name
    if name not in ("chmod", "chown", "chgrp", "mv"):
        return None
    options, operands = split_options(command.argv)
    recursive = name == "mv" or bool(options & {"R", "--recursive"})
    paths = operands[:-1] if name == "mv" else operands[1:]
    if recursive and any(_critical(p) for p in paths):
        return f"`{name}` of / , your home or a system directory would break the system."
    return None


_FORK_BOMB = lazy(r"(\S+)\s*\(\)\s*\{[^}]*\1\s*\|\s*\1\s*&")
# A loop that never ends, in the languages handed code on the command line.
_ENDLESS = lazy(
    r"\bwhile\s*\(?\s*(?:1|true|True|!0|fork\b|os\.fork\b)|\bfor\s*\(\s*;\s*;|\bloop\s*(?:\{|do\b)"
    r"|\buntil\s*\(?\s*(?:0|false)\b|\bforever\b|\bwhile\s+fork\b"
)


@parsed_rule("RF-DEST-013", Severity.HIGH, "Shuts the machine down or reboots it.")
def stop_machine(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        name, argv = command.name, command.argv
        if name in ("shutdown", "reboot", "halt", "poweroff") or (name == "init" and argv[1:2] in (("0",), ("6",))):
            yield index, f"`{name}` stops or restarts the machine."
        elif name == "systemctl" and set(argv[1:]) & {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate"}:
            yield index, "`systemctl` stops or restarts the machine."


@parsed_rule(
    "RF-DEST-014", Severity.CRITICAL, "A fork bomb: a function that runs two copies of itself, or a fork loop."
)
def fork_bomb(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    if "()" in parsed.source and _FORK_BOMB.search(parsed.source):
        yield -1, "It defines a fork bomb, which exhausts the machine's processes."
        return
    for index, command in enumerate(parsed.commands):
        code = inline_code(command)
        if "fork" in code and _ENDLESS.search(code):
            yield index, f"`{command.name}` forks in an endless loop, which exhausts the machine's processes."


@parsed_rule("RF-DEST-015", Severity.CRITICAL, "rm -r of . or * after cd to /, home or a system directory.")
def rm_after_cd(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    where = ""
    for index, command in enumerate(parsed.commands):
        if command.name in ("cd", "pushd"):
            operands = split_options(command.argv)[1]
            where = normal(operands[0]) if operands else "~"
            continue
        found = _rm_targets(command)
        if found is None or not found[0] or not _critical(where):
            continue
        if any(normal(t) in _WORKSPACE for t in found[1]):
            yield index, f"`rm -r` here deletes {_describe(where)}: the command has just changed into it."


# --- git: work and history that exist nowhere else ---------------------------------------

_GIT_VALUED = frozenset({"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--config-env", "--exec-path"})
_WHOLE_TREE = frozenset({".", "*", ":/", ":/*", ":/.", "$PWD", "${PWD}", "$(pwd)", "$(git rev-parse --show-toplevel)"})
_GIT_DIRS = frozenset({".git", "$PWD/.git", "${PWD}/.git", "$(pwd)/.git", "$(git rev-parse --show-toplevel)/.git"})
_NOW = frozenset({"now", "all", "0"})
_GIT_DISCARDS = frozenset(
    {"reset", "clean", "checkout", "restore", "switch", "stash", "reflog", "filter-branch", "filter-repo"}
)
_GIT_SUB_VALUED = {"checkout": "bB", "restore": "s", "clean": "e", "switch": "cC", "push": "o"}
_GIT_LONG_VALUED = frozenset(
    {"--source", "--exclude", "--orphan", "--repo", "--receive-pack", "--exec", "--push-option"}
)


def _git(argv: tuple[str, ...]) -> tuple[str, ...]:
    """The words from git's subcommand on (``git -C x reset --hard`` -> ``reset --hard``)."""
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in _GIT_VALUED:
            i += 2
        elif arg.startswith("-"):
            i += 1
        else:
            return argv[i:]
    return ()


def _git_options(words: tuple[str, ...]) -> tuple[set[str], list[str]]:
    return split_options(words, valued=_GIT_SUB_VALUED.get(words[0], ""), long_valued=_GIT_LONG_VALUED)


@rule(
    "RF-DEST-016",
    Severity.MEDIUM,
    "Discards uncommitted work or rewrites local git history (reset --hard, clean -fdx, checkout .).",
    names=("git", "rm"),
)
def git_discard(command: SimpleCommand) -> str | None:
    if command.name == "rm":
        found = _rm_targets(command)
        if found and found[0] and any(normal(t).removeprefix("./") in _GIT_DIRS for t in found[1]):
            return "`rm -r .git` deletes the repository's whole history and every branch not pushed."
        return None
    words = _git(command.argv)
    if not words:
        return None
    sub = words[0]
    if sub not in _GIT_DISCARDS:
        return None
    options, operands = _git_options(words)
    whole = any(o in _WHOLE_TREE or normal(o) in _WHOLE_TREE for o in operands)
    if sub == "reset" and "--hard" in options:
        return "`git reset --hard` throws away uncommitted changes, and commits if it moves the branch back."
    if sub == "clean":
        forced = bool(options & {"f", "--force"}) and not options & {"n", "--dry-run", "i", "--interactive"}
        wide = "x" in options or ("d" in options and "X" not in options)
        if forced and wide and (whole or not operands):
            return "`git clean` deletes every untracked file and directory (-x: ignored ones too), never committed."
    elif sub in ("checkout", "switch") and options & {"f", "--force", "--discard-changes"}:
        return f"`git {sub} --force` throws away uncommitted changes."
    elif sub == "checkout" and whole:
        return "`git checkout .` throws away every uncommitted change in the working tree."
    elif sub == "restore" and whole and (options & {"W", "--worktree"} or not options & {"S", "--staged"}):
        return "`git restore .` throws away every uncommitted change in the working tree."
    elif sub == "stash" and operands[:1] == ["clear"]:
        return "`git stash clear` drops every stash for good."
    elif sub == "reflog" and operands[:1] == ["expire"] and any(a.partition("=")[2] in _NOW for a in words):
        return "`git reflog expire` forgets the history that recovers lost commits."
    elif sub in ("filter-branch", "filter-repo") and not options & {"--analyze", "-h", "--help"}:
        return f"`git {sub}` rewrites the whole history of the repository."
    return None


@rule(
    "RF-DEST-017",
    Severity.HIGH,
    "git push that overwrites or deletes remote history (--force, +ref, --delete, :ref, --mirror).",
    names=("git",),
)
def git_push_destroys(command: SimpleCommand) -> str | None:
    words = _git(command.argv)
    if words[:1] != ("push",):
        return None
    options, operands = _git_options(words)
    if options & {"n", "--dry-run"}:
        return None
    refspecs = operands[1:]
    if options & {"f", "--force", "--mirror"} or any(r.startswith("+") for r in refspecs):
        return (
            "`git push --force` overwrites the remote branch and loses commits others pushed (see --force-with-lease)."
        )
    if options & {"d", "--delete", "--prune"} or any(r.startswith(":") and len(r) > 1 for r in refspecs):
        return "`git push --delete` deletes a branch or tag on the remote."
    return None


# --- processes ---------------------------------------------------------------------------

_SIGNAL = lazy(r"^-(?:\d+|(?:SIG)?[A-Z]{2}[A-Z0-9+-]*)$")
_PKILL_VALUED = (
    "gGPstuUF",
    frozenset(
        {
            "--signal",
            "--uid",
            "--euid",
            "--group",
            "--pgroup",
            "--parent",
            "--session",
            "--terminal",
            "--pidfile",
            "--ns",
            "--nslist",
            "--runstates",
            "--cgroup",
            "--env",
        }
    ),
)
_KILLALL_VALUED = ("suoyZn", frozenset({"--signal", "--user", "--older-than", "--younger-than", "--ns", "--context"}))
_EVERYTHING = frozenset({".", ".*", ".+", "^", "", "''", '""'})


def _signal_options(argv: tuple[str, ...], valued: tuple[str, frozenset[str]]) -> tuple[set[str], list[str]]:
    """``split_options`` for pkill and killall, whose ``-9``/``-KILL`` are signals, not letters."""
    words = tuple(a for i, a in enumerate(argv) if not (i and _SIGNAL.match(a)))
    return split_options(words, valued=valued[0], long_valued=valued[1])


def _kill_pids(argv: tuple[str, ...]) -> tuple[str, list[str]]:
    """(signal, pids) of ``kill``: ``kill -9 -1`` -> ("9", ["-1"]); ``kill -1 42`` -> ("1", ["42"])."""
    args = list(argv[1:])
    signal, i = "TERM", 0
    if args and args[0] in ("-l", "-L", "--list"):
        return "", []
    if args and args[0] in ("-s", "-n") and len(args) > 1:
        signal, i = args[1], 2
    elif args and args[0].startswith("-") and args[0] != "--":
        signal, i = args[0][1:], 1
    if i < len(args) and args[i] == "--":
        i += 1
    return signal, args[i:]


@rule(
    "RF-DEST-018",
    Severity.CRITICAL,
    "Kills every process you own, or init (kill -1, killall5, pkill -u with no name, kill 1).",
    names=("kill", "pkill", "killall", "killall5", "skill"),
)
def kill_everything(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name == "killall5":
        return "`killall5` kills every process."
    if name == "kill":
        signal, pids = _kill_pids(argv)
        if signal in ("0", "s0"):
            return None
        if "-1" in pids:
            return "`kill -1` signals every process you own, this session and the agent included."
        if "1" in pids:
            return "`kill 1` signals init, which stops the machine or the container."
        return None
    if name in ("pkill", "skill", "killall"):
        options, operands = _signal_options(argv, _KILLALL_VALUED if name == "killall" else _PKILL_VALUED)
        user = options & {"u", "U", "--uid", "--euid", "--user"}
        if user and all(o in _EVERYTHING for o in operands):
            return (
                f"`{name} -u` with no process name kills every process of the user (this session too, if it is yours)."
            )
    return None


@rule(
    "RF-DEST-019", Severity.MEDIUM, "killall: kills every process of a name, not one you started.", names=("killall",)
)
def killall(command: SimpleCommand) -> str | None:
    if command.name != "killall":
        return None
    options, operands = _signal_options(command.argv, _KILLALL_VALUED)
    if operands and not options & {"l", "V", "--list", "--version", "--help"}:
        return "`killall` kills every process with that name, including ones this session did not start."
    return None


# --- code handed to an interpreter ----------------------------------------------------

_DELETE_CALL = lazy(
    r"\b(?:rmtree|rmSync|rmdirSync|remove_tree|rm_rf|rm_r|remove_dir|remove_entry(?:_secure)?|remove_dir_all"
    r"|RemoveAll|rimraf(?:\.sync)?|removeSync|emptyDirSync|deleteRecursively)\b\s*(\(|[ \t]+)|(?<=\.)rm\s*(\()"
)
_DELETE_WORDS = (
    "rmtree",
    "rmSync",
    "rmdirSync",
    "remove_tree",
    "rm_r",
    "remove_dir",
    "remove_entry",
    "RemoveAll",
    "rimraf",
    "removeSync",
    "emptyDirSync",
    "deleteRecursively",
    ".rm(",
    ".rm (",
)
_HOME_CODE = lazy(
    r"(?:[\w.]*\.)?(?:homedir|home|UserHomeDir|home_dir)\(\)(?:\.(?:resolve|absolute|expanduser)\(\))*"
    r"|require\(['\"](?:node:)?os['\"]\)\.homedir\(\)"
    r"|process\.env(?:\.HOME|\[['\"]HOME['\"]\])|Deno\.env\.get\(['\"]HOME['\"]\)"
    r"|os\.environ(?:\[['\"]HOME['\"]\]|\.get\(['\"]HOME['\"]\))|(?:os\.)?getenv\(['\"]HOME['\"]\)"
    r"|\$ENV\{['\"]?HOME['\"]?\}|ENV(?:\[['\"]HOME['\"]\]|\.fetch\(['\"]HOME['\"]\))|Dir\.home"
)
_PATH_WRAPPER = lazy(
    r"(?:[\w.]*\.)?(?:expanduser|expand_path|abspath|realpath|resolve|normpath|Path|PurePath|str|String|fspath)"
    r"\s*\((.*)\)(?:\.(?:expanduser|resolve|absolute)\(\))*"
)
_LITERAL = lazy(r"(['\"`])(.*)\1")


def _argument(code: str, start: int, parenthesised: bool) -> str:
    """The first argument of a call whose text starts at ``start``."""
    depth, quote, i = 0, "", start
    while i < len(code):
        c = code[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif c in "'\"`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}" and depth:
            depth -= 1
        elif depth == 0 and (c in ",)" or (not parenthesised and c in ";\n")):
            break
        i += 1
    return code[start:i].strip()


def _code_path(expr: str, code: str, depth: int = 0) -> str | None:
    """What an expression in ``code`` names, when it is home, / or a system directory."""
    if depth > 3 or not expr:
        return None
    literal = _LITERAL.fullmatch(expr)
    if literal:
        value = _HOME_CODE.sub("~", literal.group(2)).replace("${~}", "~")
        return value if _critical(value) else None
    if _HOME_CODE.fullmatch(expr):
        return "~"
    wrapped = _PATH_WRAPPER.fullmatch(expr)
    if wrapped:
        return _code_path(_argument(wrapped.group(1), 0, True), code, depth + 1)
    if re.fullmatch(r"\$?[A-Za-z_]\w*", expr):
        name = re.escape(expr)
        for assigned in re.finditer(rf"(?<![\w$.]){name}\s*=(?!=)\s*", code):
            found = _code_path(_argument(code, assigned.end(), False), code, depth + 1)
            if found:
                return found
    return None


@rule("RF-DEST-020", Severity.CRITICAL, "Interpreter code that deletes your home directory, / or a system directory.")
def code_deletes_tree(command: SimpleCommand) -> str | None:
    code = inline_code(command)
    if not code or not any(word in code for word in _DELETE_WORDS):
        return None
    for call in _DELETE_CALL.finditer(code):
        parenthesised = call.group(2) is not None or call.group(1) == "("
        start = call.end()
        target = _code_path(_argument(code, start, parenthesised), code)
        if target:
            return f"`{command.name}` code deletes {_describe(normal(target))}."
    return None


# --- trees emptied by other tools --------------------------------------------------------

_RSYNC_LONG_VALUED = frozenset(
    {
        "--exclude",
        "--include",
        "--filter",
        "--rsh",
        "--exclude-from",
        "--include-from",
        "--files-from",
        "--chmod",
        "--chown",
        "--rsync-path",
        "--password-file",
        "--log-file",
        "--backup-dir",
        "--suffix",
        "--partial-dir",
        "--temp-dir",
        "--compare-dest",
        "--copy-dest",
        "--link-dest",
        "--bwlimit",
        "--timeout",
        "--port",
        "--max-size",
        "--min-size",
        "--out-format",
        "--info",
        "--debug",
        "--usermap",
        "--groupmap",
    }
)


@rule(
    "RF-DEST-021",
    Severity.CRITICAL,
    "rsync --delete into /, your home or a top-level system directory.",
    names=("rsync",),
)
def rsync_delete(command: SimpleCommand) -> str | None:
    if command.name != "rsync" or not any(a.startswith("--del") for a in command.argv):
        return None
    options, operands = split_options(command.argv, valued="efTBM", long_valued=_RSYNC_LONG_VALUED)
    if len(operands) < 2 or not any(o.startswith("--del") and o != "--delete-missing-args" for o in options):
        return None
    destination = operands[-1]
    if ":" in destination.partition("/")[0]:
        return None  # host:path, another machine
    if _critical(destination):
        return f"`rsync --delete` into {_describe(normal(destination))} deletes whatever the source does not have."
    return None


_LISTERS = frozenset({"ls", "find", "fd", "echo", "printf", "dir"})


@parsed_rule("RF-DEST-022", Severity.CRITICAL, "xargs rm -r fed a listing of /, your home or a system directory.")
def xargs_rm(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    where = ""
    commands = parsed.commands
    for index, command in enumerate(commands):
        if command.name in ("cd", "pushd"):
            operands = split_options(command.argv)[1]
            where = normal(operands[0]) if operands else "~"
            continue
        if command.name != "rm" or "xargs" not in command.wrappers or command.pipeline < 0:
            continue
        recursive, targets = _rm_targets(command) or (False, [])
        if recursive and any(_critical(t.replace("{}", "*")) for t in targets if "{}" in t):
            yield index, "`xargs rm -r` deletes everything in your home directory or /."
            continue
        for feeder in commands:
            if feeder.pipeline == command.pipeline and feeder.stage == command.stage - 1:
                listed = _listed(feeder, where, recursive)
                if listed:
                    yield index, f"`xargs rm` deletes what `{feeder.name}` lists: {_describe(listed)}."
                    break


def _listed(feeder: SimpleCommand, where: str, recursive: bool) -> str | None:
    """The critical directory a listing command names (or runs in), if any."""
    if feeder.name not in _LISTERS:
        return None
    if feeder.name == "find":
        roots = []
        for arg in feeder.argv[1:]:
            if arg.startswith(("-", "(", "!")):
                break
            roots.append(arg)
        if not recursive and any(_FIND_TESTS.match(a) for a in feeder.argv):
            return None
    else:
        if not recursive:
            return None
        roots = split_options(feeder.argv)[1]
    for root in roots or ["."]:
        path = normal(root)
        path = where if path == "." else path
        if _critical(path):
            return path
    return None


# --- containers, clusters, infrastructure, cloud -----------------------------------------

_DOCKERS = frozenset({"docker", "podman", "nerdctl"})
_DOCKER_VALUED = frozenset(
    {
        "-H",
        "--host",
        "--context",
        "-c",
        "--config",
        "-l",
        "--log-level",
        "--tlscacert",
        "--tlscert",
        "--tlskey",
        "--url",
        "--connection",
        "--root",
        "--runroot",
    }
)
_KUBE_VALUED = frozenset(
    {
        "-n",
        "--namespace",
        "--context",
        "--kubeconfig",
        "--cluster",
        "--user",
        "-s",
        "--server",
        "--as",
        "--as-group",
        "--token",
        "--request-timeout",
        "-v",
        "--kube-context",
    }
)
_INFRA = frozenset(
    {
        "docker",
        "podman",
        "nerdctl",
        "docker-compose",
        "podman-compose",
        "kubectl",
        "oc",
        "helm",
        "terraform",
        "tofu",
        "terragrunt",
        "pulumi",
        "cdk",
        "cdktf",
    }
)


def _words(argv: tuple[str, ...], valued: frozenset[str] = frozenset()) -> list[str]:
    """The positional words (subcommands, then operands), skipping options and their values."""
    words, i = [], 1
    while i < len(argv):
        arg = argv[i]
        if arg in valued:
            i += 2
            continue
        if not arg.startswith("-"):
            words.append(arg)
        i += 1
    return words


def _computed_list(command: SimpleCommand, operands: list[str]) -> bool:
    """Its operands come from a command at run time: ``$(docker ps -aq)``, or xargs."""
    return "xargs" in command.wrappers or any("$(" in o or "`" in o for o in operands)


@rule(
    "RF-DEST-023",
    Severity.HIGH,
    "Deletes containers' data, a cluster's objects or infrastructure (docker prune -a/--volumes, kubectl delete, "
    "terraform destroy).",
    names=_INFRA,
)
def infra_delete(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    if name in _DOCKERS or name in ("docker-compose", "podman-compose"):
        return _docker_delete(command)
    if name in ("kubectl", "oc"):
        words = _words(argv, _KUBE_VALUED)
        if words[:1] == ["delete"] and not any(a.startswith("--dry-run") and a != "--dry-run=none" for a in argv):
            return f"`{name} delete` deletes objects from the cluster, and what they held."
    elif name == "helm":
        if _words(argv, _KUBE_VALUED)[:1] in (["uninstall"], ["delete"], ["del"], ["un"]):
            return "`helm uninstall` deletes a release and everything it deployed."
    elif name in ("terraform", "tofu", "terragrunt", "cdktf"):
        words = _words(argv)
        if words[:1] == ["destroy"] or (words[:1] == ["apply"] and ("-destroy" in argv or "--destroy" in argv)):
            return f"`{name} destroy` deletes the infrastructure it manages."
    elif name in ("pulumi", "cdk"):
        words = _words(argv)
        if words[:1] in (["destroy"], ["down"]) or words[:2] == ["stack", "rm"]:
            return f"`{name} destroy` deletes the infrastructure it manages."
    return None


def _docker_delete(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    words = _words(argv, _DOCKER_VALUED)
    if name.endswith("-compose"):
        words = ["compose", *words]
    options, _ = split_options(argv)
    sub, verb, operands = words[:1], words[1:2], words[1:]
    if sub == ["system"] and verb == ["prune"] and options & {"a", "--all", "--volumes"}:
        return f"`{name} system prune` deletes every unused image, container and volume, with their data."
    if sub == ["volume"] and verb == ["prune"]:
        return f"`{name} volume prune` deletes volumes and the data in them."
    if sub in (["image"], ["builder"], ["buildx"]) and "prune" in words and options & {"a", "--all"}:
        return f"`{name} {sub[0]} prune -a` deletes every image or cache not in use."
    if sub == ["compose"] and "down" in words and options & {"v", "--volumes"}:
        return "`compose down -v` deletes the project's volumes and the data in them."
    if sub in (["rm"], ["rmi"]) and _computed_list(command, operands):
        return f"`{name} {sub[0]}` deletes a list only known at run time (often every one there is)."
    kinds = (["container"], ["image"], ["volume"], ["network"])
    if sub in kinds and verb in (["rm"], ["remove"]) and _computed_list(command, operands[1:]):
        return f"`{name} {sub[0]} rm` deletes a list only known at run time (often every one there is)."
    return None


_CLOUD = frozenset({"aws", "gsutil", "gcloud", "az", "gh", "doctl", "heroku", "fly", "flyctl", "s3cmd"})
_AWS_VALUED = frozenset(
    {
        "--profile",
        "--region",
        "--output",
        "--endpoint-url",
        "--query",
        "--color",
        "--ca-bundle",
        "--cli-read-timeout",
        "--cli-connect-timeout",
    }
)
_DELETE_VERB = lazy(r"^(?:delete|destroy|terminate)(?:-|$)|^batch-delete-|^apps:destroy$|^pg:reset$")


@rule(
    "RF-DEST-024",
    Severity.HIGH,
    "Deletes cloud storage or hosted resources (aws s3 rm --recursive, gsutil rm -r, gcloud/az ... delete, "
    "gh repo delete).",
    names=_CLOUD,
)
def cloud_delete(command: SimpleCommand) -> str | None:
    name, argv = command.name, command.argv
    options = split_options(argv)[0]
    recursive = bool(options & {"r", "R", "a", "--recursive"})
    if name == "aws":
        words = _words(argv, _AWS_VALUED)
        if words[:1] == ["s3"] and (words[1:2] == ["rb"] or (words[1:2] == ["rm"] and recursive)):
            return "`aws s3` deletes a bucket or everything under a prefix."
        if len(words) > 1 and re.match(r"(?:delete|terminate|batch-delete)-", words[1]):
            return f"`aws {safe(words[0], 'a service')}` deletes or terminates a cloud resource."
    elif name in ("gsutil", "s3cmd"):
        words = _words(argv)
        if words[:1] == ["rb"] or (words[:1] in (["rm"], ["del"]) and (recursive or any("**" in w for w in words))):
            return f"`{name}` deletes a bucket or everything under a prefix."
    elif name in ("gcloud", "az", "doctl", "fly", "flyctl", "heroku"):
        words = _words(argv)
        path = words[:4]
        if any(_DELETE_VERB.match(w) for w in path) or (path[:2] == ["storage", "rm"] and recursive):
            return f"`{name}` deletes a cloud resource."
    elif name == "gh":
        words = _words(argv)
        if words[:1] in (["repo"], ["release"]) and words[1:2] == ["delete"]:
            return f"`gh {words[0]} delete` deletes a GitHub {words[0]} for good."
    return None


# --- databases -------------------------------------------------------------------------

_DB_CLIENTS = frozenset(
    {
        "psql",
        "mysql",
        "mariadb",
        "sqlite3",
        "sqlite",
        "mongosh",
        "mongo",
        "redis-cli",
        "valkey-cli",
        "keydb-cli",
        "clickhouse-client",
        "clickhouse",
        "cqlsh",
        "sqlcmd",
        "duckdb",
        "cockroach",
        "usql",
        "pgcli",
        "mycli",
        "litecli",
        "dropdb",
        "mysqladmin",
        "mariadb-admin",
    }
)
_DB_DESTROY = lazy(
    r"\bDROP\s+(?:DATABASE|SCHEMA|TABLE|KEYSPACE|OWNED|COLLECTION)\b|\bTRUNCATE\b"
    r"|\bDELETE\s+FROM\s+[\w.\"`\[\]]+\s*(?:;|$)|\bFLUSH(?:ALL|DB)\b|\bdropDatabase\s*\(|\.drop\s*\(\s*\)"
    r"|\.(?:deleteMany|remove)\s*\(\s*\{\s*\}\s*\)",
    re.IGNORECASE,
)
_FEEDERS = frozenset({"echo", "printf", "cat"})


@parsed_rule(
    "RF-DEST-025",
    Severity.HIGH,
    "Destroys database data (DROP, TRUNCATE, DELETE without WHERE, FLUSHALL, dropDatabase, dropdb).",
)
def database_destroy(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    commands = parsed.commands
    for index, command in enumerate(commands):
        name = command.name
        if name not in _DB_CLIENTS:
            continue
        if name == "dropdb" and not {"--help", "-?", "--version", "-V"} & set(command.argv):
            yield index, "`dropdb` deletes a whole database."
            continue
        if name in ("mysqladmin", "mariadb-admin") and "drop" in command.argv:
            yield index, f"`{name} drop` deletes a whole database."
            continue
        texts = list(command.argv[1:])
        fed = [command]
        if command.pipeline >= 0:
            fed += [
                c for c in commands if c.pipeline == command.pipeline and c.stage < command.stage and c.name in _FEEDERS
            ]
            texts += [a for c in fed[1:] for a in c.argv[1:]]
        for each in fed:
            for redirect in each.redirects:
                if redirect.op == "<<<":
                    texts.append(redirect.target or redirect.written)
                elif redirect.op in ("<<", "<<-"):
                    texts.append(parsed.source)  # the heredoc's body is not kept for a non-shell
        found = _DB_DESTROY.search("\n".join(texts))
        if found:
            yield index, f"`{name}` runs {_db_statement(found.group(0))}, which deletes data for good."


def _db_statement(text: str) -> str:
    """The statement's kind, for the message (not the table or database it names)."""
    words = text.upper().split()
    if words[0] == "DROP":
        return " ".join(words[:2])
    if words[0] == "DELETE":
        return "DELETE without WHERE"
    if "(" in text:
        return text.split("(")[0].strip().lstrip(".") + "()"
    return words[0]


@rule("RF-DEST-026", Severity.MEDIUM, "crontab -r: removes all of a user's scheduled jobs.", names=("crontab",))
def crontab_remove(command: SimpleCommand) -> str | None:
    if command.name == "crontab" and "r" in split_options(command.argv, valued="u")[0]:
        return "`crontab -r` deletes every scheduled job of the user, with no copy kept."
    return None
