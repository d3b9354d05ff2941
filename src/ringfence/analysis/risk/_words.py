"""What the families share: reading options and paths, and words safe to put in a message."""

from __future__ import annotations

from itertools import pairwise

from ringfence.analysis._lazyre import LazyPattern, lazy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

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
_HOME = lazy(r"^(?:~|\$HOME|\$\{HOME\}|/root(?=/|$)|/home/[^/]+|/Users/[^/]+)(?=/|$)")
_HOME_STARTS = ("~", "$HOME", "${HOME}", "/root", "/home/", "/Users/")
_SLASHES = lazy(r"/+")
_DOTS = lazy(r"(?:/\.)+(?=/|$)")
_PYTHON = lazy(r"^python3(\.\d+)?$")
_TOKENISH = lazy(r"[A-Za-z0-9_\-]{24,}")
_SAFE = lazy(r"^[\w@./:+~=,-]{1,80}$")


def home(word: str) -> str:
    """``$HOME/x``, ``${HOME}/x``, ``/root/x``, ``/home/me/x`` -> ``~/x``; others unchanged."""
    return _HOME.sub("~", word, count=1)


def normal(path: str) -> str:
    """A path as rules compare it: home as ``~``, quotes gone, no ``//``, ``/./`` or trailing ``/``."""
    if '"' in path or "'" in path:
        path = path.replace('"', "").replace("'", "")
    if path.startswith(_HOME_STARTS):
        path = home(path)
    if "//" in path:
        path = _SLASHES.sub("/", path)
    if "/." in path and path not in ("/.", "."):
        path = _DOTS.sub("", path)
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
    if name in INTERPRETERS or _PYTHON.match(name):
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


# Commands that use, list or manage a file without printing what is in it.
NOT_READING = frozenset(
    {
        "ls",
        "stat",
        "test",
        "[",
        "[[",
        "du",
        "chmod",
        "chown",
        "chgrp",
        "mkdir",
        "touch",
        "rm",
        "ssh",
        "ssh-add",
        "ssh-keygen",
        "ssh-copy-id",
        "git",
        "cd",
        "realpath",
        "readlink",
        "dirname",
        "basename",
        "echo",
        "printf",
        "which",
        "export",
        "ln",
        "find",
        "tree",
        "wc",
        "aws",
        "gcloud",
        "az",
        "kubectl",
        "helm",
        "docker",
        "podman",
        "gpg",
        "npm",
        "pip",
        "twine",
        "cargo",
        "code",
        "vim",
        "vi",
        "nano",
        "emacs",
        "file",
        "shred",
        "source",
        ".",
        "unset",
        "local",
        "declare",
    }
)


# --- paths a command writes ------------------------------------------------------------

_DESTINATION_LAST = frozenset({"cp", "mv", "install", "ln", "rsync", "scp"})


def written_paths(command: SimpleCommand) -> list[str]:
    """Paths ``command`` writes (normalised): redirect targets, ``tee`` files, the destination
    of ``cp``/``mv``/``install``/``ln``, ``sed -i`` files, ``touch``, ``dd of=``, ``curl -o``."""
    cache = command.__dict__  # a dozen rules ask for each command: compute once
    found: list[str] | None = cache.get("_written")
    if found is None:
        found = cache["_written"] = _written_paths(command)
    return found


def _written_paths(command: SimpleCommand) -> list[str]:
    paths = [r.target or r.written for r in command.redirects if r.writes and (r.target or r.written)]
    name, argv = command.name, command.argv
    if name == "tee":
        paths += split_options(argv)[1]
    elif name in _DESTINATION_LAST:
        operands = split_options(argv, valued="tSmogb" if name == "install" else "t")[1]
        if len(operands) >= 2 or (name == "ln" and operands):
            paths.append(operands[-1])
        target = option_value(argv, "-t", "--target-directory")
        if target:
            paths.append(target)
    elif name in ("sed", "perl") and any(a.startswith(("-i", "-pi")) or a == "--in-place" for a in argv):
        operands = split_options(argv, valued="ef")[1]
        explicit = any(a in ("-e", "-f", "--expression", "--file") for a in argv)
        paths += operands if explicit else operands[1:]
    elif name in ("touch", "truncate"):
        paths += split_options(argv, valued="srdt")[1]
    elif name == "dd":
        paths += [a[3:] for a in argv if a.startswith("of=")]
    elif name in ("curl", "wget"):
        value = (
            option_value(argv, "-o", "--output", "-O", "--output-document")
            if name == "wget"
            else option_value(argv, "-o", "--output")
        )
        if value and value != "-":
            paths.append(value)
    return [normal(p) for p in paths if p]


