"""Sensitive reads: credentials and keys brought into the agent's view.

Whatever a command prints lands in the model's context, and from there it can leak into a
commit, a log or a request. Reading SSH or GPG private keys, cloud and registry
credentials (AWS, Google Cloud, Azure, Kubernetes, Docker, npm, PyPI, ``.netrc``,
``.git-credentials``, rclone, Claude, Terraform, cargo...), mounted service-account tokens
(``/var/run/secrets``), another process's environment, the system's password hashes,
browser profiles (``cookies.sqlite``, ``Login Data``, ``key4.db``) or keychains is asked,
whether a shell tool or an interpreter's inline code (``python -c "open('~/.aws/...')"``)
reads them; so are commands whose whole job is to print a token or a stored secret (``gh
auth token``, ``aws secretsmanager get-secret-value``, ``vault kv get``), the cloud
metadata service, and the environment saved, filtered for secrets or encoded. Hunting for
keys across the home directory or the whole disk is denied. Using a key is not reading
it: ``ssh -i ~/.ssh/id_ed25519``, ``curl --cert c.pem --key c.key``, ``kubectl``, ``aws``
and ``git`` stay quiet, as do listings (``ls ~/.ssh``, ``find ~ -name 'id_*'`` without
``-exec``), public keys (``*.pub``), secrets' names (``kubectl get secrets``, ``kubectl
describe secret``, which shows sizes only), ``gh auth status``, ``printenv PATH``, ``env |
grep -i '^python'`` (a look at named variables) and ``mv``/``cp`` of an ``.env`` file.

- RF-READ-001 (HIGH): a command reads keys or credentials (list above), or inline
  interpreter code opens one.
- RF-READ-002 (MEDIUM): a command reads an ``.env`` file, shell history or a private key
  file (``*.pem``, ``*.key``) in the workspace, or inline code opens and reads one.
- RF-READ-003 (HIGH): a command prints a token or a stored secret (``gh auth token``, ``gh
  auth status --show-token``, ``gcloud auth print-access-token``, ``aws configure
  export-credentials``, ``kubectl config view --raw``, ``kubectl get secret -o yaml``,
  ``security find-generic-password -w``, ``secret-tool lookup``/``search``, ``git
  credential fill``, ``gpg --export-secret-keys``, secret managers: ``aws secretsmanager
  get-secret-value``, ``aws ssm get-parameter --with-decryption``, ``gcloud secrets versions
  access``, ``az keyvault secret show``, ``vault kv get``, ``op read``, ``doppler
  secrets``, ``pass show``, ``bw get``, ``sops -d``...).
- RF-READ-004 (LOW, a note): ``env``/``printenv`` prints every environment variable,
  secrets included.
- RF-READ-005 (CRITICAL): hunting for keys and credentials across the home directory or
  the whole disk (``find ~ -name 'id_*' -exec cat {} +``, ``grep -r 'PRIVATE KEY' ~``,
  ``rg -i password /``).
- RF-READ-006 (HIGH): the whole environment filtered for secrets (``env | grep -i
  token``), saved to a file (``env > /tmp/e``) or copied to the clipboard.
- RF-READ-007 (CRITICAL): the whole environment encoded (``printenv | base64``): packed
  to be smuggled out.
- RF-READ-008 (HIGH): a request to a cloud metadata service (``169.254.169.254``,
  ``metadata.google.internal``, ``100.100.100.200``), which hands out the machine's
  credentials.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import LazyPattern, lazy
from ringfence.analysis.risk import Severity, parsed_rule, rule
from ringfence.analysis.risk._words import (
    DOWNLOADERS,
    INTERPRETERS,
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


@rule("RF-READ-001", Severity.HIGH, "Reads private keys or saved credentials into the agent's view.")
def credentials(command: SimpleCommand) -> str | None:
    name = command.name
    if name == "find":
        return _find_reads_secrets(command)
    if name in NOT_READING:
        return None
    for path in operand_paths(command):  # with no argv: `$(< ~/.ssh/id_rsa)`
        what = secret(path)
        if what is not None:
            return f"`{name}` reads {what}." if command.argv else f"It reads {what}."
    for path in code_paths(command):
        what = secret(path)
        if what is not None:
            return f"`{name}` runs code that opens {what}."
    for _, value in command.assignments:
        what = secret(normal(value))
        if what is not None:
            return f"It keeps the location of {what} in a variable."
    return None


def _find_reads_secrets(command: SimpleCommand) -> str | None:
    """``find ~/.ssh -type f -exec cat {} +``: find hands files of a credential folder to a
    command that reads them."""
    if _find_exec(command) is None:
        return None
    names = _find_names(command)
    for root in _find_roots(command):
        what = secret(root)
        if what is not None and names:  # find ~/.ssh -name '*.pub': which files, by name
            what = next((w for n in names if (w := secret(f"{root}/{n.rpartition('/')[2]}"))), None)
        if what is not None:
            return f"`find` hands {what} to a command that reads them."
    return None


# `mv` and `cp` of an .env file move or copy it; they do not put its text in the agent's view.
_NOT_READING_LESSER = NOT_READING | {"mv", "cp"}


@rule("RF-READ-002", Severity.MEDIUM, "Reads an .env file, shell history or a private key file.")
def lesser(command: SimpleCommand) -> str | None:
    if command.name in _NOT_READING_LESSER or not command.argv:
        return None
    for path in operand_paths(command):
        what = lesser_secret(path)
        if what is not None:
            return f"`{command.name}` reads {what}, which often holds secrets."
    if code_paths(command) and _CODE_READS.search(inline_code(command)):  # not load_dotenv('.env')
        for path in code_paths(command):
            what = lesser_secret(path)
            if what is not None:
                return f"`{command.name}` runs code that reads {what}, which often holds secrets."
    return None


_CODE_READS = lazy(r"open\(|read|\bcat\b|slurp|<F>|<\$|file_get_contents")


_TOKEN_PRINTERS: dict[str, LazyPattern] = {
    "gh": lazy(r"^auth (token\b|status\b.*(--show-token|\s-\w*t))"),
    "gcloud": lazy(r"\bprint-(access|identity)-token\b|^secrets versions access\b"),
    "aws": lazy(
        r"^(configure (export-credentials|get \S*(secret|token|key))|sts get-session-token|ecr get-login-password"
        r"|secretsmanager (get-secret-value|batch-get-secret-value)\b"
        r"|ssm get-parameters?(-by-path)?\b.*--with-decryption)"
    ),
    "az": lazy(r"^(account get-access-token|keyvault (secret|key|certificate) (show|download))\b"),
    "kubectl": lazy(
        r"^config view\b.*--raw"
        r"|^get (secrets?|[\w,]*,secrets?)\b.*(-o\s*=?\s*|--output[= ])(yaml|json|jsonpath|go-template)"
    ),
    "security": lazy(r"^(find-(generic|internet)-password\b.*-[wg]|dump-keychain)"),
    "secret-tool": lazy(r"^(lookup|search)\b"),
    "kwallet-query": lazy(r"(^|\s)(-r|--read-password)\b"),
    "git": lazy(r"^credential(-\w+)? (fill|get)\b"),
    "gpg": lazy(r"--export-secret-(sub)?keys"),
    "op": lazy(r"^(read|item get|inject)\b"),
    "pass": lazy(r"^(show\b|\S+$)"),
    "gopass": lazy(r"^(show|cat)\b"),
    "bw": lazy(r"^get\b"),
    "lpass": lazy(r"^show\b"),
    "vault": lazy(r"^(read|kv get)\b"),
    "doppler": lazy(r"^secrets(\s+(get|download)\b|\s*$|\s+-)"),
    "infisical": lazy(r"^(secrets(\s+get)?\b|export\b)"),
    "chamber": lazy(r"^(read|export)\b"),
    "sops": lazy(r"(^|\s)(-d|--decrypt|decrypt)\b"),
    "ansible-vault": lazy(r"^(view|decrypt)\b.*--output[= ]-|^view\b"),
    "heroku": lazy(r"^auth:token\b"),
    "npm": lazy(r"^token (list|create)\b"),
    "docker-credential-desktop": lazy(r"^get\b"),
    "docker-credential-pass": lazy(r"^get\b"),
    "docker-credential-secretservice": lazy(r"^get\b"),
    "docker-credential-osxkeychain": lazy(r"^get\b"),
}


@rule("RF-READ-003", Severity.HIGH, "Prints a token or a stored secret.", names=_TOKEN_PRINTERS)
def token_printers(command: SimpleCommand) -> str | None:
    pattern = _TOKEN_PRINTERS.get(command.name)
    if pattern is not None and pattern.search(" ".join(command.argv[1:])):
        return f"`{command.name}` prints a token or a stored secret into the agent's view."
    return None


@rule("RF-READ-004", Severity.LOW, "Prints every environment variable (a note).", names=("env", "printenv", "set"))
def environment(command: SimpleCommand) -> str | None:
    if len(command.argv) == 1 or (command.name == "env" and set(command.argv[1:]) <= {"-0", "--null"}):
        return f"`{command.name}` prints every environment variable, secrets included."
    return None


# --- hunting for secrets ---------------------------------------------------------------

# Roots a search for secrets should never sweep: the home directory, other users' homes, /.
_WIDE = frozenset({"~", "/", "/home", "/Users", "/root", "/private", "/mnt", "/media", "/Volumes", "~/*", "/home/*"})
# Names a search for credentials looks for (matched by -name patterns).
_SECRET_NAMES = (
    "id_rsa",
    "id_ed25519",
    "id_ecdsa",
    "id_dsa",
    "credentials",
    "credentials.json",
    "credentials.db",
    "access_tokens.db",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".pgpass",
    ".vault-token",
    "hosts.yml",
    "rclone.conf",
    "cookies.sqlite",
    "Cookies",
    "Login Data",
    "logins.json",
    "key4.db",
    "wallet.dat",
    "secrets.kdbx",
    "server.key",
    "server.pem",
    "cert.p12",
    ".env",
    ".env.production",
    ".bash_history",
    ".zsh_history",
    "shadow",
)
_SECRET_TEXT = lazy(
    r"PRIVATE KEY|BEGIN [A-Z ]*KEY|aws_secret_access_key|aws_access_key_id|(?-i:AKIA)|ghp_|gho_|github_pat|glpat-"
    r"|xox[abp]-|sk-|sk_live|_authToken|passw|secret|token|api[_-]?key|credential",
    re.IGNORECASE,
)
_GREP_VALUED = "efABCmdD"
_GREPS = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "ugrep"})
_RECURSIVE = frozenset({"rg", "ag", "ack"})


def _find_roots(command: SimpleCommand) -> list[str]:
    roots = []
    for arg in command.argv[1:]:
        if arg.startswith(("-", "(", "!", ")")):
            break
        if arg not in ("-H", "-L", "-P"):
            roots.append(normal(arg))
    return roots or ["."]


# Commands find may run on a key file without printing it: checksums, certificate dates.
_INSPECTORS = frozenset({"file", "md5sum", "sha1sum", "sha256sum", "shasum", "b2sum", "keytool", "certutil"})


def _find_exec(command: SimpleCommand) -> str | None:
    """The command ``find -exec``/``-execdir``/``-ok`` runs, if it reads files."""
    argv = command.argv
    for i, arg in enumerate(argv[:-2]):
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            name = argv[i + 1].rpartition("/")[2]
            if name in NOT_READING or name in _INSPECTORS or (name == "openssl" and argv[i + 2] in ("x509", "verify")):
                continue
            return name
    return None


def _find_names(command: SimpleCommand) -> list[str]:
    """The -name/-iname/-path/-regex patterns of ``find`` that select files (not -not ones)."""
    argv = command.argv
    found = []
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-name", "-iname", "-path", "-ipath", "-wholename", "-regex", "-iregex"):
            if i > 0 and argv[i - 1] in ("-not", "!"):
                continue
            found.append(argv[i + 1])
    return found


def _names_a_secret(pattern: str) -> bool:
    from fnmatch import fnmatch

    base = pattern.rpartition("/")[2] or pattern
    if base in ("*", "*.*", ".*"):
        return False
    if "/" in pattern and (secret(normal(pattern)) or secret("~/" + pattern.lstrip("*/"))):
        return True
    return any(fnmatch(name, base) for name in _SECRET_NAMES) or bool(_SECRET_TEXT.search(base))


def _hunts(command: SimpleCommand, parsed: ParsedCommand) -> str | None:
    name = command.name
    if name == "find":
        roots = _find_roots(command)
        if not any(root in _WIDE for root in roots):
            return None
        if not any(_names_a_secret(p) for p in _find_names(command)):
            return None
        if _find_exec(command) is not None or _output_read(command, parsed):
            return "It searches your home directory or the whole disk for keys and credentials and reads them."
        return None
    if name in _GREPS:
        options, operands = split_options(command.argv, valued=_GREP_VALUED)
        if name not in _RECURSIVE and not options & {"r", "R", "--recursive", "--dereference-recursive"}:
            return None
        patterns = [command.argv[i + 1] for i, a in enumerate(command.argv[:-1]) if a in ("-e", "--regexp")]
        if not patterns and operands:
            patterns, operands = operands[:1], operands[1:]
        if not any(normal(path) in _WIDE for path in operands):
            return None
        if any(_SECRET_TEXT.search(p) for p in patterns):
            return f"`{name}` searches your home directory or the whole disk for keys, tokens or passwords."
    return None


def _output_read(command: SimpleCommand, parsed: ParsedCommand) -> bool:
    """Whether what ``command`` prints goes to a command that reads the files it names
    (``| xargs cat``, ``$(find ...)`` in a loop that runs ``cat``)."""
    for other in parsed.commands:
        if other is command or other.name in NOT_READING or not other.argv:
            continue
        if command.pipeline == other.pipeline >= 0 and other.stage > command.stage and other.context == "xargs":
            return True
        if command.context in ("$()", "``") and other.context not in ("$()", "``"):
            return True
    return False


@parsed_rule("RF-READ-005", Severity.CRITICAL, "Hunts for keys and credentials across home or the whole disk.")
def hunting(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, command in enumerate(parsed.commands):
        if command.name == "find" or command.name in _GREPS:
            message = _hunts(command, parsed)
            if message is not None:
                yield index, message


# --- the environment -------------------------------------------------------------------

_SECRET_WORDS = lazy(r"token|secret|passw|pass\b|\bpass|cred|private|api.?key|_key|key\b|\bkey", re.IGNORECASE)
_FILTERS = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "awk", "gawk", "sed", "jq"})
_ENCODERS = frozenset(
    {"base64", "base32", "basenc", "xxd", "od", "hexdump", "uuencode", "gzip", "bzip2", "xz", "zstd", "openssl", "gpg"}
)
_CLIPBOARD = frozenset({"pbcopy", "xclip", "xsel", "wl-copy", "clip.exe"})
_QUIET = frozenset({"/dev/null", "/dev/stderr", "/dev/stdout", "/dev/tty"})


def _saved(command: SimpleCommand) -> bool:
    if command.name == "tee" and any(not a.startswith("-") for a in command.argv[1:]):
        return True
    return any(r.writes and (r.target or r.written) not in _QUIET for r in command.redirects)


def _environment_use(parsed: ParsedCommand) -> list[tuple[int, str, bool]]:
    """(index, message, encoded) for each dump of the environment that is filtered for
    secrets, saved, copied or encoded; both rules below ask."""
    cache = parsed.__dict__
    found: list[tuple[int, str, bool]] | None = cache.get("_environment_use")
    if found is None:
        found = cache["_environment_use"] = list(_find_environment_use(parsed))
    return found


def _find_environment_use(parsed: ParsedCommand) -> Iterator[tuple[int, str, bool]]:
    commands = parsed.commands
    for index, command in enumerate(commands):
        if not dumps_environment(command):
            continue
        if _saved(command):
            yield index, f"`{command.name}` saves every environment variable, secrets included, to a file.", False
            continue
        if command.pipeline < 0:
            continue
        for other in commands:
            if other.pipeline != command.pipeline or other.stage <= command.stage:
                continue
            name = other.name
            if name in _ENCODERS and not (name == "base64" and any(a in ("-d", "--decode") for a in other.argv)):
                yield (
                    index,
                    f"`{command.name}` output is encoded with `{name}`: the environment packed to be sent.",
                    True,
                )
                break
            if name in _FILTERS and any(_SECRET_WORDS.search(a) for a in other.argv[1:]):
                yield index, f"`{command.name}` output is searched for tokens, keys or passwords.", False
                break
            if name in _CLIPBOARD or _saved(other):
                yield index, f"`{command.name}` output, secrets included, is kept in a file or the clipboard.", False
                break


@parsed_rule("RF-READ-006", Severity.HIGH, "Searches the environment for secrets, or saves it.")
def environment_kept(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, message, encoded in _environment_use(parsed):
        if not encoded:
            yield index, message


@parsed_rule("RF-READ-007", Severity.CRITICAL, "Encodes the whole environment (base64, xxd...).")
def environment_encoded(parsed: ParsedCommand) -> Iterator[tuple[int, str]]:
    for index, message, encoded in _environment_use(parsed):
        if encoded:
            yield index, message


# --- cloud metadata --------------------------------------------------------------------

_METADATA = lazy(
    r"169\.254\.169\.254|169\.254\.170\.2|metadata\.google\.internal|100\.100\.100\.200|fd00:ec2::254"
    r"|\ba9fea9fe\b|\b2852039166\b|://metadata/|instance-data\b|metadata\.azure\.com",
    re.IGNORECASE,
)
_METADATA_HINTS = ("169.254", "metadata", "100.100.100.200", "fd00:ec2", "a9fe", "2852039166", "instance-data")
_NETWORK = (
    DOWNLOADERS
    | INTERPRETERS
    | {f"python3.{minor}" for minor in range(6, 15)}
    | {"nc", "ncat", "netcat", "socat", "telnet", "openssl", "Invoke-WebRequest", "iwr", "irm", "Invoke-RestMethod"}
)


@rule("RF-READ-008", Severity.HIGH, "Asks the cloud metadata service, which hands out credentials.", names=_NETWORK)
def metadata(command: SimpleCommand) -> str | None:
    code = inline_code(command)
    for word in (code,) if code else command.argv[1:]:
        if any(hint in word for hint in _METADATA_HINTS) and _METADATA.search(word):
            return f"`{command.name}` asks the cloud metadata service, which hands out this machine's credentials."
    return None
