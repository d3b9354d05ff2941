"""Redaction of what the audit log keeps of a command line.

The log records which command ran, never a secret typed on it: a URL's query and userinfo,
and the value of an assignment or option whose name says it holds a secret, are replaced
by ``***``. The redaction is deliberately broad: a person reading the log needs the shape
of the command, not its values.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import re

# Words that mark a name as holding a secret, compared with case, "-" and "_" ignored.
_SECRET_WORDS = ("token", "secret", "password", "passwd", "pwd", "apikey", "accesskey", "auth", "credential",
                 "cookie", "session")


def _secret_name(name: str) -> bool:
    folded = name.lower().replace("-", "").replace("_", "")
    return any(word in folded for word in _SECRET_WORDS)


def redact_arg(arg: str) -> str:
    """One argument with its secret-looking parts replaced."""
    if "=" not in arg and "://" not in arg:
        return arg  # the common case needs no regular expression (re costs start-up time)
    import re

    match = re.match(r"^(?P<name>-{0,2}[A-Za-z_][\w.-]*)=(?P<value>.+)$", arg, re.S)
    if match and _secret_name(match["name"]):
        return f"{match['name']}=***"
    return re.sub(
        r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]*@)?(?P<rest>[^?#\s]*)(?P<query>[?#]\S*)?",
        _redact_url,
        arg,
    )


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
        if arg.startswith("-") and "=" not in arg and _secret_name(arg):
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
