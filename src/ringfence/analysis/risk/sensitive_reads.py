"""Sensitive reads: credentials and keys brought into the agent's view.

Whatever a command prints lands in the model's context, and from there it can leak into a
commit, a log or a request. Reading SSH or GPG private keys, cloud and registry
credentials (AWS, Google Cloud, Azure, Kubernetes, Docker, npm, PyPI, ``.netrc``,
``.git-credentials``...), another process's environment, the system's password hashes,
browser profiles or keychains is asked; so are commands whose whole job is to print a
token (``gh auth token``, ``gcloud auth print-access-token``). Using a key is not reading
it: ``ssh -i ~/.ssh/id_ed25519``, ``kubectl``, ``aws`` and ``git`` stay quiet, as do
listings (``ls ~/.ssh``) and public keys (``*.pub``).

- RF-READ-001 (HIGH): a command reads keys or credentials (list above).
- RF-READ-002 (MEDIUM): a command reads an ``.env`` file, shell history or a private key
  file (``*.pem``, ``*.key``) in the workspace.
- RF-READ-003 (HIGH): a command prints a token or a stored password (``gh auth token``,
  ``gcloud auth print-access-token``, ``aws configure export-credentials``,
  ``kubectl config view --raw``, ``security find-generic-password -w``, ``secret-tool
  lookup``, ``git credential fill``, ``gpg --export-secret-keys``...).
- RF-READ-004 (LOW, a note): ``env``/``printenv`` prints every environment variable,
  secrets included.
"""

from __future__ import annotations

from ringfence.analysis._lazyre import LazyPattern, lazy
from ringfence.analysis.risk import Severity, rule
from ringfence.analysis.risk._words import lesser_secret, normal, operand_paths, secret

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ringfence.analysis.bash import SimpleCommand

# Commands that use, list or manage a file without printing what is in it.
_NOT_READING = frozenset(
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


@rule("RF-READ-001", Severity.HIGH, "Reads private keys or saved credentials into the agent's view.")
def credentials(command: SimpleCommand) -> str | None:
    if command.name in _NOT_READING:
        return None
    for path in operand_paths(command):  # with no argv: `$(< ~/.ssh/id_rsa)`
        what = secret(path)
        if what is not None:
            return f"`{command.name}` reads {what}." if command.argv else f"It reads {what}."
    for _, value in command.assignments:
        what = secret(normal(value))
        if what is not None:
            return f"It keeps the location of {what} in a variable."
    return None


@rule("RF-READ-002", Severity.MEDIUM, "Reads an .env file, shell history or a private key file.")
def lesser(command: SimpleCommand) -> str | None:
    if command.name in _NOT_READING or not command.argv:
        return None
    for path in operand_paths(command):
        what = lesser_secret(path)
        if what is not None:
            return f"`{command.name}` reads {what}, which often holds secrets."
    return None


_TOKEN_PRINTERS: tuple[tuple[str, LazyPattern], ...] = (
    ("gh", lazy(r"^auth token\b")),
    ("gcloud", lazy(r"\bprint-(access|identity)-token\b")),
    (
        "aws",
        lazy(
            r"^(configure (export-credentials|get \S*(secret|token|key))|sts get-session-token|ecr get-login-password)"
        ),
    ),
    ("az", lazy(r"^account get-access-token\b")),
    ("kubectl", lazy(r"^config view\b.*--raw|^get secrets?\b.*-o\s*(yaml|json)")),
    ("security", lazy(r"^(find-(generic|internet)-password\b.*-[wg]|dump-keychain)")),
    ("secret-tool", lazy(r"^lookup\b")),
    ("git", lazy(r"^credential(-\w+)? (fill|get)\b")),
    ("gpg", lazy(r"--export-secret-(sub)?keys")),
    ("op", lazy(r"^(read|item get)\b")),
    ("pass", lazy(r"^(show\b|\S+$)")),
    ("vault", lazy(r"^(read|kv get)\b")),
    ("heroku", lazy(r"^auth:token\b")),
    ("npm", lazy(r"^token (list|create)\b")),
    ("docker-credential-desktop", lazy(r"^get\b")),
    ("docker-credential-pass", lazy(r"^get\b")),
    ("docker-credential-secretservice", lazy(r"^get\b")),
)


@rule("RF-READ-003", Severity.HIGH, "Prints a token or a stored password.")
def token_printers(command: SimpleCommand) -> str | None:
    rest = " ".join(command.argv[1:])
    for name, pattern in _TOKEN_PRINTERS:
        if command.name == name and pattern.search(rest):
            return f"`{command.name}` prints a token or password into the agent's view."
    return None


@rule("RF-READ-004", Severity.LOW, "Prints every environment variable (a note).", names=("env", "printenv", "set"))
def environment(command: SimpleCommand) -> str | None:
    if len(command.argv) == 1 or (command.name == "env" and set(command.argv[1:]) <= {"-0", "--null"}):
        return f"`{command.name}` prints every environment variable, secrets included."
    return None
