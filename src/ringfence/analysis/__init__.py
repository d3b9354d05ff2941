"""Static analysis of what a tool call would do: the bash parser and the risk rules.

``parse(command)`` turns a Bash tool command into every simple command it would run (see
``ringfence.analysis.bash``); ``ringfence.analysis.risk`` holds the registry of risk rules
that read it. Nothing here runs a command, reads a file or touches the network.

The hook starts a fresh process per tool call, so tree-sitter loads on the first parse and
this package imports nothing until a name is asked for.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time


if TYPE_CHECKING:
    from ringfence.analysis.bash import ParsedCommand, Redirect, SimpleCommand, parse
    from ringfence.analysis.risk import Finding, Severity, analyze, decision_for, verdict

__all__ = [
    "Finding",
    "ParsedCommand",
    "Redirect",
    "Severity",
    "SimpleCommand",
    "analyze",
    "decision_for",
    "parse",
    "verdict",
]

_LAZY = {
    "ParsedCommand": "bash",
    "Redirect": "bash",
    "SimpleCommand": "bash",
    "parse": "bash",
    "Finding": "risk",
    "Severity": "risk",
    "analyze": "risk",
    "decision_for": "risk",
    "verdict": "risk",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
