"""The permission engine: a tool call in; ``allow``, ``ask`` or ``deny`` and a reason out.

Rules this module keeps (reference §1 "Evaluation", §2):

- deny, then ask, then allow: the first match in that order wins and specificity is
  ignored; every source's lists are concatenated, so a deny anywhere beats an allow
  anywhere and a managed deny cannot be undone below it;
- a Bash command is split by the parser into simple commands: a deny or ask rule fires
  on any of them (including inside ``$()``, backquotes, ``<()``, ``{ }``, subshells and
  ``bash -c``); an allow needs a command that parsed cleanly and every simple command
  covered, by an allow rule or by the built-in read-only set;
- a redirect target is an ``Edit`` write and a ``<`` target a read: a path an Edit or
  Read deny covers is denied, whatever the Bash rules say; a Read deny also covers the
  files ``cat``, ``head``, ``tail``, ``sed``... read;
- never auto-approved (at least ``ask``, a deny still wins): a command that does not
  parse cleanly or is over 10,000 characters, ``cd`` together with ``git``, an ``IFS`` or
  ``PS4`` assignment, a command name or option computed at run time, ``rm`` of a critical
  path, a write to a protected path, ``AskUserQuestion``, any explicit ask match;
- ``decide`` never raises: an internal error is a ``deny`` (fail closed); nothing here
  prints, exits or does I/O beyond resolving symbolic links (``os.path.realpath``).

When no rule matches, ringfence decides (its reading of the reference, which lists the
read-only Bash set and says a Read rule is only needed outside the working folder):

- ``Read``, ``Glob``, ``Grep``, ``LS``, ``NotebookRead``: allow when the path, and the
  file it resolves to, are inside the working folder; ask otherwise;
- a Bash command whose every part is in the built-in read-only set (``builtin``), with
  every path it names inside the working folder: allow; not when the call sets
  ``dangerouslyDisableSandbox`` (an unsandboxed command always needs a rule);
- ``TodoWrite``, ``TodoRead``, ``BashOutput``, ``TaskOutput``, ``KillShell``, ``KillBash``
  (they act only on the session itself): allow;
- anything else: ask.

Also ringfence's, where the reference is silent: a bare ``Bash`` allow covers every
command but not the never-auto-approved cases above; a command over 100,000 characters
is denied, as it is not parsed and no deny rule could be checked; a write to
``/dev/null``, ``/dev/stdout``, ``/dev/stderr``, ``/dev/tty`` or ``/dev/fd/N`` needs no
Edit rule (any other redirect or ``tee`` target does, as an Edit write in Claude Code's
default mode would); ``tee`` operands are writes like redirect targets.

The risk analysis plugs in as ``analyzer``: it sees the parsed command and may only make
the decision stricter.
"""

from __future__ import annotations

import os

from ringfence._struct import record
from ringfence.permissions import builtin
from ringfence.permissions.compound import BashRules, allow_text, deny_texts, looks_past, read_files, written_files
from ringfence.permissions.pathspec import compile_path, expand_home, inside, normalize
from ringfence.permissions.rules import (
    BASH, DOMAIN, EDIT_TOOLS, FILE_TOOLS, KINDS, NEVER, OPAQUE, PARAM, PATH, WHOLE, Rule,
)
from ringfence.permissions.toolspec import compile_domain, compile_param, compile_tool, url_host

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from ringfence.analysis.bash import ParsedCommand, SimpleCommand
    from ringfence.policy.model import Policy

    Parser = Callable[[str], ParsedCommand]
    _Level = dict[str, list["_Compiled"]]  # by kind: the rules without a spec of their own
    _Path = tuple[str, "tuple[str, str] | None"]
    Analyzer = Callable[[ParsedCommand], "tuple[str, str] | None"]

ALWAYS_ASK_LENGTH = 10_000  # reference §1: longer commands always prompt
PARSE_LIMIT = 100_000  # longer commands are not parsed at all: denied
STRICTNESS = {"allow": 0, "ask": 1, "deny": 2}
NO_PERMISSION_TOOLS = frozenset({"TodoWrite", "TodoRead", "BashOutput", "TaskOutput", "KillShell", "KillBash"})
_INPUT_ARGUMENTS = frozenset({"xargs", "find -exec"})  # contexts whose arguments come from elsewhere
_SINKS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty"})
_PATH_FIELDS = {"NotebookEdit": "notebook_path", "NotebookRead": "notebook_path", "Glob": "path", "Grep": "path",
                "LS": "path"}


