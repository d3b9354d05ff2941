"""Credential files, recognised by their name or path (the first half of ``ringfence scan``).

A name rule flags a file that holds a credential *essentially always*: an ``.env``, an SSH
private key, ``.aws/credentials``, a Terraform state. A name that only sometimes holds one
(``config.yaml``, ``settings.py``, ``auth.json``, ``secrets.yml``) is left to the content
rules of ``ringfence.workspace.secrets``, which find the secret itself. Names match at any
depth (``services/api/.env``), case-insensitively; a rule written with a ``/`` matches the
last components of the path (``.aws/credentials``).

Some names are a strong hint but not proof, and their rule is *confirmed by content*
(``FileRule.confirm`` is set): ``*.pem`` and ``*.key`` that hold only certificates or
public keys, a project ``.npmrc`` that only sets ``registry=``, a ``.docker/config.json``
that only names a credential helper. ``credential_file(relpath)`` without the file's bytes
returns the rule anyway (failing closed: unread, the file is treated as a credential);
``credential_file(relpath, data)`` returns None when the content shows nothing secret.
``is_public_only(data)`` is the test used for PEM files: true when every PEM block is a
certificate, a public key, a CRL, a request or parameters.

Templates are not credentials: ``.env.example``, ``.env.sample``, ``.env.template``,
``.env.tmpl``, ``.env.tpl``, ``.env.dist``, ``.env.default(s)``, ``.env.schema`` and
``.env.vault`` (dotenv-vault's encrypted file, made to be committed), in any position
(``.env.local.example``). They are still scanned by content, so a real secret pasted into
one is found. Copies of a real file are credentials (``.env.bak``, ``.env.old``).

- RF-FILE-ENV: a dotenv file (``.env``, ``.env.local``, ``.env.production``...).
- RF-FILE-SSH-KEY: an SSH private key by its conventional name (``id_rsa``, ``id_dsa``,
  ``id_ecdsa``, ``id_ed25519``, their ``_sk`` forms, ``.ssh/identity``,
  ``ssh_host_*_key``) or a PuTTY key (``*.ppk``); never the ``.pub``.
- RF-FILE-PRIVATE-KEY: ``*.pem``, ``*.key``, ``*.p8``, confirmed by content: not when
  ``is_public_only``. (A macOS Keynote document is also ``*.key``: a zip archive, not
  PEM, so it is still flagged; rare in a workspace, and failing closed.)
- RF-FILE-KEYSTORE: ``*.p12``, ``*.pfx``, ``*.jks``, ``*.jceks``, ``*.keystore``,
  ``*.bks``; not trust stores by name (``truststore.jks``, ``cacerts``), nor a Java key
  store whose entries are all trusted certificates.
- RF-FILE-GIT-CREDENTIALS: ``.git-credentials`` (git's plain-text credential store).
- RF-FILE-NETRC: ``.netrc`` or ``_netrc`` (logins and passwords per host).
- RF-FILE-AWS: ``.aws/credentials``, ``.s3cfg``, ``.boto``. ``.aws/config`` is not one:
  keys written there are found by content.
- RF-FILE-GCLOUD: ``application_default_credentials.json``, gcloud's ``credentials.db``
  and ``access_tokens.db``, ``legacy_credentials/*/adc.json``.
- RF-FILE-GCP-SERVICE-ACCOUNT: a service-account key by name (``*-service-account.json``,
  ``service-account*.json``, ``service_account*.json``, ``*_service_account.json``).
- RF-FILE-AZURE: Azure CLI token caches under ``.azure/`` (``accessTokens.json``,
  ``msal_token_cache.*``, ``service_principal_entries.json``).
- RF-FILE-DOCKER: ``.docker/config.json``, ``.dockercfg``, ``containers/auth.json``,
  confirmed by content: an ``auth``, ``identitytoken`` or ``registrytoken`` value.
- RF-FILE-KUBECONFIG: ``.kube/config``, ``kubeconfig``, ``*.kubeconfig``,
  ``kubeconfig.yaml``, confirmed by content: a token, client key, password or OIDC token.
- RF-FILE-NPMRC: ``.npmrc`` or ``.yarnrc.yml``, confirmed by content: an ``_authToken``,
  ``_auth``, ``_password`` or ``npmAuthToken`` with a literal value (not ``${NPM_TOKEN}``).
- RF-FILE-PYPIRC: ``.pypirc``, confirmed by content: a ``password``.
- RF-FILE-TFSTATE: Terraform state (``*.tfstate``, ``*.tfstate.backup``), which keeps
  every secret a configuration touched in plain text.
- RF-FILE-CREDENTIALS-JSON: ``credentials.json``, ``.credentials.json`` (Claude Code,
  Google OAuth samples), ``client_secret*.json``.
- RF-FILE-DB-PASSWORDS: ``.pgpass``, ``.mylogin.cnf`` (database client passwords).
- RF-FILE-MY-CNF: ``.my.cnf``, confirmed by content: a ``password``.
- RF-FILE-HTPASSWD: ``.htpasswd`` (password hashes, crackable offline).
- RF-FILE-OVPN: ``*.ovpn``, confirmed by content: an inline ``<key>``, ``<tls-auth>``,
  ``<tls-crypt>``, ``<pkcs12>`` or private key block.
- RF-FILE-TOOL-TOKEN: a tool's token file: ``.vault-token``, ``.gem/credentials``,
  ``.cargo/credentials(.toml)``, ``.composer/auth.json`` (and under ``.config/``),
  ``.terraform.d/credentials.tfrc.json``, ``.databrickscfg``, ``.kaggle/kaggle.json``.
"""

