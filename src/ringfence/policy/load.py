"""Reading, validating and merging the policy layers.

Layers, highest first: managed (``/etc/ringfence/policy.toml``), project (``--policy FILE``
or ``ringfence.toml`` in the workspace), user (``~/.config/ringfence/policy.toml``), then the
command-line flags on top. Lists are unions; a deny in any layer wins over any allow, so a
managed deny cannot be undone below it. A scalar comes from the highest layer that sets it.

Arrays of tables (``[[credentials]]``, ``[[upstreams]]``, ``[[requests]]``) merge
differently: credentials and upstreams by ``name``, the highest layer's entry replacing a
lower one's entirely (so a managed credential cannot be redefined below it); request rules
are a union. ``[network] rate`` merges per host, the highest layer winning.

Every error names the file, the key path (``credentials[1].header``), the bad value and the
expected form; a policy that does not validate as a whole is not used at all.

Start-up time: a run whose policy has none of the newer keys must not load ``re``,
``shlex`` or ``urllib``; the converters that need them import them when called.
"""

from __future__ import annotations

import os
import pwd

from ringfence._struct import field, record, replace
from ringfence.errors import PolicyError
from ringfence.policy.hosts import HostRuleError, HostRules, normalize_host, parse_host_rule
from ringfence.policy.model import (
    DEFAULT_AUDIT_PATH,
    DEFAULT_ENV,
    DEFAULT_TMP_SIZE,
    AuditPolicy,
    ContainerPolicy,
    Credential,
    FilesystemPolicy,
    Gateway,
    NetworkPolicy,
    PermissionEntry,
    PermissionsPolicy,
    Policy,
    RequestRule,
    SandboxPolicy,
    UnixSockets,
    WorkspacePolicy,
)

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

MANAGED_POLICY = "/etc/ringfence/policy.toml"
USER_POLICY = "~/.config/ringfence/policy.toml"
PROJECT_POLICY_NAME = "ringfence.toml"

_RULES = "a list of permission rules in Claude Code's syntax, such as [\"Bash(npm test:*)\", \"Read(./.env)\"]"

# key path -> expected form; a key not listed here is refused.
_SCHEMA: dict[str, dict[str, str]] = {
    "sandbox": {
        "workspace": "a path",
        "env": "a list of environment variable names",
        "tmp_size": "a size such as \"512M\" or \"2G\"",
    },
    "filesystem": {
        "deny_read": "a list of paths",
        "allow_read": "a list of paths",
        "allow_write": "a list of paths",
        "deny_write": "a list of paths",
    },
    "network": {
        "allow": "a list of host rules",
        "deny": "a list of host rules",
        "unix_sockets": "\"none\" or \"sandbox\"",
        "upstream_ca": "a list of paths to PEM CA certificates",
        "inspect": "a list of host rules",
        "rate": "a table of host rule = \"COUNT/UNIT\", such as { \"api.example.com\" = \"120/min\" }",
    },
    "audit": {"path": "a path"},
    "container": {
        "image": "an image name, such as \"ghcr.io/acme/agent:1\"",
        "proxy_image": "an image name with ringfence installed",
        "rootfs": "a path to a root file system folder (podman)",
        "user": "\"UID:GID\" with numbers, such as \"1000:1000\"",
        "memory": "a size such as \"2G\"",
        "cpus": "a number of CPUs above 0, such as 2 or 0.5",
        "pids": "a whole number of processes above 0",
        "home": "an absolute path inside the container",
        "home_size": "a size such as \"512M\"",
    },
    "workspace": {
        "mask": "true or false",
        "exclude": "a list of gitignore-style patterns",
        "credential_files": "\"empty\" or \"absent\"",
    },
    "permissions": {
        "allow": _RULES,
        "ask": _RULES,
        "deny": _RULES,
    },
}

_NAME = "a name of lower-case letters, digits, '-' and '_'"
_ENV_NAME = "an environment variable name (letters, digits and '_', not starting with a digit)"
_HOSTS = "a non-empty list of host rules"
_METHODS = "a non-empty list of upper-case HTTP methods such as [\"GET\", \"HEAD\"]"
_PATHS = "a non-empty list of paths starting with '/' ('*' matches any run of characters, '?' one)"
_MAX_BODY = "a size such as \"10M\""

