"""Redaction of what the audit log keeps of a command line.

The log records which command ran, never a secret typed on it: a URL's query and userinfo,
and the value of an assignment or option whose name says it holds a secret, are replaced
by ``***``. The redaction is deliberately broad: a person reading the log needs the shape
of the command, not its values.
"""

from __future__ import annotations

import re

_SECRET_NAME = re.compile(r"(?i)(token|secret|passw(or)?d|pwd|api[-_]?key|access[-_]?key|auth|credential|cookie|session)")
_URL = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]*@)?(?P<rest>[^?#\s]*)(?P<query>[?#]\S*)?")
_ASSIGNMENT = re.compile(r"^(?P<name>-{0,2}[A-Za-z_][\w.-]*)=(?P<value>.+)$", re.S)


def redact_arg(arg: str) -> str:
    """One argument with its secret-looking parts replaced."""
    match = _ASSIGNMENT.match(arg)
    if match and _SECRET_NAME.search(match["name"]):
        return f"{match['name']}=***"
    return _URL.sub(_redact_url, arg)


def _redact_url(match: re.Match[str]) -> str:
    userinfo = "***@" if match["userinfo"] else ""
    query = match["query"][0] + "***" if match["query"] else ""
    return f"{match['scheme']}{userinfo}{match['rest']}{query}"


def redact_command(argv: list[str]) -> str:
    """The command line as the audit log stores it: shell-quoted, secrets replaced.

    An argument that follows an option named like a secret (``--token X``, ``-H
    'Authorization: ...'``) is replaced whole.
    """
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("***")
            hide_next = False
            continue
        if arg.startswith("-") and "=" not in arg and _SECRET_NAME.search(arg):
            hide_next = True
        elif arg in ("-H", "--header", "-u", "--user", "--proxy-user", "-b", "--cookie"):
            hide_next = True
        out.append(redact_arg(arg))
    return " ".join(_quote(arg) for arg in out)


_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_")


def _quote(arg: str) -> str:
    """POSIX shell quoting, as ``shlex.quote`` (whose module costs start-up time)."""
    if arg and all(c in _SAFE for c in arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"
