"""Exfiltration: sending local files or data somewhere else.

Uploading a file with ``curl -T``/``-F @file``/``-d @file``, ``wget --post-file``,
``nc``/``ncat``/``socat`` or bash's ``/dev/tcp``, copying to another machine with
``scp``/``rsync``/``rclone``/cloud storage, pushing to a new git remote, or packing data
into DNS lookups. A secret (see ``sensitive_reads``) on its way out is denied; other
uploads are asked. Downloads and ordinary API calls with inline data
(``curl -X POST -d '{"a": 1}' https://api...``) stay quiet, as does ``git push origin``.

- RF-EXFIL-001 (MEDIUM): ``curl``/``wget``/``http`` uploads a local file.
- RF-EXFIL-002 (CRITICAL): a secret is sent over the network (a key or credential file as
  an upload, piped or redirected into a network tool, or read in a ``$( )`` inside its
  arguments).
- RF-EXFIL-003 (HIGH): raw network tools sending data (``nc host port``, ``ncat``,
  ``socat``, ``telnet``, ``/dev/tcp`` and ``/dev/udp`` redirects).
- RF-EXFIL-004 (MEDIUM): copying files to another machine (``scp``/``rsync``/``sftp`` to
  ``host:``, ``rclone``, ``aws s3 cp``, ``gsutil cp``, ``azcopy``).
- RF-EXFIL-005 (HIGH): DNS lookups of names built at run time (``dig $(...).example.com``).
- RF-EXFIL-006 (MEDIUM): ``git push`` to a URL or to a remote added in the same command.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import DOWNLOADERS, operand_paths, secret, split_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_RAW = frozenset({"nc", "ncat", "netcat", "socat", "telnet", "openssl"})
_SENDERS = DOWNLOADERS | _RAW | frozenset({"scp", "rsync", "sftp", "rclone", "ssh", "aws", "gsutil", "azcopy", "mail"})


def _uploads(command: SimpleCommand) -> list[str]:
    """Local files ``command`` uploads (curl -T/-d @/-F =@, wget --post-file, http @)."""
    argv, name = command.argv, command.name
    files: list[str] = []
    for i, arg in enumerate(argv[1:], start=1):
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if name == "curl":
            if arg in ("-T", "--upload-file"):
                files.append(value)
            elif arg in ("-d", "--data", "--data-binary", "--data-raw", "--data-urlencode", "--json", "-F", "--form"):
                files += _at_files(value)
            elif arg.startswith(("--data", "--json", "--form", "--upload-file=")):
                files += _at_files(arg.partition("=")[2]) if "=" in arg else []
            elif arg.startswith(("-d@", "-F")) and len(arg) > 2:
                files += _at_files(arg[2:])
        elif name == "wget" and arg.startswith(("--post-file", "--body-file")):
            files.append(arg.partition("=")[2] if "=" in arg else value)
        elif name in ("http", "https", "xh") and re.match(r"^[\w-]+(==|:=|=)?@", arg):
            files.append(arg.partition("@")[2])
    return [f for f in files if f and f != "-"]


def _at_files(value: str) -> list[str]:
    match = re.match(r"^(?:[\w.\[\]-]+=)?[@<](.+)$", value)
    return [match.group(1).split(";")[0]] if match else []


@rule("RF-EXFIL-001", Severity.MEDIUM, "Uploads a local file with curl, wget or httpie.")
def upload(command: SimpleCommand) -> str | None:
    if command.name not in DOWNLOADERS:
        return None
    if _uploads(command):
        return f"`{command.name}` uploads a local file to a server."
    return None


@parsed_rule("RF-EXFIL-002", Severity.CRITICAL, "Sends a key or credential over the network.")
def secret_out(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    commands = parsed.commands
    for index, command in enumerate(commands):
        if command.name not in _SENDERS:
            continue
        what = _secret_sent(command, index, parsed)
        if what is not None:
            yield index, f"`{command.name}` would send {what} to another machine."


def _sent_paths(command: SimpleCommand) -> list[str]:
    return [*_uploads(command), *operand_paths(command)]


def _secret_sent(command: SimpleCommand, index: int, parsed: ParsedCommand) -> str | None:
    for path in _sent_paths(command):
        what = secret(path)
        if what is not None:
            return what
    for other in parsed.commands:
        feeds = other.pipeline == command.pipeline >= 0 and other.stage < command.stage
        nested = other.context in ("$()", "``", "<()") and _inside(other, command)
        if (feeds or nested) and other is not command:
            for path in operand_paths(other):
                what = secret(path)
                if what is not None:
                    return what
    return None


def _inside(inner: SimpleCommand, outer: SimpleCommand) -> bool:
    """Whether ``inner``'s text appears inside one of ``outer``'s words (its $( ) source)."""
    return bool(inner.text) and any(inner.text in word for word in outer.argv[1:])


_DEV_NET = lazy(r"^/dev/(tcp|udp)/")


@rule("RF-EXFIL-003", Severity.HIGH, "Sends data with raw network tools (nc, ncat, socat, /dev/tcp).")
def raw_network(command: SimpleCommand) -> str | None:
    for redirect in command.redirects:
        if _DEV_NET.match(redirect.target or redirect.written or ""):
            return "It opens a raw network connection through /dev/tcp or /dev/udp."
    name = command.name
    if name in ("nc", "ncat", "netcat"):
        options, operands = split_options(command.argv, valued="pswiqWXxeco")
        if options & {"z", "l", "h", "--help", "--version"} or not operands:
            return None  # a port probe or a local listener, not sending
        return f"`{name}` opens a raw connection to another machine that can carry any data."
    if name == "socat" and any(
        re.match(r"^(tcp|udp|openssl|ssl)[46]?(-connect)?:", a, re.IGNORECASE) for a in command.argv[1:]
    ):
        return "`socat` opens a raw connection to another machine."
    if name == "telnet" and len(command.argv) > 1:
        return "`telnet` opens a raw connection to another machine."
    return None


_REMOTE = lazy(r"^(?:[\w.-]+@)?[\w.-]+:(?!//)|^(?:s3|gs|az|r2|b2|sftp|rsync)://")
# Tools whose copy subcommand comes first (rclone copy SRC DST, aws s3 cp SRC DST).
_SUBCOMMANDS = {
    "rclone": ("copy", "copyto", "sync", "move", "moveto"),
    "gsutil": ("cp", "rsync", "mv"),
    "aws": ("cp", "sync", "mv"),
    "azcopy": ("copy", "cp", "sync"),
}


@rule(
    "RF-EXFIL-004",
    Severity.MEDIUM,
    "Copies files to another machine (scp, rsync, rclone, cloud storage).",
    names=("scp", "rsync", "sftp", "rclone", "gsutil", "aws", "azcopy"),
)
def copy_out(command: SimpleCommand) -> str | None:
    name = command.name
    operands = [a for a in command.argv[1:] if not a.startswith("-")]
    if name in _SUBCOMMANDS:
        verbs = [i for i, a in enumerate(operands) if a in _SUBCOMMANDS[name]]
        if not verbs:
            return None
        operands = operands[verbs[0] + 1 :]
    if len(operands) >= 2 and _REMOTE.match(operands[-1]) and not _REMOTE.match(operands[0]):
        return f"`{name}` copies local files to another machine."
    return None


_DNS_TOOLS = frozenset({"dig", "nslookup", "host", "drill", "kdig", "resolvectl", "getent"})


@rule(
    "RF-EXFIL-005",
    Severity.HIGH,
    "DNS lookups of names built at run time (DNS tunnelling).",
    names=_DNS_TOOLS | {"ping"},
)
def dns_tunnel(command: SimpleCommand) -> str | None:
    for arg in command.argv[1:]:
        if ("$" in arg or "`" in arg) and "." in arg:
            return f"`{command.name}` looks up a name built at run time, a way to smuggle data out through DNS."
    return None


@parsed_rule("RF-EXFIL-006", Severity.MEDIUM, "git push to a URL or to a remote added in the same command.")
def git_push(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    added: set[str] = set()
    for index, command in enumerate(parsed.commands):
        if command.name != "git":
            continue
        words = [a for a in command.argv[1:] if not a.startswith("-")]
        if words[:2] == ["remote", "add"] and len(words) >= 3:
            added.add(words[2])
        elif words[:1] == ["push"]:
            target = words[1] if len(words) > 1 else ""
            if "://" in target or re.match(r"^[\w.-]+@[\w.-]+:", target) or target in added:
                yield index, "`git push` sends the repository to a remote that is not already configured."