# [[section]] arrays of tables: key -> expected form; a key not listed here is refused.
_ENTRIES: dict[str, dict[str, str]] = {
    "credentials": {
        "name": _NAME,
        "hosts": _HOSTS,
        "header": "an HTTP field name such as \"Authorization\", not a field the proxy manages "
        "(Host, Content-Length, Transfer-Encoding, Connection and the other hop-by-hop fields)",
        "value": "\"env:NAME\", \"file:PATH\" or \"cmd:COMMAND ARGS\"",
        "format": "a text with {secret} exactly once, such as \"Bearer {secret}\"",
        "placeholder_env": _ENV_NAME,
        "methods": _METHODS,
        "paths": _PATHS,
        "max_body": _MAX_BODY,
        "cache_ttl": "a number of seconds greater than 0, for a cmd: value",
        "file_lines": "\"first\" or \"all\", for a file: value",
    },
    "upstreams": {
        "name": _NAME,
        "url": "an http:// or https:// URL with a host and optionally a base path; no user, query or fragment",
        "credential": "the name of a [[credentials]] entry",
        "base_url_env": _ENV_NAME,
    },
    "requests": {"hosts": _HOSTS, "methods": _METHODS, "paths": _PATHS, "max_body": _MAX_BODY},
}
_REQUIRED = {"credentials": ("name", "hosts", "header", "value"), "upstreams": ("name", "url"), "requests": ("hosts",)}


STATE_DIR_ENV = "RINGFENCE_STATE_DIR"


def state_dir() -> str:
    """ringfence's state folder (its CA, its scan cache): ``$RINGFENCE_STATE_DIR`` or
    ``~/.local/share/ringfence``; the sandbox never sees it."""
    override = os.environ.get(STATE_DIR_ENV)
    if override:
        return os.path.abspath(override)
    from ringfence.policy.model import RINGFENCE_STATE_HOME

    return os.path.join(home_of_invoker(), RINGFENCE_STATE_HOME)


def home_of_invoker() -> str:
    """The home folder ``~`` expands to: the invoking user's, from the password database."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.environ.get("HOME", "/")


@record(frozen=False)
class Layer:
    """One parsed policy file (or the flags), with paths already resolved.

    ``values`` holds the tables by section and key; the arrays of tables are held as
    ``values["credentials"]`` (name -> ``Credential``), ``values["upstreams"]`` (name ->
    ``Gateway``) and ``values["requests"]`` (index -> ``RequestRule``), in file order.
    """

    source: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    scope: str = ""  # "managed", "project" or "user" (for the provenance of [permissions] rules)


@record(frozen=False)
class Overrides:
    """What the command-line flags add to the merged policy."""

    workspace: str | None = None
    allow_domains: list[str] = field(default_factory=list)
    allow_write: list[str] = field(default_factory=list)
    deny_read: list[str] = field(default_factory=list)
    no_network: bool = False
    no_mask: bool = False


def read_layer(path: str | os.PathLike[str], home: str | os.PathLike[str], scope: str = "") -> Layer:
    """Parse and validate one policy file; raises ``PolicyError`` naming file and key."""
    source = os.fspath(path)
    home = os.fspath(home)
    try:
        with open(source, "rb") as fh:
            data = _parse(fh, source, home_of_invoker())
    except FileNotFoundError:
        raise PolicyError("file not found", source=source, hint="check the path given to --policy") from None
    except PermissionError:
        raise PolicyError("file not readable", source=source, hint=f"check the permissions of {path}") from None
    return Layer(source, _validate(data, source, os.path.dirname(source), home), scope)


def _parse(fh: BinaryIO, source: str, invoker_home: str) -> dict[str, Any]:
    """The file's TOML table, from the parse cache when this version of it was seen before."""
    from ringfence.policy import cache

    st = os.fstat(fh.fileno())
    folder = os.path.join(invoker_home, cache.CACHE_FOLDER)
    table = cache.load(source, st, folder)
    if table is not None:
        return table
    import tomllib  # only when the file is new or changed

    try:
        table = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", source=source) from None
    cache.store(source, st, folder, table)
    return table