# ssh-style tools log in with a key (-i) and read their config (-F): using, not sending;
# so do HTTP clients with a client certificate (curl --cert/--key).
_SSH_TOOLS = frozenset({"ssh", "scp", "sftp", "rsync", "autossh", "sshfs"})
_KEY_OPTIONS = frozenset({"-i", "--identity", "-F", "-o", "-e", "--rsh", "-S"})
_HTTP_TOOLS = frozenset({"curl", "wget", "http", "https", "xh", "openssl"})
_CERT_OPTIONS = frozenset(
    {
        "-E",
        "--cert",
        "--key",
        "--cacert",
        "--capath",
        "--proxy-cert",
        "--proxy-key",
        "--certificate",
        "--private-key",
        "-cert",
        "-key",
    }
)


_SUBSTITUTION = lazy(r"\$\([^()]*\)|`[^`]*`")


def _command_line(word: str) -> bool:
    """A word that reads like a whole command line (``-c 'ls -la ~/.ssh'``): an option after
    a space, outside ``$( )`` (``/proc/$(pgrep -n x)/environ`` is a path)."""
    if " -" not in word:
        return False
    if "$(" in word or "`" in word:
        word = _SUBSTITUTION.sub("", word)
    return " -" in word


def operand_paths(command: SimpleCommand) -> list[str]:
    """Words of ``command`` that could be paths it reads, normalised, and ``<`` sources (not
    a copy's destination, a key or certificate it logs in with, nor a word that looks like a
    whole command line). Computed once per command: read the list, do not change it."""
    cache = command.__dict__  # the secret rules of two families ask for each command: compute once
    found: list[str] | None = cache.get("_operands")
    if found is None:
        found = cache["_operands"] = _operand_paths(command)
    return found


def _operand_paths(command: SimpleCommand) -> list[str]:
    argv = command.argv
    name = command.name
    skip = _KEY_OPTIONS if name in _SSH_TOOLS else _CERT_OPTIONS if name in _HTTP_TOOLS else frozenset()
    words = [a for i, a in enumerate(argv[1:], start=1) if a and argv[i - 1] not in skip]
    if name in _DESTINATION_LAST and len(words) >= 2:
        words = words[:-1]
    words = [a for a in words if not _command_line(a)]
    paths = [normal(a.lstrip("@")) for a in words if not a.startswith("-")]
    for arg in words:  # --file=PATH, -F x=@PATH
        if "=" in arg and arg.partition("=")[0] not in skip:
            value = arg.partition("=")[2].lstrip("@")
            if value:
                paths.append(normal(value))
    paths += [
        normal(r.target or r.written) for r in command.redirects if r.op.endswith("<") and (r.target or r.written)
    ]
    return paths


# --- secrets on disk -------------------------------------------------------------------

_PRIVATE = lazy(r"(?:^|/)\.ssh(?:/?$|/(?!.*\.pub$|known_hosts|config$|authorized_keys)[^/]+$)")
_SECRETS: tuple[tuple[LazyPattern, str], ...] = (
    (_PRIVATE, "your SSH private keys"),
    (lazy(r"(?:^|/)\.aws(?:/?$|/(?:credentials|config|sso/cache)(?:/|$))"), "your AWS credentials"),
    (lazy(r"(?:^|/)\.config/gcloud(?:/|$)"), "your Google Cloud credentials"),
    (lazy(r"(?:^|/)\.azure(?:/|$)"), "your Azure credentials"),
    (lazy(r"(?:^|/)\.kube(?:/?$|/config$)"), "your Kubernetes credentials"),
    (lazy(r"(?:^|/)\.docker/config\.json$"), "your Docker registry credentials"),
    (
        lazy(
            r"(?:^|/)(?:\.netrc|_netrc|\.git-credentials|\.config/gh/hosts\.yml|\.npmrc|\.pypirc|\.yarnrc\.yml"
            r"|\.cargo/credentials(?:\.toml)?|\.gem/credentials|\.vault-token|\.pgpass|\.my\.cnf"
            r"|\.terraform\.d/credentials\.tfrc\.json|\.terraformrc|\.config/hub|\.netlify/config\.json"
            r"|\.config/op(?:/|$)|\.config/rclone/rclone\.conf|\.claude/\.credentials\.json|\.codex/auth\.json"
            r"|\.s3cfg|\.boto|\.databrickscfg|\.config/doctl/config\.yaml|\.oci/config|\.kaggle/kaggle\.json"
            r"|(?:\.cache/)?huggingface/token|\.config/glab-cli/config\.yml|containers/auth\.json"
            r"|\.config/github-copilot/(?:hosts|apps)\.json|\.config/gh/hosts\.yaml)$"
        ),
        "saved login credentials",
    ),
    (lazy(r"(?:^|/)\.gnupg(?:/|$)"), "your GPG keys"),
    (lazy(r"^/proc/.+/(?:environ|mem)$"), "a process's environment or memory"),
    (lazy(r"^/etc/(?:shadow|gshadow)-?$|^/etc/sudoers"), "the system's password hashes or sudo rules"),
    (lazy(r"^(?:/var)?/run/secrets(?:/|$)"), "a mounted service-account token or container secret"),
    (
        lazy(
            r"(?:^|/)(?:\.mozilla|\.config/(?:google-chrome|chromium|BraveSoftware|microsoft-edge|vivaldi|opera)"
            r"|Library/Application Support/(?:Google/Chrome|Firefox|BraveSoftware|Microsoft Edge)"
            r"|Library/Cookies|Library/Safari)(?:/|$)"
            r"|(?:^|/)(?:cookies\.sqlite|key[34]\.db|signons\.sqlite|Login Data|Cookies)$"
        ),
        "a browser profile (cookies and saved passwords)",
    ),
    (lazy(r"(?:^|/)(?:Library/Keychains|\.local/share/keyrings)(?:/|$)"), "a keychain"),
)
_LESSER: tuple[tuple[LazyPattern, str], ...] = (
    (lazy(r"(?:^|/)\.env(?:\.(?!example$|sample$|template$|dist$|defaults$)[\w.-]+)?$"), "an .env file"),
    (lazy(r"(?:^|/)\.(?:bash|zsh|python|psql|mysql|node_repl|sqlite|rediscli)_history$"), "shell history"),
    (lazy(r"(?:^|/)[^/]+\.(?:pem|key|p12|pfx|jks|keystore)$"), "a private key file"),
)


