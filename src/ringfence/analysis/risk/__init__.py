"""Risk rules: what a parsed bash command could do that a person should know first.

One module per family (``privilege``, ``destructive``, ``remote_exec``, ``obfuscation``,
``persistence``, ``sensitive_reads``, ``exfiltration``, ``tampering``, ``unparseable``),
each with a docstring users read. A rule is declared once, where it
lives, with ``@rule`` (it looks at one ``SimpleCommand``) or ``@parsed_rule`` (it looks at
the whole ``ParsedCommand``: pipelines, a download then its execution); its id, severity
and one-line summary are its documentation. ``analyze(parsed)`` runs them all and returns
``Finding``s; ``decision_for(findings)`` turns them into allow, ask or deny, and
``verdict(parsed)`` gives the (decision, reason) pair ``permissions.Engine(analyzer=...)``
takes.

Decisions (issue 4 §2):

- ``CRITICAL`` -> deny: no plausible everyday reason (``curl | sh``, ``rm -rf /``, ``mkfs``
  on a disk, base64 decoded into a shell).
- ``HIGH`` and ``MEDIUM`` -> ask: legitimate sometimes, but a person decides (``sudo``,
  ``npx`` of an unknown package, ``rm -r "$DIR"``). Both ask; the severity orders the
  reasons and lets a policy deny HIGH later without touching the rules.
- ``LOW`` -> allow, with the finding kept as a note for the log and the person reading it
  (``sudo -l``). A note never blocks: blocking on LOW would make every note a prompt.
- A command the parser cannot vouch for (``ParsedCommand.problems``) gets one ``unparseable``
  finding per problem, MEDIUM, so it is at least asked.

Messages name the command and the kind of target ("rm -r of your home directory"), never
an argument that could be a secret; ``fingerprint`` identifies a finding without its text.
"""

from __future__ import annotations

from enum import IntEnum

from ringfence._struct import record

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand

    CommandCheck = Callable[[SimpleCommand], str | None]
    ParsedCheck = Callable[[ParsedCommand], Iterable[tuple[int, str]]]