def _validate(data: dict[str, Any], source: str, base: str, home: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for section, table in data.items():
        if section in _ENTRIES:
            out[section] = _ENTRY_BUILDERS[section](_entries(section, table, source, base, home), source)
            continue
        if section not in _SCHEMA:
            raise PolicyError(
                "unknown section",
                source=source,
                key=f"[{section}]",
                expected=f"one of {_names(_SCHEMA)}, [[credentials]], [[upstreams]], [[requests]]",
            )
        if not isinstance(table, dict):
            raise PolicyError("must be a table", source=source, key=section, expected=f"[{section}]")
        out[section] = {}
        for key, value in table.items():
            if key not in _SCHEMA[section]:
                raise PolicyError(
                    "unknown key",
                    source=source,
                    key=f"{section}.{key}",
                    expected=f"one of {_names(_SCHEMA[section])}",
                )
            convert = _CONVERTERS[f"{section}.{key}"]
            out[section][key] = convert(value, _Ctx(source, f"{section}.{key}", base, home))
    return out


def _names(keys: dict[str, Any]) -> str:
    return ", ".join(sorted(keys))


@record
class _Ctx:
    source: str
    key: str  # as the message shows it: "network.allow", "credentials[1].header"
    base: str
    home: str
    schema: str = ""  # the schema entry when it differs from key: "credentials.header"

    def error(self, message: str, value: object) -> PolicyError:
        section, _, name = (self.schema or self.key).partition(".")
        expected = (_SCHEMA.get(section) or _ENTRIES[section])[name]
        return PolicyError(f"{message}: {value!r}", source=self.source, key=self.key, expected=expected)


def resolve_path(text: str, base: str, home: str) -> str:
    """``~`` is the invoking user's home; a relative path is relative to ``base``."""
    if text == "~" or text.startswith("~/"):
        path = os.path.join(home, text[2:])
    else:
        path = text if os.path.isabs(text) else os.path.join(base, text)
    return os.path.normpath(path)


def _path(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value or "\0" in value:
        raise ctx.error("not a path", value)
    if value.startswith("~") and not (value == "~" or value.startswith("~/")):
        raise ctx.error("only '~' or '~/...' (the invoking user's home) is expanded", value)
    return resolve_path(value, ctx.base, ctx.home)


def _str_list(value: object, ctx: _Ctx) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.error("wrong type", value)
    return list(value)


def _path_list(value: object, ctx: _Ctx) -> list[str]:
    return [_path(v, ctx) for v in _str_list(value, ctx)]


def _env_list(value: object, ctx: _Ctx) -> list[str]:
    names = _str_list(value, ctx)
    for name in names:
        if not name or "=" in name or "\0" in name:
            raise ctx.error("not an environment variable name", name)
    return names


def _host_list(value: object, ctx: _Ctx) -> list[str]:
    rules = _str_list(value, ctx)
    for rule in rules:
        try:
            parse_host_rule(rule)
        except HostRuleError as exc:
            raise PolicyError(str(exc), source=ctx.source, key=ctx.key) from None
    return rules


def _unix_sockets(value: object, ctx: _Ctx) -> UnixSockets:
    try:
        return UnixSockets(value)
    except ValueError:
        raise ctx.error("unknown mode", value) from None


def _credential_files(value: object, ctx: _Ctx) -> str:
    if value not in ("empty", "absent"):
        raise ctx.error("unknown mode", value)
    return str(value)


def _host_rules(value: object, ctx: _Ctx) -> list[str]:
    rules = _host_list(value, ctx)
    if not rules:
        raise ctx.error("must name at least one host", value)
    return rules


def _rate(value: object, ctx: _Ctx) -> dict[str, tuple[int, float]]:
    from ringfence.credentials.ratelimit import parse_rate

    if not isinstance(value, dict):
        raise ctx.error("wrong type", value)
    rates: dict[str, tuple[int, float]] = {}
    for host, text in value.items():
        where = _Ctx(ctx.source, f'{ctx.key}."{host}"', ctx.base, ctx.home, ctx.key)
        _host_list([host], where)
        try:
            rates[host] = parse_rate(text)
        except ValueError:
            raise where.error("not a rate", text) from None
    return rates


def _rules(value: object, ctx: _Ctx) -> list[str]:
    """A list of permission rules, each parsed now so that a malformed one stops the load."""
    from ringfence.permissions.errors import RuleError
    from ringfence.permissions.rules import parse_rule

    rules = _str_list(value, ctx)
    kind = ctx.key.rpartition(".")[2]
    for index, text in enumerate(rules):
        try:
            parse_rule(text, kind)
        except RuleError as exc:
            raise PolicyError(
                f"rule {text!r}: {exc.problem}", source=ctx.source, key=f"{ctx.key}[{index}]", hint=exc.hint
            ) from None
    return rules


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: object) -> int:
    """``"512M"`` -> bytes; raises ``ValueError``."""
    if isinstance(text, int) and not isinstance(text, bool) and text > 0:
        return text
    if not isinstance(text, str):
        raise ValueError(text)
    body = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = body[-1:] if body[-1:] in _SIZE_UNITS else ""
    number = body[: len(body) - len(unit)]
    if not number.isdigit() or int(number) == 0:
        raise ValueError(text)
    return int(number) * _SIZE_UNITS[unit]


def _bool(value: object, ctx: _Ctx) -> bool:
    if not isinstance(value, bool):
        raise ctx.error("not true or false", value)
    return value


def _patterns(value: object, ctx: _Ctx) -> list[str]:
    patterns = _str_list(value, ctx)
    for pattern in patterns:
        if "\0" in pattern or "\n" in pattern:
            raise ctx.error("not a pattern (a control character)", pattern)
    return patterns


def _image(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value) or value.startswith("-"):
        raise ctx.error("not an image name", value)
    return value


def _ids(value: object, ctx: _Ctx) -> str:
    uid, colon, gid = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not (colon and uid.isascii() and uid.isdigit() and gid.isascii() and gid.isdigit()):
        raise ctx.error("not UID:GID", value)
    return f"{uid}:{gid}"


def _cpus(value: object, ctx: _Ctx) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 4096:
        raise ctx.error("not a number of CPUs", value)
    return float(value)


def _pids(value: object, ctx: _Ctx) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 4_194_304:
        raise ctx.error("not a number of processes", value)
    return value


def _inside_path(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value.startswith("/") or "\0" in value or ":" in value:
        raise ctx.error("not an absolute path inside the container", value)
    return value


def _size(value: object, ctx: _Ctx) -> int:
    try:
        return parse_size(value)
    except ValueError:
        raise ctx.error("not a size", value) from None


_CONVERTERS: dict[str, Callable[[object, _Ctx], Any]] = {
    "sandbox.workspace": _path,
    "sandbox.env": _env_list,
    "sandbox.tmp_size": _size,
    "filesystem.deny_read": _path_list,
    "filesystem.allow_read": _path_list,
    "filesystem.allow_write": _path_list,
    "filesystem.deny_write": _path_list,
    "network.allow": _host_list,
    "network.deny": _host_list,
    "network.unix_sockets": _unix_sockets,
    "network.upstream_ca": _path_list,
    "network.inspect": _host_list,
    "network.rate": _rate,
    "audit.path": _path,
    "container.image": _image,
    "container.proxy_image": _image,
    "container.rootfs": _path,
    "container.user": _ids,
    "container.memory": _size,
    "container.cpus": _cpus,
    "container.pids": _pids,
    "container.home": _inside_path,
    "container.home_size": _size,
    "workspace.mask": _bool,
    "workspace.exclude": _patterns,
    "workspace.credential_files": _credential_files,
    "permissions.allow": _rules,
    "permissions.ask": _rules,
    "permissions.deny": _rules,
}


# --- [[credentials]], [[upstreams]], [[requests]] -------------------------------------------

_LOWER_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")
_ENV_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# RFC 9110 section 5.6.2: token = 1*tchar
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
# Fields that frame the message or belong to one hop (RFC 9110 sections 7.2, 7.6.1, 8.6,
# RFC 9112 section 6.1): the proxy sets or drops them, so a credential cannot be carried in one.
_MANAGED_FIELDS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "proxy-connection", "te",
     "trailer", "upgrade"}
)


