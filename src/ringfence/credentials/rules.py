"""Request rules: which methods, paths and body sizes a host may be sent (pure).

A rule comes from ``[[requests]]`` or from a credential's ``methods``/``paths``/``max_body``.

Rules this module keeps:

- every rule whose hosts match the destination applies, and all of them must pass;
- ``methods`` compare exactly (upper case, as HTTP spells them);
- ``paths`` are globs over the path without its query: ``*`` matches any run of characters,
  ``/`` included, ``?`` exactly one character, anything else itself (case-sensitive);
- when a path rule applies, a path whose meaning depends on how the server normalises it
  is refused (400) rather than guessed at: dot segments (``/./``, ``/../``, a final ``/.``
  or ``/..``, also with ``;parameters`` as some servers strip them), percent-encoded
  ``.``, ``/``, ``\\`` (``%2e``, ``%2f``, ``%5c``), control characters and NUL raw or
  encoded, ``%c0``/``%c1`` (overlong UTF-8), backslashes, and anything not in origin form.
  A path rule that ``/repos/acme/../other`` could dodge would be worthless;
- ``max_body`` refuses a declared body above it (413); a body of unknown length (chunked)
  is the caller's to cut off while streaming, at ``max_body_for``;
- a refusal names its rule and says what was refused and what is allowed.
"""

from __future__ import annotations

from ringfence._struct import record
from ringfence.policy.hosts import HostRules

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ringfence.policy.model import RequestRule


@record
class Refusal:
    """A request a rule refuses: the rule's name, the status to answer with, and why."""

    rule: str
    status: int  # 403; 413 for a body too large; 400 for a path too ambiguous to judge
    reason: str


# Percent-encodings that change a path's structure once decoded (. / \), decode to control
# characters, or start an overlong UTF-8 form of an ASCII character.
_AMBIGUOUS_ESCAPES = frozenset(
    ["2e", "2f", "5c", "7f", "c0", "c1"] + [f"{i:02x}" for i in range(0x20)]
)


def ambiguity(path: str) -> str:
    """Why ``path`` (without its query) is too ambiguous to judge by a path rule, or ""."""
    if not path.startswith("/"):
        return "is not an absolute path"
    if any(ord(c) < 0x20 or c == "\x7f" for c in path):
        return "contains a control character"
    if "\\" in path:
        return "contains a backslash"
    for segment in path.split("/"):
        if segment.split(";", 1)[0] in (".", ".."):
            return "contains a dot segment"
    escape = path.find("%")
    while escape >= 0:
        if path[escape + 1 : escape + 3].lower() in _AMBIGUOUS_ESCAPES:
            return f"contains the encoded character {path[escape:escape + 3]!r}"
        escape = path.find("%", escape + 1)
    return ""


def glob_match(pattern: str, text: str) -> bool:
    """Does ``text`` match ``pattern`` as a whole (``*`` any run, ``?`` one character)?

    The greedy two-pointer match: backtracks only to the last ``*``, so it runs in
    O(len(pattern) * len(text)) at worst, where a regular expression could take exponential
    time on a pattern with many stars."""
    p = t = 0
    star = -1  # position in pattern just after the last '*'
    mark = 0  # position in text that star's run would have to grow from
    while t < len(text):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == text[t]) and pattern[p] != "*":
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p + 1, t
            p += 1
        elif star >= 0:
            mark += 1
            p, t = star, mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


class _Compiled:
    __slots__ = ("hosts", "rule")

    def __init__(self, rule: RequestRule) -> None:
        self.rule = rule
        self.hosts = HostRules.parse(rule.hosts, ())


class RequestPolicy:
    """Every request rule of a policy, checked together."""

    __slots__ = ("_applying", "_rules")

    def __init__(self, rules: Sequence[RequestRule]) -> None:
        self._rules = tuple(_Compiled(rule) for rule in rules)
        self._applying: dict[tuple[str, int], tuple[RequestRule, ...]] = {}

    def __repr__(self) -> str:
        return f"RequestPolicy({[c.rule.name for c in self._rules]})"

    def check(self, host: str, port: int, method: str, path: str, body_length: int | None) -> Refusal | None:
        """The first refusal of a rule that applies to ``host:port``, or None.

        ``path`` is the request target in origin form (``/a/b?q``); ``body_length`` the
        declared Content-Length, None when unknown (chunked)."""
        for rule in self.applying(host, port):
            refusal = _check_rule(rule, host, method, path, body_length)
            if refusal is not None:
                return refusal
        return None

    def max_body_for(self, host: str, port: int) -> int:
        """The smallest ``max_body`` of the rules that apply to ``host:port``; 0 for none."""
        limits = [rule.max_body for rule in self.applying(host, port) if rule.max_body]
        return min(limits, default=0)

    def applying(self, host: str, port: int) -> tuple[RequestRule, ...]:
        """The rules whose hosts match ``host:port``, in policy order."""
        key = (host, port)
        found = self._applying.get(key)
        if found is None:
            found = tuple(c.rule for c in self._rules if c.hosts.decide_name(host, port).allowed)
            if len(self._applying) >= 4096:
                self._applying.clear()
            self._applying[key] = found
        return found


def _check_rule(rule: RequestRule, host: str, method: str, path: str, body_length: int | None) -> Refusal | None:
    if rule.methods and method not in rule.methods:
        return Refusal(rule.name, 403, f"{rule.name}: method {method} is not allowed for {host}; "
                                       f"allowed: {', '.join(rule.methods)}")
    if rule.paths:
        refusal = _check_path(rule, host, path)
        if refusal is not None:
            return refusal
    if rule.max_body and body_length is not None and body_length > rule.max_body:
        return Refusal(rule.name, 413, f"{rule.name}: a body of {body_length} bytes is over the limit of "
                                       f"{rule.max_body} bytes for {host}")
    return None


def _check_path(rule: RequestRule, host: str, target: str) -> Refusal | None:
    path = target.split("?", 1)[0].split("#", 1)[0]
    why = ambiguity(path)
    if why:
        return Refusal(rule.name, 400, f"{rule.name}: the path {_shown(path)} {why}, so whether it is one of "
                                       f"the allowed paths ({', '.join(rule.paths)}) cannot be told; "
                                       "send it in its plain form")
    if any(glob_match(pattern, path) for pattern in rule.paths):
        return None
    return Refusal(rule.name, 403, f"{rule.name}: the path {_shown(path)} is not allowed for {host}; "
                                   f"allowed: {', '.join(rule.paths)}")


def _shown(path: str) -> str:
    # for the audit log and the agent: printable and bounded
    text = path if len(path) <= 200 else path[:200] + "..."
    return repr(text)
