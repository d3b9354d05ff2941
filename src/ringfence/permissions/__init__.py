"""The permission engine: Claude Code–compatible rules deciding every tool call.

``Engine`` decides a tool call (``allow``, ``ask`` or ``deny``, the rule that decided and a
sentence for a person) from rules in Claude Code's syntax: ringfence's ``[permissions]``
policy layers and, when asked, Claude Code's own settings files. Bash commands are parsed
for real (``ringfence.analysis.bash``): a deny or ask rule fires on any part of a compound
command, an allow needs every part.

Every name loads on first use: ``ringfence run`` imports nothing of this area.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

if TYPE_CHECKING:
    from ringfence.permissions.engine import Decision, Engine
    from ringfence.permissions.errors import PermissionsError, RuleError
    from ringfence.permissions.rules import Rule, Source, parse_rule
    from ringfence.permissions.sources import claude_rules, collect_rules, policy_rules

__all__ = [
    "Decision",
    "Engine",
    "PermissionsError",
    "Rule",
    "RuleError",
    "Source",
    "claude_rules",
    "collect_rules",
    "parse_rule",
    "policy_rules",
]

_LAZY = {
    "Decision": "engine",
    "Engine": "engine",
    "PermissionsError": "errors",
    "RuleError": "errors",
    "Rule": "rules",
    "Source": "rules",
    "parse_rule": "rules",
    "claude_rules": "sources",
    "collect_rules": "sources",
    "policy_rules": "sources",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