def _entries(section: str, value: object, source: str, base: str, home: str) -> list[dict[str, Any]]:
    """Each table of a ``[[section]]`` array, with its keys checked and converted."""
    if not isinstance(value, list) or not all(isinstance(table, dict) for table in value):
        raise PolicyError("must be an array of tables", source=source, key=section, expected=f"[[{section}]] entries")
    schema = _ENTRIES[section]
    out: list[dict[str, Any]] = []
    for index, table in enumerate(value):
        where = f"{section}[{index}]"
        entry: dict[str, Any] = {}
        for key, item in table.items():
            if key not in schema:
                raise PolicyError(
                    "unknown key", source=source, key=f"{where}.{key}", expected=f"one of {_names(schema)}"
                )
            ctx = _Ctx(source, f"{where}.{key}", base, home, f"{section}.{key}")
            entry[key] = _ENTRY_CONVERTERS[key](item, ctx)
        for key in _REQUIRED[section]:
            if key not in entry:
                raise PolicyError("missing", source=source, key=f"{where}.{key}", expected=schema[key])
        out.append(entry)
    return out


def _name(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value or not _LOWER_NAME.issuperset(value):
        raise ctx.error("not a valid name", value)
    return value


def _env_name(value: object, ctx: _Ctx) -> str:
    if not _is_env_name(value):
        raise ctx.error("not an environment variable name", value)
    assert isinstance(value, str)
    return value


def _is_env_name(value: object) -> bool:
    return isinstance(value, str) and _ENV_CHARS.issuperset(value) and value[:1] not in "0123456789"


def _header(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or not value or not _TCHAR.issuperset(value):
        raise ctx.error("not an HTTP field name", value)
    if value.lower() in _MANAGED_FIELDS:
        raise ctx.error("is a field the proxy manages itself", value)
    return value


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or c == "\x7f" for c in text)


def _format(value: object, ctx: _Ctx) -> str:
    if not isinstance(value, str) or value.count("{secret}") != 1:
        raise ctx.error("must contain {secret} exactly once", value)
    if _has_control(value):
        raise ctx.error("contains a line break or control character", value)
    return value


def _value(value: object, ctx: _Ctx) -> str:
    kind, colon, rest = value.partition(":") if isinstance(value, str) else ("", "", "")
    if not colon or kind not in ("env", "file", "cmd"):
        # not echoed: a value without a known source is most often the secret itself
        raise PolicyError(
            "unknown source (the value is not shown, in case it is the secret itself)",
            source=ctx.source,
            key=ctx.key,
            expected=_ENTRIES["credentials"]["value"],
            hint="keep secrets out of the policy: export it and write value = \"env:NAME\"",
        )
    if kind == "env":
        return f"env:{_env_name(rest, ctx)}"
    if kind == "file":
        return f"file:{_path(rest, ctx)}"
    return f"cmd:{_command(rest, ctx)}"


def _command(text: str, ctx: _Ctx) -> str:
    import shlex  # only for policies with a cmd: value

    try:
        argv = shlex.split(text)
    except ValueError as exc:
        raise ctx.error(f"cannot be split like a shell command line ({exc})", f"cmd:{text}") from None
    if not argv:
        raise ctx.error("names no command", f"cmd:{text}")
    return text.strip()


def _methods(value: object, ctx: _Ctx) -> list[str]:
    methods = _str_list(value, ctx)
    if not methods:
        raise ctx.error("must name at least one method", value)
    for method in methods:
        if not method or not _TCHAR.issuperset(method) or method != method.upper():
            raise ctx.error("not an upper-case HTTP method", method)
    return list(dict.fromkeys(methods))


def _paths(value: object, ctx: _Ctx) -> list[str]:
    paths = _str_list(value, ctx)
    if not paths:
        raise ctx.error("must name at least one path", value)
    for path in paths:
        if not path.startswith("/") or _has_control(path) or " " in path:
            raise ctx.error("not a path starting with '/'", path)
    return list(dict.fromkeys(paths))


def _cache_ttl(value: object, ctx: _Ctx) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ctx.error("not a number of seconds", value)
    return float(value)


def _file_lines(value: object, ctx: _Ctx) -> str:
    if value not in ("first", "all"):
        raise ctx.error("unknown mode", value)
    assert isinstance(value, str)
    return value


def _url(value: object, ctx: _Ctx) -> str:
    """The URL in a normal form: lower-case scheme and host, no default port, no trailing '/'."""
    if not isinstance(value, str) or _has_control(value) or " " in value:
        raise ctx.error("not a URL", value)
    from urllib.parse import urlsplit  # only for policies with [[upstreams]]

    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ctx.error("not a URL", value) from None
    if parts.scheme not in ("http", "https"):
        raise ctx.error("only http:// and https:// upstreams are supported", value)
    if "@" in parts.netloc:
        raise ctx.error("must not contain a user name or password", value)
    if "?" in value or "#" in value:
        raise ctx.error("must not have a query or fragment", value)
    try:
        host = normalize_host(parts.hostname or "")
    except HostRuleError:
        raise ctx.error("has no valid host", value) from None
    if port == 0:
        raise ctx.error("port must be from 1 to 65535", value)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


_DEFAULT_PORTS = {"http": 80, "https": 443}

_ENTRY_CONVERTERS: dict[str, Callable[[object, _Ctx], Any]] = {
    "name": _name,
    "hosts": _host_rules,
    "header": _header,
    "value": _value,
    "format": _format,
    "placeholder_env": _env_name,
    "methods": _methods,
    "paths": _paths,
    "max_body": _size,
    "cache_ttl": _cache_ttl,
    "file_lines": _file_lines,
    "url": _url,
    "credential": _name,
    "base_url_env": _env_name,
}


def _unique_names(entries: list[dict[str, Any]], section: str, source: str) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries):
        name = entry["name"]
        if name in seen:
            raise PolicyError(
                f"duplicate name {name!r} (also {section}[{seen[name]}])",
                source=source,
                key=f"{section}[{index}].name",
                expected="a name used once per file",
            )
        seen[name] = index


