"""Permission rules in Claude Code's syntax, parsed as Claude Code parses them.

A rule is ``Tool`` or ``Tool(spec)`` in one of three lists, ``deny``, ``ask`` or ``allow``:
``Bash(npm run test:*)``, ``Read(./.env)``, ``Edit(src/**)``, ``WebFetch(domain:*.example.com)``,
``mcp__github__create_issue``, ``Agent(model:opus)``.

Rules this module keeps (Claude Code's behaviour, reference §1 "Parsing a rule"):

- the spec runs from the first unescaped ``(`` to the last unescaped ``)``, which must be
  the rule's final character; a character is escaped when an odd number of backslashes
  precede it;
- a spec of ``""`` or ``"*"`` means the whole tool (stored as ``""``);
- the spec is unescaped in this order: ``\\(`` then ``\\)`` then ``\\\\``;
- a tool name may be a glob (``*``) in deny and ask rules; in an allow rule only after a
  literal ``mcp__<server>__``; a tool-name glob takes no spec;
- ``Tool(param:value)`` matches a top-level scalar field of the tool's input; it is
  accepted in deny and ask rules only, and never on ``command``, ``file_path`` or ``url``;
- ``Read(path)`` and ``Edit(path)`` are the only path rules consulted; a path spec on any
  other file tool (``Write(src/**)``, ``Glob(...)``) parses but never matches;
- ``WebFetch`` specs are ``domain:HOST``, with ``*`` alone or as a leading ``*.`` label;
- every rule that parses here also compiles: a malformed one raises ``RuleError`` with
  the rule's text and what is wrong (the caller adds the file and key).

Where Claude Code's syntax is ambiguous, ringfence decides:

- ``name:value`` is a parameter rule on a tool with a spec syntax of its own (Bash, Read,
  Edit, WebFetch...) only when ``name`` is one of that tool's input fields (``FIELDS``):
  ``Bash(npm:*)`` is a command prefix; ``Bash(timeout:*)`` too, as ``timeout`` is a command;
- a spec ringfence does not model, on a tool it does not model (``Agent(Explore)``), is
  kept as an *opaque* rule: as a deny or ask it applies to the whole tool (fail closed),
  as an allow it never matches;
- a tool-name glob takes no spec; ``param:value`` values may hold ``*`` wildcards.
"""

from __future__ import annotations

from ringfence._struct import record
from ringfence.permissions.errors import RuleError

KINDS = ("deny", "ask", "allow")  # in the order they are evaluated

# What a rule's spec is, once parsed.
WHOLE = "whole"  # no spec, "" or "*": the whole tool
PARAM = "param"  # param:value on a top-level scalar field of the input
BASH = "bash"  # a Bash command spec
PATH = "path"  # a Read or Edit path spec (gitignore syntax)
DOMAIN = "domain"  # WebFetch(domain:HOST)
NEVER = "never"  # a path spec on a file tool whose path rules Claude Code never consults
OPAQUE = "opaque"  # a spec ringfence does not model, on a tool it does not model

# The tools each path-rule tool stands for: an Edit rule covers every write tool, a Read
# rule every tool that only reads files (ringfence's choice for Glob/Grep/LS, see engine).
EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit", "NotebookEdit"})
READ_TOOLS = frozenset({"Read", "Glob", "Grep", "LS", "NotebookRead"})
FILE_TOOLS = EDIT_TOOLS | READ_TOOLS

# The input fields of the tools whose spec has a syntax of its own: there, ``name:value``
# is a parameter rule only when ``name`` is one of these (``Bash(npm:*)`` is a command).
# ``timeout`` is left out of Bash on purpose: ``Bash(timeout:*)`` is a command prefix.
FIELDS: dict[str, frozenset[str]] = {
    "Bash": frozenset({"command", "description", "run_in_background", "dangerouslyDisableSandbox"}),
    "Read": frozenset({"file_path", "offset", "limit", "pages"}),
    "Edit": frozenset({"file_path", "old_string", "new_string", "replace_all"}),
    "Write": frozenset({"file_path", "content"}),
    "MultiEdit": frozenset({"file_path", "edits"}),
    "NotebookEdit": frozenset({"notebook_path", "cell_id", "new_source", "cell_type", "edit_mode"}),
    "NotebookRead": frozenset({"notebook_path", "cell_id"}),
    "Glob": frozenset({"pattern", "path"}),
    "Grep": frozenset({"pattern", "path", "glob", "type", "output_mode", "multiline", "head_limit"}),
    "LS": frozenset({"path", "ignore"}),
    "WebFetch": frozenset({"url", "prompt"}),
}
# Claude Code refuses Tool(param:value) on these: the tool's own spec syntax covers them.
CONTENT_FIELDS = frozenset({"command", "file_path", "url"})

_TOOL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.*")


@record
class Source:
    """Where a rule was read: a file (or ``<api>``, ``<cli>``) and its scope.

    Scopes: Claude Code's ``managed``, ``cli``, ``local``, ``project``, ``user``;
    ringfence's policy layers ``ringfence-managed``, ``ringfence-project``,
    ``ringfence-user``; ``api`` for rules a program passed in.
    """

    path: str
    scope: str

    def __str__(self) -> str:
        return f"{self.scope} {self.path}" if self.path else self.scope


API = Source("", "api")