class Severity(IntEnum):
    """How bad it would be; CRITICAL denies, HIGH and MEDIUM ask, LOW is a note."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@record
class Finding:
    """One rule that matched: which command (index into ``ParsedCommand.commands``, -1 for
    the whole command) and a sentence for a person."""

    rule: str
    family: str
    severity: Severity
    message: str
    command: int
    fingerprint: str = ""  # a hash of the rule and the command text: stable, not secret


@record
class Rule:
    """A registered rule: its id, family, severity and summary, and one of two checks."""

    id: str
    family: str
    severity: Severity
    summary: str
    on_command: CommandCheck | None = None  # sees each SimpleCommand (of ``names``, if any)
    on_parsed: ParsedCheck | None = None  # sees the whole ParsedCommand
    names: frozenset[str] = frozenset()
    writes: bool = False  # sees only commands that write a path


FAMILIES = (
    "unparseable",
    "privilege",
    "destructive",
    "remote_exec",
    "obfuscation",
    "persistence",
    "sensitive_reads",
    "exfiltration",
    "tampering",
)
_RULES: dict[str, Rule] = {}
_loaded = False
# Built on first use: per-command rules by command name, those for every name, whole-command rules.
_by_name: dict[str, list[tuple[Rule, CommandCheck]]] = {}
_general: list[tuple[Rule, CommandCheck]] = []
_whole: list[tuple[Rule, ParsedCheck]] = []
_writers: list[tuple[Rule, CommandCheck]] = []  # rules about written paths only
_written_paths: Callable[[SimpleCommand], list[str]]  # _words.written_paths, once loaded
_checks: dict[str, list[tuple[Rule, CommandCheck]]] = {}  # by name: the general rules, then the named


def rule(
    rule_id: str, severity: Severity, summary: str, *, names: Iterable[str] = (), writes: bool = False
) -> Callable[[CommandCheck], CommandCheck]:
    """Register a check of one simple command: it returns a message, or None for no match.
    With ``names``, it only sees commands of those names (``SimpleCommand.name``); with
    ``writes``, only commands that write a path (``_words.written_paths``)."""

    def register(check: CommandCheck) -> CommandCheck:
        _register(
            Rule(rule_id, _family(check), severity, summary, on_command=check, names=frozenset(names), writes=writes)
        )
        return check

    return register


def parsed_rule(rule_id: str, severity: Severity, summary: str) -> Callable[[ParsedCheck], ParsedCheck]:
    """Register a check of the whole command: it yields (command index or -1, message)."""

    def register(check: ParsedCheck) -> ParsedCheck:
        _register(Rule(rule_id, _family(check), severity, summary, on_parsed=check))
        return check

    return register


def _family(check: Callable[..., object]) -> str:
    return check.__module__.rpartition(".")[2]


def _register(new: Rule) -> None:
    if new.id in _RULES:
        raise ValueError(f"risk rule {new.id} is declared twice ({_RULES[new.id].family} and {new.family})")
    _RULES[new.id] = new
    if new.on_parsed is not None:
        _whole.append((new, new.on_parsed))
    elif new.on_command is not None and new.writes:
        _writers.append((new, new.on_command))
    elif new.on_command is not None and new.names:
        for name in new.names:
            _by_name.setdefault(name, []).append((new, new.on_command))
    elif new.on_command is not None:
        _general.append((new, new.on_command))
    if _loaded:  # a rule registered late still reaches every command
        _checks.clear()
        _checks.update((name, _general + named) for name, named in _by_name.items())


def rules() -> list[Rule]:
    """Every registered rule, by id."""
    _load()
    return [_RULES[key] for key in sorted(_RULES)]


def analyze(parsed: ParsedCommand) -> list[Finding]:
    """Every finding of every rule, most severe first (then in rule and command order)."""
    _load()
    hits: list[tuple[Rule, int, str]] = []
    checks, written = _checks, _written_paths
    for index, command in enumerate(parsed.commands):
        for item, check in checks.get(command.name, _general):
            message = check(command)
            if message is not None:
                hits.append((item, index, message))
        if written(command):
            for item, check in _writers:
                message = check(command)
                if message is not None:
                    hits.append((item, index, message))
    for item, whole in _whole:
        for index, message in whole(parsed):
            hits.append((item, index, message))
    if not hits:
        return []
    findings = [_finding(item, index, message, parsed) for item, index, message in hits]
    findings.sort(key=lambda f: (-f.severity, f.rule, f.command))
    return findings


def _finding(item: Rule, index: int, message: str, parsed: ParsedCommand) -> Finding:
    text = parsed.commands[index].text if index >= 0 else parsed.source
    return Finding(item.id, item.family, item.severity, message, index, _fingerprint(item.id, text))


def decision_for(findings: Iterable[Finding]) -> str:
    """``deny`` on a CRITICAL finding, ``ask`` on HIGH or MEDIUM, else ``allow`` (LOW is a note)."""
    worst = max((f.severity for f in findings), default=None)
    if worst is None or worst == Severity.LOW:
        return "allow"
    return "deny" if worst == Severity.CRITICAL else "ask"


def deciding(findings: Iterable[Finding]) -> Finding | None:
    """The finding that decided: the most severe, first in order."""
    ordered = sorted(findings, key=lambda f: -f.severity)
    return ordered[0] if ordered else None


def verdict(parsed: ParsedCommand) -> tuple[str, str] | None:
    """(decision, reason) for the permission engine's ``analyzer`` hook, or None when no rule
    found anything. The reason is the deciding finding's sentence and rule id; with more
    than one finding it says how many others there are."""
    findings = analyze(parsed)
    top = deciding(findings)
    if top is None:
        return None
    reason = f"{top.message} ({top.rule})"
    if len(findings) > 1:
        others = len(findings) - 1
        reason += f"; and {others} other finding{'s' if others > 1 else ''}"
    return decision_for(findings), reason


def _fingerprint(rule_id: str, text: str) -> str:
    import hashlib

    return hashlib.sha256(f"{rule_id}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _load() -> None:
    global _loaded
    if _loaded:
        return
    import importlib

    global _written_paths
    for family in FAMILIES:
        importlib.import_module(f"{__name__}.{family}")
    _written_paths = importlib.import_module(f"{__name__}._words").written_paths
    _checks.update((name, _general + named) for name, named in _by_name.items())
    _loaded = True