from __future__ import annotations

from ringfence._struct import record
from ringfence.analysis._lazyre import lazy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable

    from ringfence.analysis._lazyre import LazyPattern

    Confirm = Callable[[bytes], bool]


@record
class FileRule:
    """A credential file by name: its id, a line a person reads, the name patterns (globs on
    the base name, or on the path's last components when they hold a ``/``), names that are
    never this rule, and, when the name is not proof, the content check that confirms it."""

    id: str
    title: str
    patterns: tuple[str, ...]
    unless: tuple[str, ...] = ()
    confirm: Confirm | None = None


# PEM labels of public material: certificates, public keys, requests, lists, parameters.
_PUBLIC_LABELS = frozenset({
    "CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE", "X509 CRL", "CERTIFICATE REQUEST",
    "NEW CERTIFICATE REQUEST", "PUBLIC KEY", "RSA PUBLIC KEY", "DSA PUBLIC KEY", "EC PUBLIC KEY",
    "SSH2 PUBLIC KEY", "PGP PUBLIC KEY BLOCK", "PGP SIGNATURE", "PKCS7", "CMS", "DH PARAMETERS",
    "X9.42 DH PARAMETERS", "EC PARAMETERS", "DSA PARAMETERS", "ATTRIBUTE CERTIFICATE",
})
_PEM_BEGIN = lazy(r"-----BEGIN ([A-Z0-9 .]{1,40})-----")


def is_public_only(data: bytes) -> bool:
    """True when ``data`` holds PEM blocks and every one is public material (certificates,
    public keys, requests, CRLs, parameters); False when any block is a private key or
    unknown, and when there is no PEM block at all (a DER key cannot be told apart)."""
    text = data.decode("latin-1")
    labels = {m.group(1) for m in _PEM_BEGIN.finditer(text)}
    return bool(labels) and labels <= _PUBLIC_LABELS


def _not_public(data: bytes) -> bool:
    return not is_public_only(data)


def _matches(pattern: LazyPattern) -> Confirm:
    def confirm(data: bytes) -> bool:
        return pattern.search(data.decode("latin-1")) is not None

    return confirm