@record
class Decision:
    """What to do with one tool call, and why.

    ``behavior`` is ``allow``, ``ask`` or ``deny``; ``rule`` the rule that decided (None
    for a default or a built-in check); ``reason`` a sentence for a person: which rule,
    from which file, for which part of a compound command; ``part`` that part ("" when
    the whole call decided); ``findings`` what the risk analysis found (empty until it is
    plugged in); ``default`` True for an ``ask`` only because no rule covers the call (no
    rule, check or finding asked for it): a hook may leave such a call to the agent's own
    permission mode.
    """

    behavior: str
    rule: Rule | None
    reason: str
    part: str = ""
    findings: tuple[object, ...] = ()
    default: bool = False


class _Compiled:
    """One rule, compiled against the engine's working folder and home."""

    __slots__ = ("rule", "applies", "test")

    def __init__(self, rule: Rule, test: Callable[..., bool] | None) -> None:
        self.rule = rule
        self.applies = compile_tool(rule.tool)
        self.test = test


class Engine:
    """Decides tool calls by a fixed set of rules (see the module's docstring)."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        cwd: str,
        home: str,
        analyzer: Analyzer | None = None,
        parser: Parser | None = None,
    ) -> None:
        self.rules = tuple(rules)
        self.home = os.path.abspath(os.fspath(home))
        self.cwd = os.path.abspath(os.fspath(cwd))
        self._real_cwd = os.path.realpath(self.cwd)
        self._analyzer = analyzer
        self._parser = parser
        self._level: _Level = {kind: [] for kind in KINDS}
        self._paths: dict[tuple[str, str], list[_Compiled]] = {(k, t): [] for k in KINDS for t in ("Read", "Edit")}
        self._domains: dict[str, list[_Compiled]] = {kind: [] for kind in KINDS}
        self._bash = {kind: BashRules(r for r in self.rules if r.kind == kind and r.form == BASH) for kind in KINDS}
        self._level_cache: dict[str, _Level] = {}
        for rule in self.rules:
            self._compile(rule)
        self._guards_reads = bool(self._paths["deny", "Read"] or self._paths["ask", "Read"])
        self.warnings = tuple(_warning(rule) for rule in self.rules if rule.form in (NEVER, OPAQUE))

    @classmethod
    def from_policy(
        cls,
        policy: Policy,
        *,
        cwd: str,
        home: str,
        claude_settings: str | None = None,
        claude_managed: str | None = None,
        trust_project: bool = True,
        analyzer: Analyzer | None = None,
        parser: Parser | None = None,
    ) -> Engine:
        """The engine for ``policy``'s ``[permissions]`` and, when asked, Claude Code's
        settings files (``"auto"`` or a path; see ``sources``). Raises ``PermissionsError``
        for any malformed rule or settings file."""
        from ringfence.permissions.sources import MANAGED_SETTINGS, collect_rules

        rules = collect_rules(
            policy,
            cwd=cwd,
            home=home,
            claude_settings=claude_settings,
            claude_managed=claude_managed or MANAGED_SETTINGS,
            trust_project=trust_project,
        )
        if analyzer is None:
            from ringfence.analysis.risk import verdict

            analyzer = verdict  # the risk rules: they can only make a decision stricter
        return cls(rules, cwd=cwd, home=home, analyzer=analyzer, parser=parser)

    def _compile(self, rule: Rule) -> None:
        if rule.form in (WHOLE, OPAQUE):
            self._level[rule.kind].append(_Compiled(rule, None))
        elif rule.form == PARAM:
            self._level[rule.kind].append(_Compiled(rule, compile_param(rule.spec)))
        elif rule.form == PATH:
            test = compile_path(rule.spec, rule.kind, base=rule.base, cwd=self.cwd, home=self.home)
            self._paths[rule.kind, rule.tool].append(_Compiled(rule, test))
        elif rule.form == DOMAIN:
            self._domains[rule.kind].append(_Compiled(rule, compile_domain(rule.spec, rule.kind)))

    # --- deciding ---------------------------------------------------------------------

    def decide(self, tool_name: str, tool_input: Mapping[str, object]) -> Decision:
        """Decide one tool call; never raises (an internal error is a deny)."""
        try:
            if not isinstance(tool_name, str) or not hasattr(tool_input, "get"):
                return Decision("deny", None, "the tool call is malformed: it needs a tool name and an input object")
            return self._decide(tool_name, tool_input)
        except Exception as exc:  # noqa: BLE001 - fail closed, whatever went wrong
            return Decision("deny", None, f"ringfence could not decide on this {tool_name} call "
                            f"({type(exc).__name__}: {exc}), so it is denied")

    def _decide(self, tool_name: str, tool_input: Mapping[str, object]) -> Decision:
        level = self._level_rules(tool_name)
        rule = _level_match(level["deny"], tool_input)
        if rule is not None:
            return _ruled(rule, f"this {tool_name} call")
        if tool_name == "Bash":
            return self._decide_bash(tool_input, level)
        if tool_name in FILE_TOOLS:
            return self._decide_file(tool_name, tool_input, level)
        if tool_name == "WebFetch":
            return self._decide_web(tool_input, level)
        return self._decide_other(tool_name, tool_input, level)

    def _level_rules(self, tool_name: str) -> _Level:
        """The rules without a spec of their own (whole tool, param, opaque) for a tool."""
        cached = self._level_cache.get(tool_name)
        if cached is None:
            cached = {kind: [c for c in self._level[kind] if c.applies(tool_name)] for kind in KINDS}
            if len(self._level_cache) < 4096:
                self._level_cache[tool_name] = cached
        return cached

    def _decide_other(self, tool_name: str, tool_input: Mapping[str, object], level: _Level) -> Decision:
        rule = _level_match(level["ask"], tool_input)
        if rule is not None:
            return _ruled(rule, f"this {tool_name} call")
        if tool_name == "AskUserQuestion":
            return Decision("ask", None, "AskUserQuestion is never auto-approved: it asks the person")
        rule = _level_match(level["allow"], tool_input)
        if rule is not None:
            return _ruled(rule, f"this {tool_name} call")
        if tool_name in NO_PERMISSION_TOOLS:
            return Decision("allow", None, f"{tool_name} needs no permission: it acts only on the session itself")
        return Decision("ask", None, f"no allow rule covers {tool_name}", default=True)

    def _decide_web(self, tool_input: Mapping[str, object], level: _Level) -> Decision:
        host = url_host(tool_input.get("url"))
        what = f"fetching from {host}" if host else "a fetch from a URL without a readable host"
        for kind in ("deny", "ask", "allow"):
            rule = _level_match(level[kind], tool_input) if kind != "deny" else None
            rule = rule or next((c.rule for c in self._domains[kind] if c.test is not None and c.test(host)), None)
            if rule is not None:
                return _ruled(rule, what)
        return Decision("ask", None, f"no allow rule covers {what}", default=True)

    def _decide_file(self, tool_name: str, tool_input: Mapping[str, object], level: _Level) -> Decision:
        raw = self._target(tool_name, tool_input)
        if raw is None:
            field = _PATH_FIELDS.get(tool_name, "file_path")
            return Decision("deny", None, f"the {tool_name} call has no {field} (malformed input)")
        writes = tool_name in EDIT_TOOLS
        lexical = normalize(raw, cwd=self.cwd, home=self.home)
        paths = (lexical, os.path.realpath(lexical))
        what = f"{'writing' if writes else 'reading'} {lexical}"
        families = _WRITE_FAMILIES if writes else _READ_FAMILIES
        for kind in ("deny", "ask"):
            rule = _level_match(level[kind], tool_input) if kind == "ask" else None
            rule = rule or self._path_match(kind, families, paths)
            if rule is not None:
                return _ruled(rule, what)
        if writes and (builtin.protected(paths[0]) or builtin.protected(paths[1])):
            return Decision("ask", None, f"{lexical} is a protected path: writes to it are never pre-approved")
        rule = _level_match(level["allow"], tool_input) or self._path_allow("Edit" if writes else "Read", paths)
        if rule is not None:
            return _ruled(rule, what)
        if not writes and self._inside_cwd(paths):
            holds = _credentials(paths) if tool_name in ("Read", "Grep") else None
            if holds is not None:  # the risk rules ask for `cat .env`; the Read tool is no way round
                return Decision("ask", None, f"{lexical} is {holds}, which may hold secrets: no rule pre-approves reading it")
            return Decision("allow", None, f"{tool_name} only reads, and {lexical} is inside the working folder")
        return Decision("ask", None, f"no allow rule covers {what}", default=True)

    def _target(self, tool_name: str, tool_input: Mapping[str, object]) -> str | None:
        field = _PATH_FIELDS.get(tool_name, "file_path")
        value = tool_input.get(field)
        if tool_name == "Glob" and value is None:
            value = _glob_root(tool_input.get("pattern"))
        if tool_name in ("Glob", "Grep") and value is None:
            return self.cwd
        return value if isinstance(value, str) and value and "\0" not in value else None

    def _path_match(self, kind: str, families: Iterable[str], paths: tuple[str, ...]) -> Rule | None:
        """A ``kind`` path rule of these families that matches any of ``paths``."""
        for family in families:
            for compiled in self._paths[kind, family]:
                if compiled.test is not None and any(compiled.test(p) for p in paths):
                    return compiled.rule
        return None

    def _path_allow(self, family: str, paths: tuple[str, ...]) -> Rule | None:
        """An allow rule, when every one of ``paths`` (the link and its target) has one."""
        found = [self._path_match("allow", (family,), (p,)) for p in paths]
        return found[0] if all(found) else None

    def _inside_cwd(self, paths: tuple[str, ...]) -> bool:
        """Are the path and the file it resolves to both inside the working folder?"""
        return all(inside(p, self.cwd) or inside(p, self._real_cwd) for p in paths)

    # --- Bash -------------------------------------------------------------------------

    def _decide_bash(self, tool_input: Mapping[str, object], level: _Level) -> Decision:
        command = tool_input.get("command")
        if not isinstance(command, str):
            return Decision("deny", None, "the Bash call has no command (malformed input)")
        if len(command) > PARSE_LIMIT:
            return Decision("deny", None, f"the command is {len(command):,} characters long, over the "
                            f"{PARSE_LIMIT:,} ringfence checks: no deny rule could be checked")
        parsed = self._parse(command)
        decision = self._bash_rules(command, parsed, tool_input, level)
        if self._analyzer is not None and decision.behavior != "deny" and parsed is not None:
            verdict = self._analyzer(parsed)
            stricter = verdict is not None and STRICTNESS.get(verdict[0], 2) > STRICTNESS[decision.behavior]
            if verdict is not None and (stricter or decision.default and verdict[0] == decision.behavior):
                behavior = verdict[0] if verdict[0] in STRICTNESS else "deny"
                decision = Decision(behavior, None, verdict[1])
        return decision

    def _parse(self, command: str) -> ParsedCommand | None:
        parser = self._parser
        if parser is None:
            from ringfence.analysis.bash import parse

            parser = self._parser = parse
        try:
            return parser(command)
        except Exception:  # noqa: BLE001 - a command the parser chokes on is "unparseable"
            return None

    def _bash_rules(
        self, command: str, parsed: ParsedCommand | None, tool_input: Mapping[str, object],
        level: _Level,
    ) -> Decision:
        resolve = self._resolver()
        # a command ssh runs on another machine is the risk rules' business, not a part here
        parts = [_Part(c, resolve) for c in parsed.commands if not c.remote] if parsed is not None else []
        compound = len(parts) > 1
        for kind in ("deny", "ask"):
            rule = _level_match(level[kind], tool_input) if kind == "ask" else None
            if rule is not None:
                return _ruled(rule, "this Bash call")
            found = self._bash_hit(kind, command, parts)
            if found is not None:
                return _ruled(found[0], found[1], part=found[2], compound=compound)
        must_ask = self._must_ask(command, parsed, parts)
        if must_ask is not None:
            return Decision("ask", None, must_ask[0], part=must_ask[1])
        return self._bash_allow(parts, tool_input, level, compound, resolve)

    def _resolver(self) -> Callable[[str], _Path]:
        """A path as written -> (as written, (lexical, resolved) or None when it holds an
        expansion only known at run time); remembered for one decision."""
        memo: dict[str, _Path] = {}
        home, cwd = self.home, self.cwd

        def resolve(raw: str) -> _Path:
            found = memo.get(raw)
            if found is None:
                expanded = expand_home(raw, home)
                if builtin.unknowable(expanded):
                    found = (raw, None)
                else:
                    lexical = normalize(expanded, cwd=cwd, home=home)
                    found = (raw, (lexical, os.path.realpath(lexical)))
                memo[raw] = found
            return found

        return resolve

    def _bash_hit(self, kind: str, command: str, parts: list[_Part]) -> tuple[Rule, str, str] | None:
        """(rule, what it matched, part) for the first part a ``kind`` rule fires on."""
        if not parts:  # nothing parsed: try the rules on the command as written
            rule = self._bash[kind].match(command.strip())
            return (rule, _q(command), command) if rule is not None else None
        for part in parts:
            hit = self._bash[kind].match_any(part.texts)
            if hit is not None:
                return hit[0], _q(hit[1]), part.command.text
            checks = ((part.writes, _WRITE_FAMILIES, "writes"), (part.reads, _READ_FAMILIES, "reads"))
            for paths, families, verb in checks:
                for _raw, resolved in paths:
                    rule = self._path_match(kind, families, resolved) if resolved is not None else None
                    if rule is not None and resolved is not None:
                        return rule, f"{resolved[0]}, which {_q(part.command.text)} {verb}", part.command.text
        return None

    def _must_ask(self, command: str, parsed: ParsedCommand | None, parts: list[_Part]) -> tuple[str, str] | None:
        """(why, part) when the command may not be auto-approved whatever the allow rules say."""
        if parsed is None:
            return "the command could not be parsed, so it cannot be auto-approved", ""
        if len(command) > ALWAYS_ASK_LENGTH:
            return f"the command is over {ALWAYS_ASK_LENGTH:,} characters, so it always needs approval", ""
        if not parsed.clean:
            problem = parsed.problems[0] if parsed.problems else "It did not parse cleanly."
            return f"the command cannot be auto-approved: {problem[:1].lower()}{problem[1:]}", ""
        names = {part.command.name for part in parts}
        if "cd" in names and "git" in names:
            return "cd combined with git always needs approval (a repository's hooks and config run code)", ""
        for part in parts:
            why = self._part_must_ask(part)
            if why is not None:
                return why, part.command.text
        return None

    def _part_must_ask(self, part: _Part) -> str | None:
        command = part.command
        shell = [name for name, _value in command.assignments if name in builtin.SHELL_VARIABLES]
        if shell:
            return f"{_q(command.text)} sets {shell[0]}, which changes how the shell reads the command"
        if command.computed:
            return f"the command name or an option of {_q(command.text)} is only known at run time"
        target = builtin.critical_rm_target(command.argv, cwd=self.cwd, home=self.home)
        if target is not None:
            return f"{_q(command.text)} removes {target}, a critical path: never auto-approved"
        for raw, resolved in part.reads:
            if resolved is None and self._guards_reads:
                return f"{_q(command.text)} reads {raw}, only known at run time, so the Read rules cannot be checked"
        for raw, resolved in part.writes:
            if resolved is None:
                return f"{_q(command.text)} writes to {raw}, a target only known at run time"
            if builtin.protected(resolved[0]) or builtin.protected(resolved[1]):
                return f"{_q(command.text)} writes to {resolved[0]}, a protected path: never pre-approved"
        return None

    def _bash_allow(
        self, parts: list[_Part], tool_input: Mapping[str, object], level: _Level,
        compound: bool, resolve: Callable[[str], _Path],
    ) -> Decision:
        whole = _level_match(level["allow"], tool_input)
        builtins_ok = tool_input.get("dangerouslyDisableSandbox") is not True
        covered: list[str] = []
        first: Rule | None = None
        for part in parts:
            command = part.command
            rule = whole or self._bash["allow"].match(allow_text(command))
            if rule is None and not (builtins_ok and self._read_only(command, resolve)) and not _plain(command):
                return Decision("ask", None, _uncovered(command, compound, builtins_ok), part=command.text,
                                default=True)
            why = self._unapproved_write(part)
            if why is not None:
                return Decision("ask", None, why, part=command.text)
            first = first or rule
            covered.append(_covered(command, rule))
        if not covered:
            return Decision("ask", None, "the command is empty")
        listed = "; ".join(covered[:6]) + ("; ..." if len(covered) > 6 else "")
        return Decision("allow", first, f"allowed: {listed}")

    def _read_only(self, command: SimpleCommand, resolve: Callable[[str], _Path]) -> bool:
        """Is ``command`` in the built-in read-only set, with every path inside the working folder?"""
        if not looks_past(command) or command.context in _INPUT_ARGUMENTS:
            return False
        reads = builtin.read_only_reads(command.argv, self.home)
        if reads is None:
            return False
        for word in reads:
            if word.startswith("~") and not (word == "~" or word.startswith("~/")):
                return False  # ~user
            resolved = resolve(word)[1]
            if resolved is None or not self._inside_cwd(resolved):
                return False
        return True

    def _unapproved_write(self, part: _Part) -> str | None:
        """Why a write of an otherwise allowed command still needs approval, or None: a
        redirect or ``tee`` target is an Edit write, which needs an Edit allow rule."""
        for _raw, resolved in part.writes:
            if resolved is None:
                return "a write target is only known at run time"  # _must_ask said so first
            lexical = resolved[0]
            if lexical in _SINKS or lexical.startswith("/dev/fd/"):
                continue
            if self._path_allow("Edit", resolved) is None:
                return f"{_q(part.command.text)} writes to {lexical}, and no Edit allow rule covers it"
        return None


class _Part:
    """One simple command of a Bash command, with what the rules look at computed once."""

    __slots__ = ("command", "texts", "reads", "writes")

    def __init__(self, command: SimpleCommand, resolve: Callable[[str], _Path]) -> None:
        self.command = command
        self.texts = deny_texts(command)
        self.reads = [resolve(p) for p in read_files(command)]
        self.writes = [resolve(p) for p in written_files(command)]


_WRITE_FAMILIES = ("Edit", "Read")  # a Read deny also blocks writes to the path
_READ_FAMILIES = ("Read",)


def _credentials(paths: tuple[str, ...]) -> str | None:
    """What credential file one of ``paths`` is (``an .env file``), as the risk rules name it."""
    from ringfence.analysis.risk._words import lesser_secret, normal, secret

    for path in paths:
        found = secret(normal(path)) or lesser_secret(normal(path))
        if found is not None:
            return found
    return None


def _level_match(compiled: list[_Compiled], tool_input: Mapping[str, object]) -> Rule | None:
    for c in compiled:
        if c.test is None:
            if c.rule.form == WHOLE or c.rule.kind != "allow":  # an opaque allow never matches
                return c.rule
        elif c.test(tool_input):
            return c.rule
    return None


def _ruled(rule: Rule, what: str, *, part: str = "", compound: bool = False) -> Decision:
    verb = {"deny": "denied", "ask": "needs approval", "allow": "allowed"}[rule.kind]
    where = ", one part of the command" if compound else ""
    opaque = " (ringfence does not model this spec, so it applies to the whole tool)" if rule.form == OPAQUE else ""
    return Decision(rule.kind, rule, f"{verb}: {rule.describe()} matches {what}{where}{opaque}", part=part)


def _plain(command: SimpleCommand) -> bool:
    """A bare assignment or redirect (no command) that needs no rule; writes are checked apart."""
    return not command.argv and all(builtin.harmless_assignment(name) for name, _ in command.assignments)


def _covered(command: SimpleCommand, rule: Rule | None) -> str:
    if not command.argv and not command.assignments:
        return "a redirect without a command needs no rule"
    text = _q(command.text or allow_text(command))
    if rule is not None:
        return f"{text} by {rule.describe()}"
    return f"{text} needs no rule" if not command.argv else f"{text} is read-only"


def _uncovered(part: SimpleCommand, compound: bool, builtins_ok: bool) -> str:
    text = f"no allow rule covers {_q(allow_text(part))}"
    if compound:
        text += ", one part of the command"
    if not builtins_ok:
        text += " (the call asks to run outside the sandbox, so only an explicit allow rule will do)"
    return text


def _q(text: str, limit: int = 120) -> str:
    """A command quoted for a message, shortened."""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"`{text}`"


def _glob_root(pattern: object) -> str | None:
    """The folder an absolute Glob pattern searches: its segments before the first wildcard."""
    if not isinstance(pattern, str) or not pattern.startswith(("/", "~")):
        return None
    fixed = []
    for segment in pattern.split("/"):
        if any(c in segment for c in "*?[{"):
            break
        fixed.append(segment)
    return "/".join(fixed) or "/"


def _warning(rule: Rule) -> str:
    if rule.form == OPAQUE:
        return (f"{rule.describe()}: ringfence does not model this spec; "
                + ("as an allow rule it never matches" if rule.kind == "allow" else "it applies to the whole tool"))
    return f"{rule.describe()}: Claude Code never consults {rule.tool}() path rules; use Read() or Edit()"
