"""The permission engine: Claude Code–compatible rules deciding every tool call.

Rules in Claude Code's syntax (``parse_rule``) and the matchers of their specs; the
engine that decides tool calls with them comes next.

Every name loads on first use: ``ringfence run`` imports nothing of this area.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

if TYPE_CHECKING:
    from ringfence.permissions.errors import PermissionsError, RuleError
    from ringfence.permissions.rules import Rule, Source, parse_rule

__all__ = [
    "PermissionsError",
    "Rule",
    "RuleError",
    "Source",
    "parse_rule",
]

_LAZY = {
    "PermissionsError": "errors",
    "RuleError": "errors",
    "Rule": "rules",
    "Source": "rules",
    "parse_rule": "rules",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
