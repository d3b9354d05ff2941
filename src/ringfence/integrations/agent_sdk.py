"""The permission engine inside a Claude Agent SDK app: ``can_use_tool`` and a PreToolUse hook.

::

    from claude_agent_sdk import ClaudeAgentOptions
    from ringfence.integrations.agent_sdk import hook_matchers, make_can_use_tool

    options = ClaudeAgentOptions(cwd=CWD, setting_sources=[],
                                 can_use_tool=make_can_use_tool(cwd=CWD),
                                 hooks=hook_matchers(cwd=CWD))

Rules this module keeps (reference §3 "HOOKS", §4 "AGENT SDK"):

- the SDK calls ``can_use_tool`` only for calls nothing earlier approved, and never in
  ``dontAsk`` mode; the PreToolUse hook sees every call, so use both, or the hook alone;
- ``allow`` passes the input on unchanged, ``deny`` carries the engine's reason to the
  model; ``ask`` goes to the app's ``approver`` when it gave one and is otherwise denied
  with the reason (a headless session has no person to ask); the hook answers ``ask`` as
  ``ask`` and lets the SDK decide who asks;
- fail closed: a malformed call, an engine or approver error, or an approver answer other
  than ``True`` is a deny; the hook matchers block on a callback failure
  (``on_failure="block"``) and never answer ``{}`` (no opinion);
- with no engine given, one is built from ringfence's policy layers for ``cwd`` without
  the project's allow rules (``trust_project=False``: SDK sessions skip them, §1 "Trust").
  A malformed policy raises from the factory, so a bad policy stops the app at start-up.

``claude_agent_sdk`` is optional and imported only by the factories; without it they raise
``IntegrationError`` with the command that installs it.
"""

from __future__ import annotations

import os

from ringfence.integrations.errors import IntegrationError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping
    from types import ModuleType
    from typing import Any, Literal

    from claude_agent_sdk import (
        CanUseTool,
        HookCallback,
        HookContext,
        HookInput,
        HookMatcher,
        PermissionResultAllow,
        PermissionResultDeny,
        ToolPermissionContext,
    )
    from claude_agent_sdk.types import HookEvent, SyncHookJSONOutput

    from ringfence.permissions import Decision, Engine

    Approver = Callable[[str, dict[str, Any], Decision], Awaitable[bool]]
    _Behavior = Literal["allow", "deny", "ask"]

INSTALL_HINT = "pip install 'ringfence[agent-sdk]'"
_ENGINE_CACHE_LIMIT = 64  # distinct working folders a default hook keeps an engine for
_BEHAVIORS: dict[str, _Behavior] = {"allow": "allow", "ask": "ask", "deny": "deny"}


def _sdk() -> ModuleType:
    """``claude_agent_sdk``, imported on first use; a clear error with the fix without it."""
    try:
        import claude_agent_sdk
    except ImportError as exc:
        raise IntegrationError(
            f"the Claude Agent SDK adapter needs the claude-agent-sdk package, which is not installed ({exc})",
            hint=INSTALL_HINT,
        ) from exc
    return claude_agent_sdk


def default_engine(cwd: str) -> Engine:
    """The engine for an SDK session in ``cwd``: ringfence's policy layers, project allows
    skipped. Raises ``PolicyError`` or ``PermissionsError`` for a malformed policy."""
    from ringfence.permissions import Engine
    from ringfence.policy import home_of_invoker, load_policy

    return Engine.from_policy(load_policy(cwd=cwd), cwd=cwd, home=home_of_invoker(), trust_project=False)


# --- can_use_tool -------------------------------------------------------------------------


def make_can_use_tool(
    engine: Engine | None = None, *, cwd: str | None = None, approver: Approver | None = None,
) -> CanUseTool:
    """A ``ClaudeAgentOptions(can_use_tool=...)`` callback deciding each call with ``engine``
    (by default, ``default_engine(cwd or the current folder)``).

    ``approver(tool_name, tool_input, decision)`` is awaited for an ``ask``; ``True`` allows
    the call, anything else (``False``, an error) denies it. Without one, ``ask`` is a deny.
    """
    sdk = _sdk()
    allow_type: type[PermissionResultAllow] = sdk.PermissionResultAllow
    deny_type: type[PermissionResultDeny] = sdk.PermissionResultDeny
    decider = engine if engine is not None else default_engine(os.path.abspath(cwd or os.getcwd()))

    async def can_use_tool(
        tool_name: str, tool_input: dict[str, Any], context: ToolPermissionContext,
    ) -> PermissionResultAllow | PermissionResultDeny:
        try:
            allowed, reason = await _settle(decider, approver, tool_name, tool_input)
        except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
            allowed, reason = False, f"ringfence could not decide on this call ({type(exc).__name__}: {exc}), so it is denied"
        return allow_type(updated_input=tool_input) if allowed else deny_type(message=reason)

    return can_use_tool


can_use_tool = make_can_use_tool  # the name issue 4 gives the factory


