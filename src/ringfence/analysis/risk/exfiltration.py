"""Exfiltration: sending local files or data somewhere else.

Uploading a file with ``curl -T``/``-F @file``/``-d @file``, ``wget --post-file``,
``nc``/``ncat``/``socat`` or bash's ``/dev/tcp``, copying to another machine with
``scp``/``rsync``/``sftp``/``rclone``/cloud storage, piping data into ``ssh host``, pushing
to a new git remote, publishing a repository or a gist, serving files to the network,
opening a reverse tunnel, or packing data into DNS lookups. A secret (see
``sensitive_reads``) on its way out is denied, and so is an ``.env`` file, shell history or
a key file sent to a web service, a socket or a mail; so are the whole environment, the
workspace or home sent to another host, and home or ``/`` served to the network. Other
uploads are asked. Downloads, ordinary API calls with inline data (``curl -X POST -d '{"a":
1}' https://api...``), anything sent to ``localhost``, ``git push origin`` and local port
forwards (``ssh -L``) stay quiet. Serving the project on the default address
(``python3 -m http.server 8000``, ``npx serve``) is everyday development and stays quiet
too; binding it to every interface on purpose (``--bind 0.0.0.0``) is asked.

- RF-EXFIL-001 (MEDIUM): ``curl``/``wget``/``http`` uploads a local file.
- RF-EXFIL-002 (CRITICAL): a secret is sent over the network (a key or credential file as
  an upload, piped or redirected into a network tool or ``/dev/tcp``, read in a ``$( )``
  inside its arguments, archived then uploaded, spelled into DNS lookups, or opened by
  inline code that talks to the network); for uploads, sockets, mail, pastes and gists,
  an ``.env`` file, shell history or a key file counts as a secret.
- RF-EXFIL-003 (HIGH): raw network tools sending data (``nc host port``, ``ncat``,
  ``socat``, ``telnet``, ``websocat``, ``/dev/tcp`` and ``/dev/udp`` redirects).
- RF-EXFIL-004 (MEDIUM): copying files to another machine (``scp``/``rsync`` to
  ``host:``, ``sftp`` to a host, ``rclone``, ``aws s3 cp/sync``, ``gsutil cp``, ``gcloud
  storage cp``, ``az storage blob upload``, ``azcopy``), or piping data into ``ssh host``.
- RF-EXFIL-005 (HIGH): DNS lookups of names built at run time (``dig $(...).example.com``).
- RF-EXFIL-006 (MEDIUM): ``git push`` to a URL or to a remote added or repointed in the
  same command (``git remote add``/``set-url``), or ``git push --mirror``.
- RF-EXFIL-007 (CRITICAL): the whole environment (``env``, ``printenv``, ``process.env``,
  ``os.environ``), an archive of the workspace or home (``tar cz .``) or the repository's
  code (``git log -p``, ``git diff``, ``git bundle``) sent to another host.
- RF-EXFIL-008 (HIGH): ``curl``/``wget``/``http`` uploading what a pipe feeds them (``-d
  @-``, ``--data-binary @-``, ``-T -``, ``-F 'f=<-'``, ``--post-file=-``) or a file's text
  read in a ``$( )`` (``-d "$(cat f)"``), to a host other than ``localhost``.
- RF-EXFIL-009 (MEDIUM): publishing: ``gh repo create --public`` of the workspace, ``gh
  repo edit --visibility public``, ``gh gist create``, ``pastebinit``.
- RF-EXFIL-010 (CRITICAL): serving the home directory, ``/`` or a credential folder to the
  network (``python3 -m http.server -d ~``, ``php -S`` or ``busybox httpd`` after ``cd ~``,
  ``ngrok http file:///home/me``), or tunnelling this machine's SSH or remote-desktop
  port out (``ssh -R 2222:localhost:22``, ``ngrok tcp 22``).
- RF-EXFIL-011 (HIGH): opening this machine to others: a file server bound to every
  interface (``--bind 0.0.0.0``, ``php -S 0.0.0.0:8080``) or a reverse tunnel (``ssh -R``,
  ``ngrok``, ``cloudflared tunnel``, ``lt``/localtunnel, ``bore``, ``tailscale funnel``,
  ``code tunnel``).
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import (
    DOWNLOADERS,
    NOT_READING,
    code_paths,
    dumps_environment,
    inline_code,
    lesser_secret,
    normal,
    operand_paths,
    secret,
    split_options,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

_RAW = frozenset({"nc", "ncat", "netcat", "socat", "telnet", "openssl", "websocat", "wscat"})
_MAILERS = frozenset({"mail", "mailx", "sendmail", "mutt", "msmtp", "s-nail", "swaks"})
_PASTERS = frozenset({"pastebinit", "wgetpaste", "fpaste", "ix", "sprunge"})
# Tools that send to a web service, a socket or a mailbox: an .env file counts as a secret there.
_OUTBOUND = DOWNLOADERS | _RAW | _MAILERS | _PASTERS
_SENDERS = _OUTBOUND | frozenset({"scp", "rsync", "sftp", "rclone", "ssh", "aws", "gsutil", "azcopy", "gh"})
_DEV_NET = lazy(r"^/dev/(tcp|udp)/")


def _uploads(command: SimpleCommand) -> list[str]:
    """Local files ``command`` uploads (curl -T/-d @/-F =@, wget --post-file, http @)."""
    argv, name = command.argv, command.name
    files: list[str] = []
    for i, arg in enumerate(argv[1:], start=1):
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if name == "curl":
            if arg in ("-T", "--upload-file"):
                files.append(value)
            elif arg in ("-d", "--data", "--data-binary", "--data-urlencode", "--json", "-F", "--form"):
                files += _at_files(value)
            elif arg.startswith(("--data", "--json", "--form", "--upload-file=")):
                files += _at_files(arg.partition("=")[2]) if "=" in arg else []
            elif arg.startswith(("-d@", "-F")) and len(arg) > 2:
                files += _at_files(arg[2:])
        elif name == "wget" and arg.startswith(("--post-file", "--body-file")):
            files.append(arg.partition("=")[2] if "=" in arg else value)
        elif name in ("http", "https", "xh") and re.match(r"^[\w-]+(==|:=|=)?@", arg):
            files.append(arg.partition("@")[2])
    files = [f for f in files if f and f not in _STDIN]
    if _stdin_upload(command):  # curl -d @- https://x < file
        files += [r.target for r in command.redirects if r.op == "<" and r.target]
    return files


def _at_files(value: str) -> list[str]:
    match = re.match(r"^(?:[\w.:\[\]-]+=)?[@<](.+)$", value)
    return [match.group(1).split(";")[0]] if match else []


_STDIN = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def _stdin_upload(command: SimpleCommand) -> bool:
    """``curl -d @-``/``--data-binary @-``/``-T -``/``-F 'f=<-'``, ``wget --post-file=-``,
    or httpie/xh fed by a pipe: it uploads whatever arrives on its stdin."""
    argv, name = command.argv, command.name
    if name in ("http", "https", "xh"):
        return command.stage > 0 and not any(a in ("--ignore-stdin", "-I") for a in argv)
    for i, arg in enumerate(argv[1:], start=1):
        value = argv[i + 1] if i + 1 < len(argv) else ""
        if name == "curl":
            if arg in ("-T", "--upload-file"):
                if value in _STDIN or value == ".":
                    return True
            elif arg in ("-d", "--data", "--data-binary", "--data-urlencode", "--json", "-F", "--form"):
                if _stdin_value(value):
                    return True
            elif arg.startswith(("-d@", "-F", "--data", "--json", "--form")) and _stdin_value(
                arg.partition("=")[2] if arg.startswith("--") else arg[2:]
            ):
                return True
        elif name == "wget" and arg.startswith(("--post-file", "--body-file")):
            return (arg.partition("=")[2] if "=" in arg else value) in _STDIN
    return False


def _stdin_value(value: str) -> bool:
    if value[:1] in ("@", "<") and value[1:] in _STDIN:
        return True
    return value.endswith(("=@-", "=<-", "=@/dev/stdin", "=</dev/stdin")) or value.endswith("@-") and "=" not in value


_LOCAL = lazy(r"^(?:\w+://)?(?:[^@/\s]*@)?(?:localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1|0\.0\.0\.0)(?::\d+)?(?:/|$)")


def _local_only(command: SimpleCommand) -> bool:
    """Every address ``command`` names is this machine (``http://localhost:8000/api``)."""
    targets = [a for a in command.argv[1:] if "://" in a[:12] or a.startswith(("localhost", "127.", "[::1]"))]
    return bool(targets) and all(_LOCAL.match(t) for t in targets)


def _outbound(command: SimpleCommand) -> bool:
    """It sends to a web service, a socket, a mailbox or a paste site (not scp or ssh)."""
    name = command.name
    if name == "gh":
        return _gist(command)
    if name == "openssl":
        return len(command.argv) > 1 and command.argv[1] == "s_client"
    return name in _OUTBOUND


def _gist(command: SimpleCommand) -> bool:
    argv = command.argv
    return len(argv) > 2 and argv[1] == "gist" and argv[2] in ("create", "new", "edit")


def _consumes(command: SimpleCommand) -> bool:
    """It sends what arrives on its stdin (or, run by xargs, the files it is handed)."""
    name = command.name
    if name in DOWNLOADERS:
        if command.context == "xargs" and any("{}" in f for f in _uploads(command)):
            return True
        return _stdin_upload(command)
    if name in ("ssh", "autossh"):
        options = split_options(command.argv, valued="BbcDEeFIiJLlmOopQRSWw")[0]
        return not options & {"n", "f"}
    if name == "gh":
        return _gist(command) and ("-" in command.argv or len(command.argv) <= 3)
    return name in _RAW or name in _MAILERS or name in _PASTERS


def _dev_net(command: SimpleCommand, sockets: frozenset[str] = frozenset()) -> bool:
    """It writes to ``/dev/tcp/...`` (or to a descriptor ``exec 3<>/dev/tcp/...`` opened)."""
    for r in command.redirects:
        if r.writes and _DEV_NET.match(r.target or r.written or ""):
            return True
        if sockets and r.op.endswith(">&") and r.target in sockets:
            return True
    return False


def _sockets(parsed: ParsedCommand) -> frozenset[str]:
    """File descriptors opened on ``/dev/tcp`` or ``/dev/udp`` (``exec 3<>/dev/tcp/h/80``)."""
    return frozenset(
        r.op.rstrip("<>&") or "0"
        for c in parsed.commands
        if c.name == "exec"
        for r in c.redirects
        if _DEV_NET.match(r.target or r.written or "")
    )


def _inside(inner: SimpleCommand, outer: SimpleCommand) -> bool:
    """Whether ``inner``'s text appears inside one of ``outer``'s words (its $( ) source)."""
    return bool(inner.text) and any(inner.text in word for word in outer.argv[1:])


def _feeders(command: SimpleCommand, parsed: ParsedCommand) -> Iterator[tuple[SimpleCommand, bool]]:
    """Commands whose output ``command`` gets: earlier stages of its pipeline (piped=True),
    and ``$( )``/``<( )`` inside its words (piped=False)."""
    for other in parsed.commands:
        if other is command:
            continue
        if other.pipeline == command.pipeline >= 0 and other.stage < command.stage:
            yield other, True
        elif other.context in ("$()", "``", "<()") and _inside(other, command):
            yield other, False


def _read_secret(command: SimpleCommand, lesser: bool) -> str | None:
    """What secret ``command`` reads (its operands, ``<`` sources, inline code's paths)."""
    if command.name in NOT_READING:
        return None
    for path in (*operand_paths(command), *code_paths(command)):
        what = secret(path) or (lesser_secret(path) if lesser else None)
        if what is not None:
            return what
    return None


@rule("RF-EXFIL-001", Severity.MEDIUM, "Uploads a local file with curl, wget or httpie.", names=DOWNLOADERS)
def upload(command: SimpleCommand) -> str | None:
    if _uploads(command) and not _local_only(command):
        return f"`{command.name}` uploads a local file to a server."
    return None


@parsed_rule("RF-EXFIL-002", Severity.CRITICAL, "Sends a key or credential over the network.")
def secret_out(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    commands = parsed.commands
    products: dict[str, tuple[str, bool]] | None = None
    sockets = _sockets(parsed) if any(c.name == "exec" for c in commands) else frozenset()
    for index, command in enumerate(commands):
        name = command.name
        what: str | None = None
        if name in _SENDERS:
            what = _secret_sent(command, parsed)
            if what is None and name in DOWNLOADERS and _uploads(command):
                if products is None:
                    products = _archives(parsed)
                what = next(
                    (products[p][0] for p in map(normal, _uploads(command)) if products.get(p, ("", False))[1]),
                    None,
                )
        elif command.redirects and _dev_net(command, sockets):
            what = _read_secret(command, lesser=True)
        elif name in _DNS_TOOLS or name == "ping":
            if dns_tunnel(command) is not None:
                what = next((w for c in commands if c is not command and (w := _read_secret(c, lesser=True))), None)
        elif inline_code(command) and _CODE_NETWORK.search(inline_code(command)):
            what = next((w for p in code_paths(command) if (w := secret(p))), None)
        if what is not None:
            yield index, f"`{name}` would send {what} to another machine."


def _secret_sent(command: SimpleCommand, parsed: ParsedCommand) -> str | None:
    outbound = _outbound(command)
    if command.name == "gh" and not outbound:
        return None
    sent = [*_uploads(command), *operand_paths(command)]
    for path in sent:
        what = secret(path)
        if what is not None:
            return what
    if outbound:  # an .env file, history or a key file, uploaded, redirected in or published
        published = operand_paths(command) if command.name == "gh" or command.name in _PASTERS else []
        redirected = [normal(r.target) for r in command.redirects if r.op == "<" and r.target]
        for path in (*map(normal, _uploads(command)), *redirected, *published):
            what = lesser_secret(path) or (_credential_folder(path) if published else None)
            if what is not None:
                return what
    for other, piped in _feeders(command, parsed):
        if other.name == "find" and command.context == "xargs":  # find -name '*.pem' | xargs curl -F f=@{}
            what = _found_secret(other, lesser=outbound)
        else:
            what = _read_secret(other, lesser=outbound and (not piped or _consumes(command)))
        if what is not None:
            return what
    return None


def _found_secret(command: SimpleCommand, lesser: bool) -> str | None:
    """What secret ``find`` looks for by name (``-name '*.pem'``, ``-path '*/.ssh/*'``)."""
    argv = command.argv
    for i, arg in enumerate(argv[1:-1], start=1):
        if arg in ("-name", "-iname", "-path", "-ipath", "-wholename") and argv[i - 1] not in ("-not", "!"):
            path = normal(argv[i + 1])
            what = secret(path) or (lesser_secret(path) if lesser else None)
            if what is not None:
                return what
    return None


_CREDENTIAL_FOLDER = lazy(r"(?:^|/)\.(?:ssh|aws|gnupg|kube|docker|azure|config/gcloud)/")


def _credential_folder(path: str) -> str | None:
    return "a file from your credential folders" if _CREDENTIAL_FOLDER.search(path) else None


_ARCHIVERS = frozenset({"tar", "bsdtar", "gtar", "zip", "7z", "7za", "rar"})


def _archives(parsed: ParsedCommand) -> dict[str, tuple[str, bool]]:
    """Archives written in this command, by path, with what they hold if it matters and
    whether that is a secret: ``zip -r /tmp/a.zip ~/.ssh`` -> {"/tmp/a.zip": ("your SSH
    private keys", True)}; ``git bundle create /tmp/r --all`` -> a copy of the workspace."""
    found: dict[str, tuple[str, bool]] = {}
    for command in parsed.commands:
        output, inputs = _archive_io(command)
        if output is None:
            continue
        for path in inputs:
            what = secret(path)
            if what is not None:
                found[output] = (what, True)
                break
            what = _whole(path)
            if what is not None:
                found.setdefault(output, (what, False))
    return found


def _archive_io(command: SimpleCommand) -> tuple[str | None, list[str]]:
    """(the archive ``command`` writes, the paths it packs): tar -czf OUT IN..., zip OUT IN...,
    git bundle create OUT, git archive -o OUT."""
    name, argv = command.name, command.argv
    if name == "git" and len(argv) > 3 and argv[1] == "bundle" and argv[2] == "create":
        return normal(argv[3]), ["."]
    if name == "git" and len(argv) > 2 and argv[1] == "archive":
        out = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-o", "--output")), None)
        return (normal(out), ["."]) if out else (None, [])
    if name not in _ARCHIVERS or len(argv) < 3:
        return None, []
    if name in ("tar", "bsdtar", "gtar"):
        first = argv[1].lstrip("-")
        if "c" not in first and "--create" not in argv and "-c" not in argv:
            return None, []
        out = next(
            (
                argv[i + 1]
                for i, a in enumerate(argv[:-1])
                if a in ("-f", "--file") or (i == 1 and not a.startswith("--") and "f" in a)
            ),
            None,
        )
        inputs = [
            a for i, a in enumerate(argv[2:], start=2) if not a.startswith("-") and a != out and argv[i - 1] != "-C"
        ]
        return (normal(out), [normal(a) for a in inputs]) if out and out != "-" else (None, [])
    operands = split_options(argv, valued="PbntxiOZs")[1]
    if name in ("7z", "7za", "rar"):
        operands = operands[1:]  # the verb: a
    if len(operands) >= 2:
        return normal(operands[0]), [normal(a) for a in operands[1:]]
    return None, []


# --- the environment, the workspace, home ----------------------------------------------


def _whole(path: str) -> str | None:
    """What an archive of ``path`` (normalised) copies, if it is all of something."""
    if path in ("~", "/home", "/Users", "/root"):
        return "your home directory"
    if path == "/":
        return "the whole disk"
    if path in (".", "*", "$PWD", "${PWD}", "$(pwd)"):
        return "a copy of the workspace"
    return None


def _dump(command: SimpleCommand) -> str | None:
    """What bulk data ``command`` prints: the environment, an archive of the workspace or
    home, the repository's code and history."""
    name, argv = command.name, command.argv
    if dumps_environment(command):
        return "the whole environment"
    if name in _ARCHIVERS or name in ("cpio", "pax"):
        if name in ("tar", "bsdtar", "gtar") and not ("c" in argv[1].lstrip("-") if len(argv) > 1 else False):
            return None
        for arg in argv[1:]:
            what = _whole(normal(arg)) if not arg.startswith("-") else None
            if what is not None:
                return what
        return None
    if name == "git" and len(argv) > 1:
        verb = argv[1]
        if verb in ("bundle", "archive", "format-patch", "diff", "show") or (
            verb == "log" and any(a in ("-p", "--patch", "-u") for a in argv[2:])
        ):
            return "the repository's code and history"
    return None


_CODE_NETWORK = lazy(
    r"\bfetch\(|https?\.(?:request|get)\b|require\(['\"](?:https?|net|dgram|tls)['\"]\)|urllib|urlopen|requests\."
    r"|http\.client|httplib|httpx|aiohttp|\bsocket\b"
    r"|IO::Socket|LWP|HTTP::Tiny|Net::HTTP|Net::SMTP|smtplib|ftplib|curl_exec|curl_init|fsockopen"
    r"|stream_socket_client|axios|XMLHttpRequest|WebSocket|net\.connect|createConnection|dgram|TCPSocket"
    r"|open-uri|URI\.open|Invoke-WebRequest|Invoke-RestMethod|WebClient"
)
_CODE_ENV = lazy(
    r"process\.env(?![\w.\[])|os\.environ(?![\w\[]|\.get\b|\.setdefault\b|\.pop\b)|%ENV\b"
    r"|\bENV\.(?:to_h|to_a|inspect|each|map)"
    r"|getenv\(\s*\)|\$_ENV\b|\$_SERVER\b|Deno\.env\.toObject|os\.getenv\(\s*\)"
)


@parsed_rule("RF-EXFIL-007", Severity.CRITICAL, "Sends the whole environment, the workspace or home to another host.")
def bulk_out(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    products: dict[str, tuple[str, bool]] | None = None
    for index, command in enumerate(parsed.commands):
        name = command.name
        if name not in _SENDERS:
            code = inline_code(command)
            if code and _CODE_NETWORK.search(code) and _CODE_ENV.search(code):
                yield index, f"`{name}` runs code that sends the whole environment to another machine."
            continue
        if not (_outbound(command) or name in ("ssh", "autossh")):
            continue
        if _local_only(command):
            continue
        what = None
        for other, piped in _feeders(command, parsed):
            if piped and not _consumes(command):
                continue
            what = _dump(other)
            if what is not None and (name not in ("ssh", "autossh") or what == "the whole environment"):
                break
            what = None
        if what is None and name in DOWNLOADERS and _uploads(command):
            if products is None:
                products = _archives(parsed)
            what = next(
                (products[p][0] for p in map(normal, _uploads(command)) if p in products and not products[p][1]), None
            )
        if what is not None:
            yield index, f"`{name}` would send {what} to another machine."


# curl/wget options whose value is not data sent (a header, a login, an output file, a certificate).
_HEADER_OPTIONS = frozenset(
    {
        "-H",
        "--header",
        "-u",
        "--user",
        "-o",
        "--output",
        "-O",
        "--output-document",
        "-A",
        "--user-agent",
        "-e",
        "--referer",
        "-b",
        "--cookie",
        "-c",
        "--cookie-jar",
        "--oauth2-bearer",
        "-x",
        "--proxy",
        "-w",
        "--write-out",
        "-K",
        "--config",
        "-E",
        "--cert",
        "--key",
        "--cacert",
    }
)
# Commands whose output is a file's text (a read the upload then carries).
_READERS = frozenset(
    {
        "cat",
        "head",
        "tail",
        "tac",
        "base64",
        "base32",
        "xxd",
        "od",
        "hexdump",
        "strings",
        "gzip",
        "bzip2",
        "xz",
        "zstd",
        "tar",
        "zip",
        "sed",
        "awk",
        "jq",
        "yq",
        "grep",
        "sort",
        "less",
        "more",
        "nl",
        "cut",
        "history",
        "sqlite3",
        "pg_dump",
        "mysqldump",
        "find",
        "ls",
        "tree",
        "ps",
        "dmesg",
        "journalctl",
    }
)


def _literal_feed(command: SimpleCommand, parsed: ParsedCommand) -> bool:
    """Every command piped into ``command`` writes text spelled out in the command itself
    (``echo '{"a": 1}' | http POST ...``, a heredoc): an API call, not local data."""
    feeders = [other for other, piped in _feeders(command, parsed) if piped]
    return bool(feeders) and all(
        (other.name in ("echo", "printf") and not any("$" in a or "`" in a for a in other.argv))
        or (other.name == "cat" and len(other.argv) == 1)
        for other in feeders
    )


@parsed_rule("RF-EXFIL-008", Severity.HIGH, "Uploads what a pipe or a $( ) feeds curl, wget or httpie.")
def piped_upload(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        if command.name not in DOWNLOADERS or _local_only(command):
            continue
        if command.stage > 0 and _stdin_upload(command):
            if not _literal_feed(command, parsed):
                yield index, f"`{command.name}` uploads what the commands before it print."
            continue
        argv = command.argv
        words = [
            w for i, w in enumerate(argv[1:], start=1) if ("$(" in w or "`" in w) and argv[i - 1] not in _HEADER_OPTIONS
        ]
        if not words:
            continue
        for other, piped in _feeders(command, parsed):
            if not piped and other.name in _READERS and any(other.text in w for w in words):
                yield index, f"`{command.name}` sends the output of `{other.name}` to a server."
                break


# --- raw sockets, copies, DNS ----------------------------------------------------------


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
    websocket = any(a.startswith(("ws://", "wss://")) for a in command.argv[1:])
    if name in ("websocat", "wscat") and websocket and not _local_only(command):
        return f"`{name}` opens a websocket to another machine that can carry any data."
    return None


_REMOTE = lazy(r"^(?:[\w.-]+@)?[\w.-]+:(?!//)|^(?:s3|gs|az|r2|b2|sftp|rsync)://")
# Tools whose copy subcommand comes first (rclone copy SRC DST, aws s3 cp SRC DST).
_SUBCOMMANDS = {
    "rclone": ("copy", "copyto", "sync", "move", "moveto"),
    "gsutil": ("cp", "rsync", "mv"),
    "aws": ("cp", "sync", "mv"),
    "azcopy": ("copy", "cp", "sync"),
    "gcloud": ("cp", "rsync", "mv"),
    "s3cmd": ("put", "sync", "cp", "mv"),
}
_SFTP_VALUED = "BbcDFiJloPRSs"


@rule(
    "RF-EXFIL-004",
    Severity.MEDIUM,
    "Copies files to another machine (scp, rsync, sftp, rclone, cloud storage, a pipe into ssh).",
    names=("scp", "rsync", "sftp", "rclone", "gsutil", "aws", "azcopy", "gcloud", "s3cmd", "az", "ssh", "autossh"),
)
def copy_out(command: SimpleCommand) -> str | None:
    name = command.name
    if name in ("ssh", "autossh"):
        return _into_ssh(command)
    if name == "sftp":
        return _sftp(command)
    if name == "az":
        words = [a for a in command.argv[1:5] if not a.startswith("-")]
        if words[:2] == ["storage", "blob"] and len(words) > 2 and words[2] in ("upload", "upload-batch", "sync"):
            return "`az storage blob` uploads local files to cloud storage."
        return None
    if name == "gcloud" and command.argv[1:2] != ("storage",):
        return None
    operands = [a for a in command.argv[1:] if not a.startswith("-")]
    if name in _SUBCOMMANDS:
        verbs = [i for i, a in enumerate(operands) if a in _SUBCOMMANDS[name]]
        if not verbs:
            return None
        operands = operands[verbs[0] + 1 :]
        pair = operands[:2]  # SRC DST come first; option values (--acl public-read) may follow
    else:
        pair = [operands[0], operands[-1]] if operands else []
    if len(pair) == 2 and _REMOTE.match(pair[1]) and not _REMOTE.match(pair[0]):
        return f"`{name}` copies local files to another machine."
    return None


def _sftp(command: SimpleCommand) -> str | None:
    operands = split_options(command.argv, valued=_SFTP_VALUED)[1]
    operands = [a for a in operands if not a.startswith("<(")]
    if not operands:
        return None
    if len(operands) >= 2 and ":" in operands[0]:
        return None  # sftp host:/remote/file ./local: a download
    return "`sftp` opens a file transfer session to another machine."


def _into_ssh(command: SimpleCommand) -> str | None:
    if command.stage > 0 and _consumes(command):
        return f"`{command.name}` carries what the commands before it print to another machine."
    if any(r.op == "<" and r.target and r.target not in _STDIN for r in command.redirects):
        return f"`{command.name}` carries a local file to another machine."
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
    if command.name == "ping" and any("$" in a for a in command.argv[1:]):
        return "`ping` carries data built at run time in its packets, a way to smuggle data out."
    return None


# --- git and GitHub --------------------------------------------------------------------


@parsed_rule(
    "RF-EXFIL-006",
    Severity.MEDIUM,
    "git push to a URL, to a remote added or repointed in the same command, or --mirror.",
)
def git_push(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    added: set[str] = set()
    for index, command in enumerate(parsed.commands):
        if command.name != "git":
            continue
        words = [a for a in command.argv[1:] if not a.startswith("-")]
        if words[:2] in (["remote", "add"], ["remote", "set-url"]) and len(words) >= 3:
            added.add(words[2])
        elif words[:1] == ["push"]:
            target = words[1] if len(words) > 1 else ""
            if "://" in target or re.match(r"^[\w.-]+@[\w.-]+:", target) or target in added:
                yield index, "`git push` sends the repository to a remote that is not already configured."
            elif "--mirror" in command.argv:
                yield index, "`git push --mirror` copies every branch and tag of the repository to a remote."


@rule(
    "RF-EXFIL-009",
    Severity.MEDIUM,
    "Publishes the workspace or files (gh repo create --public, gh gist create, pastebinit).",
    names=("gh", *_PASTERS),
)
def publish(command: SimpleCommand) -> str | None:
    argv = command.argv
    if command.name in _PASTERS:
        return f"`{command.name}` posts text to a public paste service."
    words = [a for a in argv[1:4] if not a.startswith("-")]
    if _gist(command):
        return "`gh gist` uploads files to a GitHub gist, readable by anyone with its link."
    from_here = any(a.startswith(("--source", "--push", "-s")) for a in argv)
    if words[:2] == ["repo", "create"] and "--public" in argv and from_here:
        return "`gh repo create --public` publishes this repository for anyone to read."
    if words[:2] == ["repo", "edit"] and any(a in ("--visibility=public", "public") for a in argv):
        return "`gh repo edit` makes a repository public."
    return None


# --- serving files and tunnels ---------------------------------------------------------

_SERVE_PACKAGES = frozenset({"serve", "http-server", "live-server", "miniserve", "darkhttpd", "static-server", "updog"})
_RUNNERS = frozenset({"npx", "bunx", "pnpx"})
_ALL_INTERFACES = frozenset({"0.0.0.0", "::", "[::]", "*", "", "0"})
_LOOPBACK = lazy(r"^(?:localhost|127\.\d+\.\d+\.\d+|\[?::1\]?)$")
_WIDE_DIRS = frozenset({"~", "/", "/home", "/Users", "/root", "/etc", "/var", "/mnt", "/media", "/Volumes"})
# Ports for logging in to this machine: a tunnel to them is a back door.
_LOGIN_PORTS = frozenset({"22", "3389", "5900"})


def _value(argv: tuple[str, ...], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        for option in names:
            if arg == option:
                return argv[i + 1] if i + 1 < len(argv) else None
            if option.startswith("--") and arg.startswith(option + "="):
                return arg[len(option) + 1 :]
            if not option.startswith("--") and arg.startswith(option) and len(arg) > len(option) and len(option) == 2:
                return arg[2:]
    return None


def _host(address: str) -> str:
    """The host part of ``[tcp://]HOST:PORT`` ("" for ``:8080``; a bare port has none)."""
    address = address.partition("://")[2] or address
    if address.isdigit():
        return "-"  # a port alone: the tool's default address
    host, sep, _ = address.rpartition(":")
    return host if sep else address


def _server(command: SimpleCommand) -> tuple[str, str | None, str | None] | None:
    """(tool, the folder it serves or None for the working directory, the address it binds
    or None for the default) for a static file server."""
    name, argv = command.name, command.argv
    if name in ("python", "python2", "python3") or name.startswith("python3."):
        module = _value(argv, "-m")
        if module not in ("http.server", "SimpleHTTPServer"):
            return None
        return "python -m http.server", _value(argv, "--directory", "-d"), _value(argv, "--bind", "-b")
    if name == "php":
        address = _value(argv, "-S")
        return ("php -S", _value(argv, "-t"), _host(address)) if address else None
    if (name == "busybox" and argv[1:2] == ("httpd",)) or (name == "httpd" and "busybox" in command.wrappers):
        port = _value(argv, "-p")
        return "busybox httpd", _value(argv, "-h"), _host(port) if port and ":" in port else None
    if name == "ruby" and ("-run" in argv or "un" in argv) and "httpd" in argv:
        after = argv[argv.index("httpd") + 1 :]
        folder = next((a for a in after if not a.startswith("-")), None)
        return "ruby httpd", folder, _value(argv, "--bind-address", "-b")
    if name == "caddy" and "file-server" in argv:
        listen = _value(argv, "--listen", "-l")
        return "caddy file-server", _value(argv, "--root", "-r"), _host(listen) if listen else None
    if name in _RUNNERS:
        rest = [a for a in argv[1:] if not a.startswith("-")]
        if not rest or rest[0].partition("@")[0] not in _SERVE_PACKAGES:
            return None
        name, argv = rest[0].partition("@")[0], (rest[0], *argv[argv.index(rest[0]) + 1 :])
    if name in _SERVE_PACKAGES:
        operands = split_options(argv, valued="lpacCKPUeid", long_valued=frozenset({"--listen", "--port"}))[1]
        address = _value(argv, "-l", "--listen", "-a", "--address", "--host", "-i", "--interfaces", "--addr")
        folder = _value(argv, "-d", "--directory") if name == "updog" else (operands[0] if operands else None)
        return name, folder, _host(address) if address else None
    return None


def _cd_before(command: SimpleCommand, parsed: ParsedCommand) -> str | None:
    """Where an earlier ``cd``/``pushd`` in the same command left the working directory."""
    where = None
    for other in parsed.commands:
        if other is command:
            break
        if other.name in ("cd", "pushd") and other.context not in ("$()", "``"):
            operands = [a for a in other.argv[1:] if not a.startswith("-")]
            where = normal(operands[0]) if operands else "~"
    return where


def _wide(folder: str | None) -> str | None:
    if folder is None:
        return None
    folder = normal(folder.removeprefix("file://"))
    if folder in _WIDE_DIRS:
        return "your home directory" if folder in ("~", "/home", "/Users", "/root") else f"{folder}"
    return secret(folder)


def _tunnel(command: SimpleCommand) -> tuple[str, str | None] | None:
    """(what, the local port or URL it exposes) for a reverse tunnel."""
    name, argv = command.name, command.argv
    if name in _RUNNERS and len(argv) > 1 and argv[1] in ("localtunnel", "lt", "ngrok"):
        name, argv = argv[1], argv[1:]
    if name in ("ssh", "autossh"):
        specs = _ssh_values(argv, "R")
        forward = _value(argv, "-o")
        if forward and forward.lower().startswith("remoteforward"):
            specs.append(forward.replace("=", " ").split()[-1])
        if not specs:
            return None
        return "`ssh -R` opens a reverse tunnel", specs[0].rpartition(":")[2] if ":" in specs[0] else None
    if name == "ngrok":
        words = [a for a in argv[1:] if not a.startswith("-")]
        if words[:1] and words[0] in ("http", "tcp", "tls", "start", "tunnel"):
            return "`ngrok` publishes a local service on the internet", words[1] if len(words) > 1 else None
        return None
    if name == "cloudflared" and "tunnel" in argv and ("--url" in argv or "run" in argv or _value(argv, "--url")):
        return "`cloudflared tunnel` publishes a local service on the internet", _value(argv, "--url")
    if name in ("lt", "localtunnel") and (_value(argv, "--port", "-p") or len(argv) > 1):
        return "`lt` (localtunnel) publishes a local service on the internet", _value(argv, "--port", "-p")
    if name == "bore" and argv[1:2] == ("local",):
        return "`bore` publishes a local port on the internet", argv[2] if len(argv) > 2 else None
    if name == "tailscale" and argv[1:2] == ("funnel",) and not set(argv[2:3]) & {"status", "reset", "off"}:
        return "`tailscale funnel` publishes a local service on the internet", argv[2] if len(argv) > 2 else None
    if name in ("pagekite", "pagekite.py", "frpc") or (name == "zrok" and "public" in argv):
        return f"`{name}` publishes a local service on the internet", None
    if name == "chisel" and argv[1:2] == ("client",) and any(a.startswith("R:") for a in argv):
        return "`chisel` opens a reverse tunnel", None
    if name == "code" and argv[1:2] == ("tunnel",) and not set(argv[2:3]) & {"status", "kill", "prune", "user"}:
        return "`code tunnel` opens this machine to remote access", None
    return None


def _ssh_values(argv: tuple[str, ...], letter: str) -> list[str]:
    """The values of ``-R`` in ``ssh`` options, combined (``-fNR spec``) or not."""
    values: list[str] = []
    i = 1
    while i < len(argv):
        arg = argv[i]
        if not arg.startswith("-") or arg.startswith("--"):
            break  # the destination: what follows is the remote command
        for offset, char in enumerate(arg[1:], start=1):
            if char in "BbcDEeFIiJLlmMOopQRSWw":  # with a value (-M: autossh's monitor port)
                value = arg[offset + 1 :] or (argv[i + 1] if i + 1 < len(argv) else "")
                if not arg[offset + 1 :]:
                    i += 1
                if char == letter:
                    values.append(value)
                break
        i += 1
    return values


_TUNNELS = frozenset(
    {
        "ssh",
        "autossh",
        "ngrok",
        "cloudflared",
        "lt",
        "localtunnel",
        "bore",
        "tailscale",
        "pagekite",
        "pagekite.py",
        "frpc",
        "zrok",
        "chisel",
        "code",
        *_RUNNERS,
    }
)
_SERVERS = frozenset(
    {"python", "python2", "python3", "php", "busybox", "httpd", "ruby", "caddy", *_RUNNERS, *_SERVE_PACKAGES}
)


def _exposure(command: SimpleCommand, parsed: ParsedCommand) -> tuple[bool, str] | None:
    """(critical, message) for a file server or a tunnel."""
    name = command.name
    if name in _SERVERS or name.startswith("python3."):
        served = _server(command)
        if served is not None:
            tool, folder, bind = served
            if folder in (None, ".", "./"):
                folder = _cd_before(command, parsed) or folder
            what = _wide(folder)
            local = bind is not None and bool(_LOOPBACK.match(bind))
            if what is not None and not local:
                return True, f"`{tool}` serves {what} to the network."
            if what is not None:
                return False, f"`{tool}` serves {what} to every program and user of this machine."
            if bind in _ALL_INTERFACES:
                return False, f"`{tool}` serves files to every machine that can reach this one."
    if name in _TUNNELS:
        tunnel = _tunnel(command)
        if tunnel is not None:
            message, target = tunnel
            port = (target or "").rpartition(":")[2].strip("/")
            if port in _LOGIN_PORTS:
                return True, f"{message} to this machine's remote login (port {port})."
            if target and target.startswith("file://") and _wide(target):
                return True, f"{message} serving {_wide(target)}."
            return False, f"{message}."
    return None


def _exposures(parsed: ParsedCommand) -> list[tuple[int, bool, str]]:
    """(index, critical, message) for each file server or tunnel; both rules below ask."""
    cache = parsed.__dict__
    found: list[tuple[int, bool, str]] | None = cache.get("_exposures")
    if found is None:
        found = cache["_exposures"] = []
        for index, command in enumerate(parsed.commands):
            name = command.name
            if name in _SERVERS or name in _TUNNELS or name.startswith("python3."):
                exposure = _exposure(command, parsed)
                if exposure is not None:
                    found.append((index, *exposure))
    return found


@parsed_rule("RF-EXFIL-010", Severity.CRITICAL, "Serves home or / to the network, or tunnels its SSH port out.")
def serve_home(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    return ((index, message) for index, critical, message in _exposures(parsed) if critical)


@parsed_rule("RF-EXFIL-011", Severity.HIGH, "Opens this machine to others: a file server on every interface, a tunnel.")
def expose(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    return ((index, message) for index, critical, message in _exposures(parsed) if not critical)