# Where credentials usually are: a glob (``~/.s*/id_*``, ``/proc/*/environ``) that could
# name one of these is treated as naming it.
_EXAMPLES = (
    "~/.ssh/id_rsa",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ecdsa",
    "~/.aws/credentials",
    "~/.config/gcloud/application_default_credentials.json",
    "~/.azure/msal_token_cache.json",
    "~/.kube/config",
    "~/.docker/config.json",
    "~/.netrc",
    "~/.git-credentials",
    "~/.config/gh/hosts.yml",
    "~/.npmrc",
    "~/.pypirc",
    "~/.gnupg/private-keys-v1.d",
    "~/.config/rclone/rclone.conf",
    "~/.claude/.credentials.json",
    "/proc/1/environ",
    "/proc/self/environ",
    "/etc/shadow",
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
)


# Secrets a word with no "/" and no "." can name.
_SECRET_WORDS = {
    "_netrc": "saved login credentials",
    "Cookies": "a browser profile (cookies and saved passwords)",
    "Login Data": "a browser profile (cookies and saved passwords)",
}
# A quick first look: every pattern of _SECRETS needs one of these words at the start or
# after a "/" (keep it so when adding one); most words have none, and one search says so.
_SECRET_HINT = lazy(
    r"(?:^|/)(?:\.(?:ssh|aws|config|azure|kube|docker|netrc|git-credentials|npmrc|pypirc|yarnrc|cargo|gem|vault-token"
    r"|pgpass|my\.cnf|terraform|netlify|claude|codex|s3cfg|boto|databrickscfg|oci|kaggle|gnupg|mozilla|local|cache)"
    r"|_netrc|huggingface|containers|Library|cookies\.sqlite|key[34]\.db|signons|Login Data|Cookies|proc/|etc/|var/|run/)"
)
# The same for _LESSER.
_LESSER_HINT = lazy(r"\.env|_history$|\.(?:pem|key|p12|pfx|jks|keystore)$")


def secret(path: str) -> str | None:
    """What credential ``path`` holds ("your AWS credentials"), or None."""
    if "/" not in path and "." not in path:  # most words: `install`, `-la`, `main`
        return _SECRET_WORDS.get(path)
    if _SECRET_HINT.search(path):
        for pattern, what in _SECRETS:
            if pattern.search(path):
                return what
    if ("*" in path or "?" in path or "[" in path) and path.startswith(("~/", "/")):
        parts = path.split("/")
        from fnmatch import fnmatchcase

        for example, names in _EXAMPLE_PARTS.get((len(parts), parts[0]), ()):
            # one part at a time: `*` does not cross a `/` (a bare `*` names the working directory's files)
            if all(_glob_part(n, p, fnmatchcase) for n, p in zip(names[1:], parts[1:], strict=True)):
                return secret(example)
    return None


