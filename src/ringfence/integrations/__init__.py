"""Adapters that put ringfence's permission engine into other programs.

``agent_sdk``: a ``can_use_tool`` callback and a ``PreToolUse`` hook for the Claude Agent
SDK's ``ClaudeAgentOptions``. The SDK is optional (``pip install 'ringfence[agent-sdk]'``):
these modules import without it, and the factories raise ``IntegrationError`` with that
fix when it is missing.

Every name loads on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

if TYPE_CHECKING:
    from ringfence.integrations.agent_sdk import (
        can_use_tool,
        hook_matchers,
        make_can_use_tool,
        pre_tool_use_hook,
    )
    from ringfence.integrations.errors import IntegrationError

__all__ = ["IntegrationError", "can_use_tool", "hook_matchers", "make_can_use_tool", "pre_tool_use_hook"]

_LAZY = {
    "IntegrationError": "errors",
    "can_use_tool": "agent_sdk",
    "hook_matchers": "agent_sdk",
    "make_can_use_tool": "agent_sdk",
    "pre_tool_use_hook": "agent_sdk",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
