"""Reading, validating and merging the policy layers.

Layers, highest first: managed (``/etc/ringfence/policy.toml``), project (``--policy FILE``
or ``ringfence.toml`` in the workspace), user (``~/.config/ringfence/policy.toml``), then the
command-line flags on top. Lists are unions; a deny in any layer wins over any allow, so a
managed deny cannot be undone below it. A scalar comes from the highest layer that sets it.

Every error names the file, the key path, the bad value and the expected form; a policy
that does not validate as a whole is not used at all.
"""

from __future__ import annotations

import os
import pwd

from ringfence._struct import field, record
from ringfence.errors import PolicyError
from ringfence.policy.hosts import HostRuleError, parse_host_rule
from ringfence.policy.model import (
    DEFAULT_AUDIT_PATH,
    DEFAULT_ENV,
    DEFAULT_TMP_SIZE,
    AuditPolicy,
    FilesystemPolicy,
    NetworkPolicy,
    Policy,
    SandboxPolicy,
    UnixSockets,
)

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

MANAGED_POLICY = "/etc/ringfence/policy.toml"
USER_POLICY = "~/.config/ringfence/policy.toml"
PROJECT_POLICY_NAME = "ringfence.toml"

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
    },
    "audit": {"path": "a path"},
}


def home_of_invoker() -> str:
    """The home folder ``~`` expands to: the invoking user's, from the password database."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return os.environ.get("HOME", "/")


@record(frozen=False)
class Layer:
    """One parsed policy file (or the flags), with paths already resolved."""

    source: str
    values: dict[str, dict[str, Any]] = field(default_factory=dict)


@record(frozen=False)
class Overrides:
    """What the command-line flags add to the merged policy."""

    workspace: str | None = None
    allow_domains: list[str] = field(default_factory=list)
    allow_write: list[str] = field(default_factory=list)
    deny_read: list[str] = field(default_factory=list)
    no_network: bool = False


def read_layer(path: str | os.PathLike[str], home: str | os.PathLike[str]) -> Layer:
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
    return Layer(source, _validate(data, source, os.path.dirname(source), home))


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
        if section not in _SCHEMA:
            raise PolicyError(
                "unknown section", source=source, key=f"[{section}]", expected=f"one of {_names(_SCHEMA)}"
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
    key: str
    base: str
    home: str

    def error(self, message: str, value: object) -> PolicyError:
        section, _, name = self.key.partition(".")
        expected = _SCHEMA[section][name]
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
    "audit.path": _path,
}


def discover_layers(
    *, policy_file: str | None, workspace: str, home: str, managed: str = MANAGED_POLICY
) -> list[Layer]:
    """The layers that apply, highest first: managed, project, user."""
    layers: list[Layer] = []
    if os.path.isfile(managed):
        layers.append(read_layer(managed, home))
    project = policy_file if policy_file is not None else os.path.join(workspace, PROJECT_POLICY_NAME)
    if policy_file is not None or os.path.isfile(project):
        layers.append(read_layer(project, home))
    user = resolve_path(USER_POLICY, home, home)
    if os.path.isfile(user):
        layers.append(read_layer(user, home))
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
        ),
        audit=AuditPolicy(path=_first(layers, "audit", "path", resolve_path(DEFAULT_AUDIT_PATH, home, home))),
        sources=tuple(layer.source for layer in layers if layer.source != "flags"),
    )
    return policy


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