_JKS_MAGIC, _JCEKS_MAGIC = b"\xfe\xed\xfe\xed", b"\xce\xce\xce\xce"


def _keystore_has_private(data: bytes) -> bool:
    """A Java key store (JKS/JCEKS) is a credential when it holds a private or secret key
    entry (tag 1 or 3); one of trusted certificates only (tag 2) is not. Any other format
    (PKCS#12, BKS) or an unreadable store is taken as holding keys."""
    if data[:4] not in (_JKS_MAGIC, _JCEKS_MAGIC) or len(data) < 12:
        return True
    count, at = int.from_bytes(data[8:12], "big"), 12
    try:
        for _ in range(count):
            tag = int.from_bytes(data[at:at + 4], "big")
            if tag != 2:
                return True
            at += 4
            at += 2 + int.from_bytes(data[at:at + 2], "big") + 8  # alias, timestamp
            at += 2 + int.from_bytes(data[at:at + 2], "big")  # certificate type
            at += 4 + int.from_bytes(data[at:at + 4], "big")  # certificate
            if at > len(data):
                return True
    except (IndexError, ValueError):
        return True
    return False


_ENV_TEMPLATE = lazy(r"(?i)^\.env(?:\.[^.]+)*\.(?:example|sample|template|tmpl|tpl|dist|defaults?|schema|vault)(?:\.[^.]+)*$")

_RULES: tuple[FileRule, ...] = (
    FileRule("RF-FILE-ENV", "A dotenv file: environment variables, usually secrets.", (".env", ".env.*")),
    FileRule("RF-FILE-SSH-KEY", "An SSH private key.", (
        "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk", ".ssh/identity",
        "ssh_host_*_key", "*.ppk")),
    FileRule("RF-FILE-PRIVATE-KEY", "A private key file (PEM or key file).", ("*.pem", "*.key", "*.p8"),
             confirm=_not_public),
    FileRule("RF-FILE-KEYSTORE", "A key store (PKCS#12 or Java) holding private keys.", (
        "*.p12", "*.pfx", "*.jks", "*.jceks", "*.keystore", "*.bks"),
        unless=("*truststore*", "cacerts*"), confirm=_keystore_has_private),
    FileRule("RF-FILE-GIT-CREDENTIALS", "git's plain-text credential store.", (".git-credentials",)),
    FileRule("RF-FILE-NETRC", "A netrc file: logins and passwords per host.", (".netrc", "_netrc")),
    FileRule("RF-FILE-AWS", "AWS or S3 credentials.", (".aws/credentials", ".s3cfg", ".boto")),
    FileRule("RF-FILE-GCLOUD", "Google Cloud CLI credentials.", (
        "application_default_credentials.json", "gcloud/credentials.db", "gcloud/access_tokens.db",
        "gcloud/legacy_credentials/*/adc.json")),
    FileRule("RF-FILE-GCP-SERVICE-ACCOUNT", "A Google Cloud service-account key.", (
        "*-service-account.json", "service-account*.json", "service_account*.json", "*_service_account.json")),
    FileRule("RF-FILE-AZURE", "An Azure CLI token cache.", (
        ".azure/accessTokens.json", ".azure/msal_token_cache.*", ".azure/service_principal_entries.json")),
    FileRule("RF-FILE-DOCKER", "Container registry logins (Docker, Podman).", (
        ".docker/config.json", ".dockercfg", "containers/auth.json"),
        confirm=_matches(lazy(r'"(?:auth|identitytoken|registrytoken)"\s*:\s*"[^"]'))),
    FileRule("RF-FILE-KUBECONFIG", "A Kubernetes kubeconfig with credentials.", (
        ".kube/config", "kubeconfig", "*.kubeconfig", "kubeconfig.yaml", "kubeconfig.yml"),
        confirm=_matches(lazy(r"(?m)^\s*(?:token|client-key-data|client-key|password|id-token|refresh-token)\s*:\s*\S"))),
    FileRule("RF-FILE-NPMRC", "An npm or yarn registry token.", (".npmrc", ".yarnrc.yml"),
             confirm=_matches(lazy(r"(?:_authToken|_auth|_password)\s*=\s*[^\s$]|npmAuthToken\s*:\s*[\"']?[^\s$\"']"))),
    FileRule("RF-FILE-PYPIRC", "PyPI upload credentials.", (".pypirc",),
             confirm=_matches(lazy(r"(?mi)^\s*password\s*[=:]\s*\S"))),
    FileRule("RF-FILE-TFSTATE", "Terraform state: every secret it touched, in plain text.", (
        "*.tfstate", "*.tfstate.backup")),
    FileRule("RF-FILE-CREDENTIALS-JSON", "A credentials JSON file (OAuth client or token).", (
        "credentials.json", ".credentials.json", "client_secret*.json")),
    FileRule("RF-FILE-DB-PASSWORDS", "Database client passwords.", (".pgpass", ".mylogin.cnf")),
    FileRule("RF-FILE-MY-CNF", "A MySQL option file with a password.", (".my.cnf",),
             confirm=_matches(lazy(r"(?mi)^\s*password\s*=\s*\S"))),
    FileRule("RF-FILE-HTPASSWD", "An htpasswd file: password hashes.", (".htpasswd",)),
    FileRule("RF-FILE-OVPN", "An OpenVPN profile with its keys inline.", ("*.ovpn",),
             confirm=_matches(lazy(r"<(?:key|tls-auth|tls-crypt|tls-crypt-v2|pkcs12)>|PRIVATE KEY-----"))),
    FileRule("RF-FILE-TOOL-TOKEN", "A tool's saved token or API key.", (
        ".vault-token", ".gem/credentials", ".cargo/credentials", ".cargo/credentials.toml",
        ".composer/auth.json", "composer/auth.json", ".terraform.d/credentials.tfrc.json", ".databrickscfg",
        ".kaggle/kaggle.json")),
)