async def _settle(
    engine: Engine, approver: Approver | None, tool_name: str, tool_input: dict[str, Any],
) -> tuple[bool, str]:
    """(allowed, reason) for one call: the engine's decision, an ``ask`` settled by ``approver``."""
    if not isinstance(tool_name, str) or not isinstance(tool_input, dict):
        return False, "the tool call is malformed: it needs a tool name and an input object"
    decision = engine.decide(tool_name, tool_input)
    if decision.behavior == "allow":
        return True, decision.reason
    if decision.behavior != "ask":
        return False, decision.reason
    if approver is None:
        return False, f"{decision.reason}; nobody is there to approve it (no approver), so it is denied"
    if await approver(tool_name, tool_input, decision) is True:
        return True, decision.reason
    return False, f"{decision.reason}; the approver refused it"


# --- the PreToolUse hook ------------------------------------------------------------------


def pre_tool_use_hook(engine: Engine | None = None, *, cwd: str | None = None) -> HookCallback:
    """A PreToolUse ``HookCallback`` answering every call with the engine's decision.

    As ``ringfence hook claude-code`` does, a call no rule, check or finding asked about
    (``Decision.default``) gets no decision (``{}``): the SDK's permission mode and
    ``can_use_tool`` decide it, as with no hook. Deny rules, explicit asks, protected paths
    and risk findings are answered in every mode.

    It reads ``tool_name``, ``tool_input`` and ``cwd`` from the hook input. Without an
    engine, it keeps one per working folder (``default_engine``), the one for ``cwd`` (or the
    current folder) built now; a folder whose policy cannot be loaded denies its calls.
    With an engine, a call from another folder is never allowed (the engine resolves
    relative paths against its own folder): an ``allow`` becomes an ``ask``.
    """
    _sdk()
    engines = _Engines(engine, os.path.abspath(cwd or os.getcwd()))

    async def hook(input: HookInput, tool_use_id: str | None, context: HookContext) -> SyncHookJSONOutput:
        try:
            behavior, reason = _hook_decision(engines, input)
        except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
            behavior, reason = "deny", f"ringfence could not decide on this call ({type(exc).__name__}: {exc}), so it is denied"
        if behavior == _NO_OPINION:
            return {}
        return {"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": _BEHAVIORS.get(behavior, "deny"),
            "permissionDecisionReason": reason,
        }}

    return hook


def hook_matchers(
    engine: Engine | None = None, *, cwd: str | None = None, timeout: float | None = None,
) -> dict[HookEvent, list[HookMatcher]]:
    """``ClaudeAgentOptions(hooks=...)``: the PreToolUse hook on every tool, blocking the
    call if the callback fails (``on_failure="block"``)."""
    matcher: type[HookMatcher] = _sdk().HookMatcher
    hook = pre_tool_use_hook(engine, cwd=cwd)
    return {"PreToolUse": [matcher(matcher=None, hooks=[hook], timeout=timeout, on_failure="block")]}


def _hook_decision(engines: _Engines, input: Mapping[str, object]) -> tuple[str, str]:
    """(behavior, reason) for one PreToolUse hook input."""
    if not hasattr(input, "get"):
        return "deny", "the hook input is malformed: it is not an object"
    event = input.get("hook_event_name", "PreToolUse")
    tool_name, tool_input, cwd = input.get("tool_name"), input.get("tool_input"), input.get("cwd")
    if event != "PreToolUse":
        return "deny", f"the hook input is malformed: ringfence's PreToolUse hook got a {event!r} event"
    if not isinstance(tool_name, str) or not tool_name or not isinstance(tool_input, dict):
        return "deny", "the hook input is malformed: it needs tool_name and a tool_input object"
    if not isinstance(cwd, str) or not os.path.isabs(cwd) or "\0" in cwd:
        return "deny", "the hook input is malformed: it needs cwd, an absolute path"
    engine, foreign = engines.for_cwd(os.path.normpath(cwd))
    decision = engine.decide(tool_name, tool_input)
    if decision.behavior == "allow" and foreign:
        return "ask", (f"the call runs in {cwd}, not in {engine.cwd} that ringfence's rules were set up "
                       f"for, so it is not auto-approved ({decision.reason})")
    if decision.behavior == "ask" and decision.default:
        return _NO_OPINION, decision.reason  # as `ringfence hook claude-code`: the mode decides
    return decision.behavior, decision.reason


_NO_OPINION = "none"  # the hook answers {}: no rule, check or finding asked about the call


class _Engines:
    """The engine for a hook call's working folder: the given one, or one per folder."""

    def __init__(self, engine: Engine | None, cwd: str) -> None:
        self._given = engine
        self._built: dict[str, Engine] = {}
        if engine is None:
            self._built[cwd] = default_engine(cwd)  # a malformed policy raises here, at set-up

    def for_cwd(self, cwd: str) -> tuple[Engine, bool]:
        """(engine, whether the engine was built for another folder); raises when the
        policy for ``cwd`` cannot be loaded (the caller denies)."""
        if self._given is not None:
            return self._given, not _same_folder(cwd, self._given.cwd)
        engine = self._built.get(cwd)
        if engine is None:
            engine = default_engine(cwd)
            if len(self._built) < _ENGINE_CACHE_LIMIT:
                self._built[cwd] = engine
        return engine, False


def _same_folder(a: str, b: str) -> bool:
    return os.path.normpath(a) == os.path.normpath(b) or os.path.realpath(a) == os.path.realpath(b)
