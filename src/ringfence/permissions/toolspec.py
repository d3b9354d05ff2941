"""Tool names, ``WebFetch(domain:HOST)`` and ``Tool(param:value)``: the small matchers.

Rules this module keeps (reference §1 "Evaluation", "Other tools"):

- a tool name matches itself; ``Edit`` also covers every write tool (Write, MultiEdit,
  NotebookEdit) and ``Read`` every read-only file tool (Glob, Grep, LS, NotebookRead:
  ringfence's reading of "Read rules", see ``engine``);
- ``mcp__srv`` and ``mcp__srv__*`` cover every tool of server ``srv``, ``mcp__srv__tool``
  one tool; a tool-name glob's ``*`` matches any characters;
- ``domain:HOST`` compares the URL's host case-insensitively (IDNA A-labels, no trailing
  dot); ``domain:*.x.com`` matches every subdomain of ``x.com`` but not ``x.com`` itself;
  ``domain:*`` every host, and in a deny or ask rule also a URL without a readable host;
- ``param:value`` compares a top-level scalar field of the input: a string as it is, a
  boolean as ``true``/``false``, a number as JSON writes it, null as ``null``; a ``*`` in
  the value matches any characters; a missing field or a list or object never matches.
"""

from __future__ import annotations

from ringfence.permissions.rules import EDIT_TOOLS, READ_TOOLS

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_FAMILIES = {"Edit": EDIT_TOOLS, "Read": READ_TOOLS}


def compile_tool(tool: str) -> Callable[[str], bool]:
    """A predicate over tool names for a rule's ``tool``."""
    if "*" in tool:
        import re

        match = re.compile(".*".join(re.escape(part) for part in tool.split("*")), re.DOTALL).fullmatch
        return lambda name: match(name) is not None
    family = _FAMILIES.get(tool)
    if family is not None:
        return family.__contains__
    server, sep, _rest = tool.removeprefix("mcp__").partition("__")
    if tool.startswith("mcp__") and server and not sep:
        prefix = tool + "__"
        return lambda name: name == tool or name.startswith(prefix)
    return tool.__eq__


def tool_names(tool: str) -> frozenset[str] | None:
    """The exact tool names a rule's ``tool`` covers, or None when it is a pattern."""
    if "*" in tool or (tool.startswith("mcp__") and "__" not in tool.removeprefix("mcp__")):
        return None
    return _FAMILIES.get(tool, frozenset({tool}))


def compile_domain(spec: str, kind: str) -> Callable[[str], bool]:
    """A predicate over normalised hosts ("" for a URL without one) for ``domain:HOST``."""
    from ringfence.policy.hosts import normalize_host

    host = spec.partition(":")[2]
    if host == "*":
        return (lambda name: True) if kind != "allow" else bool
    if host.startswith("*."):
        suffix = "." + normalize_host(host[2:])
        return lambda name: name.endswith(suffix) and len(name) > len(suffix)
    return normalize_host(host).__eq__


def url_host(url: object) -> str:
    """The normalised host of a URL, or "" when it has none that parses."""
    if not isinstance(url, str):
        return ""
    from urllib.parse import urlsplit

    from ringfence.policy.hosts import HostRuleError, normalize_host

    try:
        return normalize_host(urlsplit(url.strip()).hostname or "")
    except (ValueError, HostRuleError):
        return ""


def compile_param(spec: str) -> Callable[[Mapping[str, object]], bool]:
    """A predicate over a tool's input for ``param:value``."""
    name, _colon, value = spec.partition(":")
    if "*" in value:
        import re

        match = re.compile(".*".join(re.escape(part) for part in value.split("*")), re.DOTALL).fullmatch
        test: Callable[[str], bool] = lambda text: match(text) is not None  # noqa: E731
    else:
        test = value.__eq__

    def check(tool_input: Mapping[str, object]) -> bool:
        text = scalar_text(tool_input.get(name, _MISSING))
        return text is not None and test(text)

    return check


_MISSING = object()


def scalar_text(value: object) -> str | None:
    """A scalar field as a rule's value would spell it; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        import json

        return json.dumps(value)
    return None
