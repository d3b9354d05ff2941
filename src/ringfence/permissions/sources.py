"""Where rules come from: ringfence's policy layers and Claude Code's settings files.

ringfence's own: ``[permissions] allow/ask/deny`` in every policy layer (managed
``/etc/ringfence/policy.toml``, the project's ``ringfence.toml``, the user's), validated
when the policy loads and kept with the layer they came from.

Claude Code's, when asked (``claude_settings``):

- ``"auto"``: ``/etc/claude-code/managed-settings.json``, then the ``managed-settings.d/*.json``
  beside it in alphabetical order, ``<project>/.claude/settings.local.json``,
  ``<project>/.claude/settings.json`` and ``~/.claude/settings.json``, each if it exists;
- a path: that one file, as ``claude --settings PATH`` reads it (scope ``cli``).

Rules this module keeps:

- the lists of every source are concatenated, ringfence's layers first (managed, project,
  user), then Claude Code's (managed, cli, local, project, user): precedence needs nothing
  more, as a deny anywhere wins; the order only decides which rule a reason names when
  several match;
- each rule keeps its file, scope and the folder its ``/p`` anchor is relative to: the
  project root for a project file, the launch folder for a local file, ``~/.claude`` for
  the user file, the file's own folder for a ``--settings`` file, a managed file and a
  ringfence policy layer;
- fail closed: a file that is not JSON, a ``permissions`` block of the wrong shape or one
  malformed rule anywhere raises ``PermissionsError`` naming the file, the key
  (``permissions.deny[2]``), the rule and what is wrong, and no engine is built;
- Claude Code's managed lock ``allowManagedPermissionRulesOnly: true`` in a managed file
  drops the rules of every other Claude Code settings file (ringfence's own policy layers
  are kept: they are not Claude Code's);
- ``trust_project=False`` drops the allow rules of project-level sources (Claude Code's
  ``project`` and ``local`` files, ringfence's project layer), as Claude Code does for a
  folder that is not trusted and in ``-p`` and SDK sessions.
"""

from __future__ import annotations

import os

from ringfence.permissions.errors import PermissionsError, RuleError
from ringfence.permissions.rules import KINDS, Rule, Source, parse_rule

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from ringfence.policy.model import Policy

MANAGED_SETTINGS = "/etc/claude-code/managed-settings.json"
SETTINGS_LIMIT = 4 << 20  # bytes; a settings file is a few KiB
PROJECT_SCOPES = frozenset({"project", "local", "ringfence-project"})


def collect_rules(
    policy: Policy,
    *,
    cwd: str,
    home: str,
    claude_settings: str | None = None,
    claude_managed: str = MANAGED_SETTINGS,
    trust_project: bool = True,
) -> list[Rule]:
    """Every rule of the policy's layers and, when asked, of Claude Code's settings files."""
    rules = policy_rules(policy)
    if claude_settings:
        rules += claude_rules(claude_settings, cwd=cwd, home=home, managed=claude_managed)
    if not trust_project:
        rules = [r for r in rules if not (r.kind == "allow" and r.source.scope in PROJECT_SCOPES)]
    return rules


def policy_rules(policy: Policy) -> list[Rule]:
    """The rules of ``[permissions]`` in every policy layer, highest layer first."""
    rules = []
    for entry in policy.permissions.entries:
        source = Source(entry.source, f"ringfence-{entry.scope}" if entry.scope else "ringfence")
        try:
            rules.append(parse_rule(entry.rule, entry.kind, source=source, base=entry.base, key=entry.key))
        except RuleError as exc:
            raise exc.at(entry.source, entry.key) from None
    return rules


def claude_rules(spec: str, *, cwd: str, home: str, managed: str = MANAGED_SETTINGS) -> list[Rule]:
    """The rules of Claude Code's settings files: ``spec`` is ``"auto"`` or a path."""
    if spec != "auto":
        from ringfence.permissions.pathspec import normalize

        path = normalize(spec, cwd=cwd, home=home)
        if not os.path.isfile(path):
            raise PermissionsError(
                "settings file not found", source=path, hint="check the path given to --claude-settings"
            )
        return read_settings(path, "cli", os.path.dirname(path))
    managed_rules: list[Rule] = []
    locked = False
    for path in managed_files(managed):
        managed_rules += read_settings(path, "managed", os.path.dirname(path))
        locked = locked or _managed_only(path)
    if locked:
        return managed_rules
    others = (
        (os.path.join(cwd, ".claude", "settings.local.json"), "local", cwd),
        (os.path.join(cwd, ".claude", "settings.json"), "project", cwd),
        (os.path.join(home, ".claude", "settings.json"), "user", os.path.join(home, ".claude")),
    )
    rules = managed_rules
    for path, scope, base in others:
        if os.path.isfile(path):
            rules += read_settings(path, scope, base)
    return rules


def managed_files(managed: str) -> list[str]:
    """The managed settings file and its ``managed-settings.d/*.json``, in merge order."""
    files = [managed] if os.path.isfile(managed) else []
    folder = os.path.join(os.path.dirname(managed), "managed-settings.d")
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except (FileNotFoundError, NotADirectoryError):
        names = []
    except PermissionError:
        raise PermissionsError("folder not readable", source=folder, hint="managed settings must be readable") from None
    return files + [os.path.join(folder, n) for n in names if os.path.isfile(os.path.join(folder, n))]


def read_settings(path: str, scope: str, base: str) -> list[Rule]:
    """The rules of one settings file's ``permissions`` block."""
    data = _load_json(path)
    block = data.get("permissions", {})
    if not isinstance(block, dict):
        raise PermissionsError("must be an object", source=path, key="permissions",
                               hint='write "permissions": {"allow": [], "ask": [], "deny": []}')
    source = Source(path, scope)
    rules = []
    for kind in KINDS:
        texts = block.get(kind, [])
        if not isinstance(texts, list):
            raise PermissionsError("must be a list of rule strings", source=path, key=f"permissions.{kind}")
        for index, text in enumerate(texts):
            key = f"permissions.{kind}[{index}]"
            if not isinstance(text, str):
                raise PermissionsError(f"must be a rule string, not {text!r}", source=path, key=key)
            try:
                rules.append(parse_rule(text, kind, source=source, base=base, key=key))
            except RuleError as exc:
                raise exc.at(path, key) from None
    return rules


def _load_json(path: str) -> dict[str, object]:
    import json

    try:
        with open(path, "rb") as fh:
            raw = fh.read(SETTINGS_LIMIT + 1)
    except OSError as exc:
        raise PermissionsError(f"cannot be read ({exc.strerror})", source=path) from None
    if len(raw) > SETTINGS_LIMIT:
        raise PermissionsError(f"is larger than {SETTINGS_LIMIT >> 20} MiB", source=path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PermissionsError(f"is not UTF-8 (byte {exc.start})", source=path) from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise PermissionsError(f"not valid JSON at {where}: {exc.msg}", source=path) from None
    if not isinstance(data, dict):
        raise PermissionsError("must be a JSON object", source=path)
    return data


def _managed_only(path: str) -> bool:
    return _load_json(path).get("allowManagedPermissionRulesOnly") is True
