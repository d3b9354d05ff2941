"""Destructive file and disk operations: what cannot be undone.

Deleting ``/``, your home directory, the workspace or a system directory, writing over a
disk, formatting or wiping it, shredding files or stopping the machine. The ones with no
everyday use are denied; the ones that are sometimes right but costly when wrong are asked.
Ordinary clean-ups stay quiet: ``rm -rf node_modules build dist``, ``rm -rf ./tmp``,
``find . -name '*.pyc' -delete``, ``dd of=disk.img``.

- RF-DEST-001 (CRITICAL): ``rm -r`` of ``/``, ``/*``, your home, a top-level system
  directory, or ``rm --no-preserve-root``.
- RF-DEST-002 (HIGH): ``rm -r`` of the workspace or above it (``.``, ``..``, ``*``,
  ``$PWD``), of ``~/.ssh``, ``~/.gnupg``, ``~/.config``..., or ``rm`` in a system directory.
- RF-DEST-003 (MEDIUM): ``rm -r`` of a path only known at run time (``"$DIR"``, ``$(...)``):
  an empty variable turns ``rm -rf "$DIR"/`` into ``rm -rf /``.
- RF-DEST-004 (CRITICAL): writing to a disk device (``dd of=/dev/sda``, ``> /dev/nvme0n1``).
- RF-DEST-005 (CRITICAL): making or wiping a filesystem (``mkfs*``, ``wipefs``, ``blkdiscard``).
- RF-DEST-006 (HIGH): editing a partition table (``fdisk``, ``parted``, ``sgdisk``...).
- RF-DEST-007 (HIGH): ``shred`` of files; RF-DEST-008 (CRITICAL): ``shred`` of a disk.
- RF-DEST-009 (CRITICAL): ``find`` over ``/``, home or a system directory with ``-delete``
  or ``-exec rm``; RF-DEST-010 (HIGH): ``find ... -delete`` with no test at all.
- RF-DEST-011 (HIGH): truncating or overwriting a system file (``truncate``, ``: > /etc/x``,
  ``cp /dev/null /etc/x``), or writing kernel settings in /proc/sys or /sys.
- RF-DEST-012 (HIGH): recursive ``chmod``/``chown``, or ``mv``, of a critical path.
- RF-DEST-013 (HIGH): shutting the machine down or killing every process.
- RF-DEST-014 (CRITICAL): a fork bomb.
- RF-DEST-015 (CRITICAL): ``rm -r`` of ``.``, ``*`` or ``..`` after ``cd`` to ``/``, home or
  a system directory (``cd ~ && rm -rf *``).
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import SYSTEM_DIRS, normal, safe, split_options, system_path

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
    return target in _ROOTS or target in SYSTEM_DIRS or target.rstrip("*").rstrip("/") in SYSTEM_DIRS


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
        return "your home directory"
    if path.startswith("/*") or path == "/":
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


@rule("RF-DEST-003", Severity.MEDIUM, "rm -r of a path computed at run time ($VAR, $(...)).", names=("rm",))
def rm_computed(command: SimpleCommand) -> str | None:
    found = _rm_targets(command)
    if found is None or not found[0]:
        return None
    if any(("$" in t or "`" in t) and not _critical(t) for t in found[1]):
        return "`rm -r` of a path computed at run time: if it expands to nothing or to /, it deletes far more."
    return None


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


@parsed_rule("RF-DEST-013", Severity.HIGH, "Shuts the machine down, reboots it or kills every process.")
def stop_machine(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        name, argv = command.name, command.argv
        if name in ("shutdown", "reboot", "halt", "poweroff") or (name == "init" and argv[1:2] in (("0",), ("6",))):
            yield index, f"`{name}` stops or restarts the machine."
        elif name == "systemctl" and set(argv[1:]) & {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate"}:
            yield index, "`systemctl` stops or restarts the machine."
        elif name in ("kill", "pkill") and "-1" in argv[1:] and name == "kill":
            yield index, "`kill -1` sends the signal to every process you own."
        elif name == "killall5":
            yield index, "`killall5` kills every process."


@parsed_rule("RF-DEST-014", Severity.CRITICAL, "A fork bomb: a function that runs two copies of itself.")
def fork_bomb(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    if _FORK_BOMB.search(parsed.source):
        yield -1, "It defines a fork bomb, which exhausts the machine's processes."


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