# The examples by (number of parts, first part): a glob is compared with those of its shape only.
_EXAMPLE_PARTS: dict[tuple[int, str], list[tuple[str, list[str]]]] = {}
for _example in _EXAMPLES:
    _names = _example.split("/")
    _EXAMPLE_PARTS.setdefault((len(_names), _names[0]), []).append((_example, _names))


def _glob_part(name: str, part: str, fnmatchcase: Callable[[str, str], bool]) -> bool:
    """Whether one part of a glob matches one name, as bash expands it: ``*`` and ``?`` do
    not match a leading dot (``~/*`` is not ``~/.netrc``; ``~/.*`` is)."""
    if name.startswith(".") and not part.startswith("."):
        return False
    return fnmatchcase(name, part)


def lesser_secret(path: str) -> str | None:
    """Files that often hold secrets but are also everyday reading (.env, history, *.pem)."""
    if "." not in path or not _LESSER_HINT.search(path):
        return None
    for pattern, what in _LESSER:
        if pattern.search(path):
            return what
    return None


# --- code handed to an interpreter on the command line ---------------------------------

_CODE_FLAGS = frozenset({"-c", "-e", "-E", "--eval", "-p", "--print", "-r", "-Command", "-command", "-pe", "-ne", "-le"})
_AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})


def inline_code(command: SimpleCommand) -> str:
    """The program text a command carries in its argv: ``python3 -c CODE``, ``node -e CODE``,
    ``perl -e``/``-pe``, ``ruby -e``, ``php -r``, ``Rscript -e``, ``deno eval CODE``, an awk
    program; several pieces joined by newlines; "" when there is none."""
    cache = command.__dict__  # several rules of several families ask: compute once
    found: str | None = cache.get("_code")
    if found is None:
        found = cache["_code"] = _inline_code(command)
    return found


def _inline_code(command: SimpleCommand) -> str:
    name, argv = command.name, command.argv
    if name in _AWKS:
        operands = [a for a in argv[1:] if not a.startswith("-")]
        return operands[0] if operands else ""
    if name == "deno" and len(argv) > 2 and argv[1] == "eval":
        return argv[2]
    if not (name in INTERPRETERS or _PYTHON.match(name) or name in ("python", "python2", "Rscript", "deno")):
        return ""
    pieces = []
    for i, arg in enumerate(argv[1:-1], start=1):
        if arg in _CODE_FLAGS and not (arg == "-r" and name != "php"):
            pieces.append(argv[i + 1])
        elif arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 and arg[1] in "ce" and name != "php":
            pieces.append(arg[2:])  # -cCODE
    return "\n".join(pieces)


_LITERAL = lazy(r""""([^"\\\n]{1,300})"|'([^'\\\n]{1,300})'|`([^`\\\n]{1,300})`""")


def code_paths(command: SimpleCommand) -> list[str]:
    """The string literals of ``command``'s inline code (``inline_code``) that could be
    paths, normalised: ``open(os.path.expanduser("~/.aws/credentials"))`` gives
    ``~/.aws/credentials``, ``homedir()+'/.npmrc'`` gives ``/.npmrc``, and
    ``os.path.join(home, ".ssh", "id_rsa")`` gives ``.ssh/id_rsa`` too."""
    cache = command.__dict__
    found: list[str] | None = cache.get("_code_paths")
    if found is None:
        found = cache["_code_paths"] = _code_paths(inline_code(command))
    return found


def _code_paths(code: str) -> list[str]:
    if not code or ("'" not in code and '"' not in code and "`" not in code):
        return []
    literals = [m.group(1) or m.group(2) or m.group(3) for m in _LITERAL.finditer(code)]
    paths = [normal(word) for word in literals if "." in word or "/" in word]
    for first, second in pairwise(literals):  # path.join(home, ".ssh", "id_rsa")
        if first.startswith(".") and "/" not in first and " " not in first and second:
            paths.append(normal(first + "/" + second))
    return paths


# --- the environment -------------------------------------------------------------------

_ENV_PRINTERS = frozenset({"env", "printenv", "set", "export", "declare", "typeset"})


def dumps_environment(command: SimpleCommand) -> bool:
    """``env``, ``printenv``, ``set``, ``export -p``, ``declare -x``...: it prints every
    environment variable (``printenv PATH`` or ``env FOO=1 make`` do not)."""
    name, argv = command.name, command.argv
    if name not in _ENV_PRINTERS:
        return False
    rest = argv[1:]
    if name in ("env", "printenv"):
        return all(a in ("-0", "--null") for a in rest)
    if name == "set":
        return not rest
    return all(a.startswith("-") and set(a[1:]) <= {"p", "x"} for a in rest)  # export -p, declare -x