def _credentials(entries: list[dict[str, Any]], source: str) -> dict[str, Any]:
    _unique_names(entries, "credentials", source)
    out: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        kind = entry["value"].partition(":")[0]
        for key, needs in (("cache_ttl", "cmd"), ("file_lines", "file")):
            if key in entry and kind != needs:
                raise PolicyError(
                    f"applies only to a {needs}: value, and this one is {kind}:",
                    source=source,
                    key=f"credentials[{index}].{key}",
                    expected=f"no {key} here, or value = \"{needs}:...\"",
                )
        for key in ("hosts", "methods", "paths"):
            if key in entry:
                entry[key] = tuple(entry[key])
        out[entry["name"]] = Credential(**entry, source=source)
    return out


def _gateways(entries: list[dict[str, Any]], source: str) -> dict[str, Any]:
    _unique_names(entries, "upstreams", source)
    return {entry["name"]: Gateway(**entry) for entry in entries}


def _requests(entries: list[dict[str, Any]], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        if len(entry) == 1:
            raise PolicyError(
                "restricts nothing",
                source=source,
                key=f"requests[{index}]",
                expected="at least one of methods, paths, max_body (to only look inside, use [network] inspect)",
            )
        for key in ("hosts", "methods", "paths"):
            if key in entry:
                entry[key] = tuple(entry[key])
        out[str(index)] = RequestRule(name=f"requests[{index}] ({source})", **entry)
    return out


_ENTRY_BUILDERS: dict[str, Callable[[list[dict[str, Any]], str], dict[str, Any]]] = {
    "credentials": _credentials,
    "upstreams": _gateways,
    "requests": _requests,
}


def discover_layers(
    *, policy_file: str | None, workspace: str, home: str, managed: str = MANAGED_POLICY
) -> list[Layer]:
    """The layers that apply, highest first: managed, project, user."""
    layers: list[Layer] = []
    if os.path.isfile(managed):
        layers.append(read_layer(managed, home, "managed"))
    project = policy_file if policy_file is not None else os.path.join(workspace, PROJECT_POLICY_NAME)
    if policy_file is not None or os.path.isfile(project):
        layers.append(read_layer(project, home, "project"))
    user = resolve_path(USER_POLICY, home, home)
    if os.path.isfile(user):
        layers.append(read_layer(user, home, "user"))
    return layers


def _first(layers: list[Layer], section: str, key: str, default: Any) -> Any:
    for layer in layers:
        if key in layer.values.get(section, {}):
            return layer.values[section][key]
    return default


def _union(layers: list[Layer], section: str, key: str) -> list[Any]:
    merged: list[Any] = []
    for layer in layers:
        merged += layer.values.get(section, {}).get(key, [])
    return list(dict.fromkeys(merged))


def merge(layers: list[Layer], overrides: Overrides, *, cwd: str, home: str) -> Policy:
    """Merge the layers (highest first) and the flags into one validated ``Policy``."""
    workspace = overrides.workspace or _first(layers, "sandbox", "workspace", cwd)
    allow_write = _union(layers, "filesystem", "allow_write") or [workspace]
    allow_write += overrides.allow_write
    allow = [] if overrides.no_network else _union(layers, "network", "allow") + overrides.allow_domains
    for rule in overrides.allow_domains:
        _check_flag_rule(rule)
    policy = Policy(
        sandbox=SandboxPolicy(
            workspace=workspace,
            env=tuple(_first(layers, "sandbox", "env", list(DEFAULT_ENV))),
            tmp_size=_first(layers, "sandbox", "tmp_size", DEFAULT_TMP_SIZE),
        ),
        filesystem=FilesystemPolicy(
            deny_read=tuple(_union(layers, "filesystem", "deny_read") + overrides.deny_read),
            allow_read=tuple(_allow_read(layers)),
            allow_write=tuple(dict.fromkeys(allow_write)),
            deny_write=tuple(_union(layers, "filesystem", "deny_write")),
        ),
        network=NetworkPolicy(
            allow=tuple(dict.fromkeys(allow)),
            deny=tuple(_union(layers, "network", "deny")),
            unix_sockets=_first(layers, "network", "unix_sockets", UnixSockets.NONE),
            enabled=not overrides.no_network,
            upstream_ca=tuple(_union(layers, "network", "upstream_ca")),
            inspect=tuple(_union(layers, "network", "inspect")),
            rate=_rates(layers),
        ),
        audit=AuditPolicy(path=_first(layers, "audit", "path", resolve_path(DEFAULT_AUDIT_PATH, home, home))),
        sources=tuple(layer.source for layer in layers if layer.source != "flags"),
        workspace=_workspace(layers, overrides),
        container=ContainerPolicy(**{
            key: _first(layers, "container", key, getattr(ContainerPolicy(), key))
            for key in ("image", "rootfs", "proxy_image", "user", "memory", "cpus", "pids", "home", "home_size")
        }),
    )
    if any("permissions" in layer.values for layer in layers):
        policy = replace(policy, permissions=_permissions(layers))
    if any(section in layer.values for layer in layers for section in _ENTRIES):
        policy = _with_entries(policy, layers)
    return policy


def _workspace(layers: list[Layer], overrides: Overrides) -> WorkspacePolicy:
    """[workspace]: the highest layer that sets ``mask`` decides it; ``--no-mask`` turns it
    off unless the managed layer asks for it (what the managed layer requires, no flag undoes)."""
    mask = _first(layers, "workspace", "mask", True)
    if overrides.no_mask:
        managed = next((layer for layer in layers if layer.scope == "managed"), None)
        if managed is not None and managed.values.get("workspace", {}).get("mask") is True:
            raise PolicyError("--no-mask is refused", source=managed.source, key="workspace.mask",
                              expected="masking, which the managed policy requires")
        mask = False
    return WorkspacePolicy(mask=mask, exclude=tuple(_union(layers, "workspace", "exclude")),
                           credential_files=_first(layers, "workspace", "credential_files", "empty"))


def _permissions(layers: list[Layer]) -> PermissionsPolicy:
    """Every layer's [permissions] rules, highest layer first, each with its provenance."""
    entries = []
    for layer in layers:
        lists = layer.values.get("permissions", {})
        for kind in ("deny", "ask", "allow"):
            for index, rule in enumerate(lists.get(kind, [])):
                key = f"permissions.{kind}[{index}]"
                base = os.path.dirname(layer.source)
                entries.append(PermissionEntry(rule, kind, layer.source, layer.scope, base, key))
    return PermissionsPolicy(tuple(entries))


def _with_entries(policy: Policy, layers: list[Layer]) -> Policy:
    credentials = _by_name(layers, "credentials")
    gateways = _by_name(layers, "upstreams")
    _check_credentials(credentials)
    for name, (gateway, layer) in gateways.items():
        _check_gateway(gateway, _entry_key(layer, "upstreams", name), layer.source, credentials)
    _check_env_names(credentials, gateways)
    requests = [rule for layer in layers for rule in layer.values.get("requests", {}).values()]
    return replace(
        policy,
        credentials=tuple(c for c, _ in credentials.values()),
        gateways=tuple(g for g, _ in gateways.values()),
        requests=tuple(requests),
    )


def _by_name(layers: list[Layer], section: str) -> dict[str, tuple[Any, Layer]]:
    """Entries by name; the highest layer defining a name wins it entirely."""
    merged: dict[str, tuple[Any, Layer]] = {}
    for layer in layers:
        for name, entry in layer.values.get(section, {}).items():
            merged.setdefault(name, (entry, layer))
    return merged


def _entry_key(layer: Layer, section: str, name: str) -> str:
    return f"{section}[{list(layer.values[section]).index(name)}]"


def _check_credentials(credentials: dict[str, tuple[Credential, Layer]]) -> None:
    # Two credentials in one header of one host: which secret goes out would depend on order.
    seen: dict[tuple[str, str], str] = {}
    for name, (credential, layer) in credentials.items():
        for host in credential.hosts:
            other = seen.setdefault((host.lower(), credential.header.lower()), name)
            if other != name:
                raise PolicyError(
                    f'credential {name!r} sends {credential.header} to {host}, and so does credential {other!r}',
                    source=layer.source,
                    key=f"{_entry_key(layer, 'credentials', name)}.header",
                    expected="one credential per header and host",
                )


def _check_gateway(
    gateway: Gateway, key: str, source: str, credentials: dict[str, tuple[Credential, Layer]]
) -> None:
    if not gateway.credential:
        return
    if gateway.credential not in credentials:
        defined = ", ".join(sorted(credentials)) or "none"
        raise PolicyError(
            f"no credential named {gateway.credential!r} in the policy (defined: {defined})",
            source=source,
            key=f"{key}.credential",
            expected=_ENTRIES["upstreams"]["credential"],
        )
    from urllib.parse import urlsplit

    credential, layer = credentials[gateway.credential]
    parts = urlsplit(gateway.url)
    host, port = normalize_host(parts.hostname or ""), parts.port or _DEFAULT_PORTS[parts.scheme]
    if not HostRules.parse(credential.hosts, ()).decide_name(host, port).allowed:
        raise PolicyError(
            f"{gateway.url!r} is not among the hosts of credential {gateway.credential!r} "
            f"({', '.join(credential.hosts)}, in {layer.source}): the gateway would send the key to a host "
            "it is not for",
            source=source,
            key=f"{key}.url",
            expected="a URL whose host the credential's hosts match",
        )


def _check_env_names(
    credentials: dict[str, tuple[Credential, Layer]], gateways: dict[str, tuple[Gateway, Layer]]
) -> None:
    # Each variable the sandbox is given must mean one thing.
    owners: dict[str, str] = {}
    named = [(c.placeholder_env, layer, _entry_key(layer, "credentials", n) + ".placeholder_env", f"credential {n!r}")
             for n, (c, layer) in credentials.items()]
    named += [(g.base_url_env, layer, _entry_key(layer, "upstreams", n) + ".base_url_env", f"upstream {n!r}")
              for n, (g, layer) in gateways.items()]
    for variable, layer, key, owner in named:
        if not variable:
            continue
        other = owners.setdefault(variable, owner)
        if other != owner:
            raise PolicyError(
                f"{variable} is already set for {other}",
                source=layer.source,
                key=key,
                expected="a variable no other credential or upstream uses",
            )


def _rates(layers: list[Layer]) -> tuple[tuple[str, int, float], ...]:
    merged: dict[str, tuple[str, int, float]] = {}
    for layer in layers:  # highest first: the first layer to rate a host wins
        for host, (count, period) in layer.values.get("network", {}).get("rate", {}).items():
            merged.setdefault(host.strip().lower(), (host, count, period))
    return tuple(merged.values())


def _allow_read(layers: list[Layer]) -> list[str]:
    # A managed layer that denies a path keeps it denied: allow_read only re-allows the
    # built-in list, and any layer's explicit deny_read wins over it.
    denied = set(_union(layers, "filesystem", "deny_read"))
    return [p for p in _union(layers, "filesystem", "allow_read") if p not in denied]


def _check_flag_rule(rule: str) -> None:
    try:
        parse_host_rule(rule)
    except HostRuleError as exc:
        raise PolicyError(str(exc), source="command line", key="--allow-domain") from None


def load_policy(
    *,
    policy_file: str | os.PathLike[str] | None = None,
    overrides: Overrides | None = None,
    cwd: str | os.PathLike[str] | None = None,
    home: str | os.PathLike[str] | None = None,
    managed: str | os.PathLike[str] = MANAGED_POLICY,
) -> Policy:
    """Discover, read, validate and merge every layer for a run in ``cwd``."""
    overrides = overrides or Overrides()
    cwd = os.path.normpath(os.fspath(cwd) if cwd is not None else os.getcwd())
    home_dir = os.fspath(home) if home is not None else home_of_invoker()
    workspace = overrides.workspace or cwd
    file = os.fspath(policy_file) if policy_file is not None else None
    layers = discover_layers(policy_file=file, workspace=workspace, home=home_dir, managed=os.fspath(managed))
    return merge(layers, overrides, cwd=cwd, home=home_dir)