def _glob(pattern: str) -> str:
    """A glob (``*`` and ``?`` within one path component) as a regular expression."""
    out = []
    for char in pattern:
        out.append("[^/]*" if char == "*" else "[^/]" if char == "?" else _escape(char))
    return "".join(out)


def _escape(char: str) -> str:
    return "\\" + char if char in ".^$+{}[]()|\\" else char


def _tail(patterns: tuple[str, ...]) -> str:
    """Match at the end of a path, starting at a component boundary."""
    return "(?:^|/)(?:" + "|".join(_glob(p) for p in patterns) + ")$"


_ANY = lazy("(?i)" + _tail(tuple(p for r in _RULES for p in r.patterns)))
_EACH: list[tuple[FileRule, LazyPattern, LazyPattern | None]] = [
    (r, lazy("(?i)" + _tail(r.patterns)), lazy("(?i)" + _tail(r.unless)) if r.unless else None) for r in _RULES
]


def file_rules() -> list[FileRule]:
    """Every credential-file rule, in the order they are tried."""
    return list(_RULES)


def credential_file(relpath: str, data: bytes | None = None) -> FileRule | None:
    """The rule that makes ``relpath`` (a ``/``-separated path relative to the scanned
    folder) a credential file, or None. With ``data`` (the file's bytes), a rule that needs
    confirming by content is confirmed, and None is returned when the content is not secret."""
    if _ANY.search(relpath) is None:
        return None
    name = relpath.rpartition("/")[2]
    for item, pattern, unless in _EACH:
        if pattern.search(relpath) is None or (unless is not None and unless.search(relpath) is not None):
            continue
        if item.id == "RF-FILE-ENV" and _ENV_TEMPLATE.search(name) is not None:
            continue
        if data is not None and item.confirm is not None and not item.confirm(data):
            continue
        return item
    return None