@record
class Rule:
    """One parsed rule.

    ``tool`` is a name or a tool-name glob; ``spec`` is the unescaped spec ("" for the
    whole tool); ``form`` says how the spec is read (``WHOLE``, ``PARAM``, ``BASH``,
    ``PATH``, ``DOMAIN``, ``NEVER``, ``OPAQUE``); ``base`` is the folder a ``/p`` path
    anchor is relative to (it depends on the settings source); ``key`` where in its file
    it was (``permissions.deny[2]``), for messages.
    """

    text: str
    tool: str
    spec: str
    kind: str
    form: str
    source: Source = API
    base: str = ""
    key: str = ""

    def describe(self) -> str:
        """``Bash(rm:*)`` (deny rule, project /ws/.claude/settings.json)."""
        where = f", {self.source}" if self.source is not API and self.source != API else ""
        return f"{self.text} ({self.kind} rule{where})"


def parse_rule(text: str, kind: str, *, source: Source = API, base: str = "", key: str = "") -> Rule:
    """Parse one rule of list ``kind`` (``deny``, ``ask`` or ``allow``); raises ``RuleError``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    if not isinstance(text, str) or not text:
        raise RuleError(str(text), "is empty", hint="write a tool name such as Bash or Bash(npm test)")
    tool, spec = _split(text)
    _check_tool(text, tool, kind)
    form = _form(text, tool, spec, kind)
    return Rule(text, tool, spec if form != WHOLE else "", kind, form, source, base, key)


def _split(text: str) -> tuple[str, str]:
    """``Tool(spec)`` -> (``Tool``, unescaped spec); ``Tool`` -> (``Tool``, "")."""
    opening = _first_unescaped(text, "(")
    closing = _last_unescaped(text, ")")
    if opening < 0:
        if closing >= 0:
            raise RuleError(text, 'has a ")" without a "("')
        return text, ""
    if closing < opening:
        raise RuleError(text, 'has no closing ")"', hint='end the rule with ")", or escape a literal "(" as "\\("')
    if closing != len(text) - 1:
        raise RuleError(text, f'has text after the closing ")": {text[closing + 1:]!r}')
    raw = text[opening + 1 : closing]
    spec = raw.replace("\\(", "(").replace("\\)", ")").replace("\\\\", "\\")
    return text[:opening], spec


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _first_unescaped(text: str, char: str) -> int:
    index = text.find(char)
    while index >= 0 and _escaped(text, index):
        index = text.find(char, index + 1)
    return index


def _last_unescaped(text: str, char: str) -> int:
    index = text.rfind(char)
    while index >= 0 and _escaped(text, index):
        index = text.rfind(char, 0, index)
    return index


def _check_tool(text: str, tool: str, kind: str) -> None:
    if not tool:
        raise RuleError(text, "has no tool name before its spec")
    bad = sorted(set(tool) - _TOOL_CHARS)
    if bad:
        hint = "tool names are letters, digits, '_', '-' and '.'"
        raise RuleError(text, f"tool name {tool!r} contains {''.join(bad)!r}", hint=hint)
    if "*" in tool and kind == "allow" and not _mcp_glob(tool):
        raise RuleError(
            text,
            "a tool-name glob in an allow rule must follow a literal mcp__<server>__",
            hint="tool-name globs such as mcp__* or Bash* are accepted in deny and ask rules only",
        )


def _mcp_glob(tool: str) -> bool:
    server, sep, _tail = tool.removeprefix("mcp__").partition("__")
    return tool.startswith("mcp__") and bool(sep) and bool(server) and "*" not in server


def _form(text: str, tool: str, spec: str, kind: str) -> str:
    if spec in ("", "*"):
        return WHOLE
    if not spec.strip():
        raise RuleError(text, "has a blank spec", hint=f"write {tool} for the whole tool")
    if "*" in tool:
        raise RuleError(text, "a tool-name glob takes no spec", hint=f"write {tool} alone")
    if _is_param(tool, spec):
        return _param_form(text, spec, kind)
    if tool == "Bash":
        return _bash_form(text, spec)
    if tool in ("Read", "Edit"):
        from ringfence.permissions.pathspec import check_path_spec

        check_path_spec(text, spec)
        return PATH
    if tool in FILE_TOOLS:
        return NEVER
    if tool == "WebFetch":
        return _domain_form(text, spec)
    return OPAQUE


def _is_param(tool: str, spec: str) -> bool:
    name, colon, _value = spec.partition(":")
    if not colon or not name.isidentifier():
        return False
    known = FIELDS.get(tool)
    return known is None or name in known


def _param_form(text: str, spec: str, kind: str) -> str:
    name = spec.partition(":")[0]
    if name in CONTENT_FIELDS:
        raise RuleError(
            text,
            f"Tool(param:value) is not accepted on {name}",
            hint="use the tool's own spec: Bash(cmd:*), Read(path), WebFetch(domain:HOST)",
        )
    if kind == "allow":
        raise RuleError(text, "Tool(param:value) rules are accepted in deny and ask lists only")
    return PARAM


def _bash_form(text: str, spec: str) -> str:
    if spec.endswith(":*") and not _escaped(spec, len(spec) - 1) and not spec[:-2].strip():
        raise RuleError(text, 'has nothing before ":*"', hint="write Bash for every command")
    return BASH


def _domain_form(text: str, spec: str) -> str:
    kind, colon, host = spec.partition(":")
    if kind != "domain" or not colon:
        raise RuleError(
            text, "a WebFetch spec must be domain:HOST", hint="for example WebFetch(domain:docs.python.org)"
        )
    if host == "*":
        return DOMAIN
    name = host[2:] if host.startswith("*.") else host
    if "*" in name:
        raise RuleError(text, "'*' is accepted only alone or as a leading '*.' label", hint="domain:*.example.com")
    from ringfence.policy.hosts import HostRuleError, normalize_host

    try:
        normalize_host(name)
    except HostRuleError:
        raise RuleError(text, f"{host!r} is not a host name") from None
    return DOMAIN
