"""Bash commands parsed for real: every simple command, wherever it hides.

``parse(command)`` reads a Bash tool command with tree-sitter-bash and returns a
``ParsedCommand``: every simple command it would run, recursively and in source order, and
the *problems*: reasons no rule may ever auto-allow it (it does not parse, it hides
characters, its command name is only known at run time...). Permission rules match each
``SimpleCommand.text``; risk rules (``ringfence.analysis.risk``) read the whole structure.

What the walk keeps (issue 4 §2 and the bypasses in anthropics/claude-code #4956, #31558,
#92542, #70369, #11662):

- lists, pipelines, ``&``, newlines, subshells, groups, functions, ``if``/``for``/``while``/
  ``case``: every command inside is a command;
- ``$( )``, backticks (re-read after unescaping, as bash does), ``<( )``, ``>( )``, including
  inside strings, ``${x:-$(...)}``, arithmetic, assignments, redirect targets and heredocs;
- ``bash -c``/``sh -c`` strings, ``eval`` of literal words, ``trap`` actions, ``su -c``,
  ``alias`` values, ``find -exec``/``-execdir``/``-ok``, heredocs and here-strings fed to a
  shell (``bash <<EOF``, ``cat <<EOF | sh``): parsed again;
- wrappers (``sudo``, ``env``, ``timeout``, ``xargs``, ``watch``... see ``_wrappers``) and
  leading ``VAR=value`` assignments: stripped and recorded, so ``argv`` is what really runs;
  the ones that run their words through a shell (``watch``, ``sudo -s``, ``parallel``,
  ``env -S``) have them joined and parsed again;
- redirects: a ``Redirect`` each; a write is a write to that path (``/dev/null`` too: what
  needs no permission is the engine's call).

Words lose their quotes (``'a b'`` -> ``a b``); an expansion keeps its source text
(``"$HOME/x"`` -> ``$HOME/x``), except a variable the command line sets itself
(``F=~/.ssh/id_rsa; cat $F``, ``for f in a b; do rm $f; done``): the walk reads it through,
emitting the command once per value it may hold (``_vars`` says when that is sound). ``argv`` can be empty: a bare assignment (``X=1``), a
redirect with no command (``> f``, ``$(< f)``) is still reported, so its write, read or
value is not lost. Commands come outer first: ``bash -c 'x' $(y)`` gives bash, x, y.

Beyond the fields every rule needs, ``SimpleCommand`` keeps ``prefix`` (the stripped
wrapper words: ``as_written`` is what Claude Code's own matcher would see) and
``pipeline``/``stage`` (``curl x | sh`` is stage 0 and 1 of one pipeline), and ``Redirect``
keeps ``written``, the target as written even when it is computed (``$HOME/.bashrc``).

Where tree-sitter and bash disagree, the walk follows bash: backquoted bodies are read
again after unescaping, ``echo > f hi`` keeps ``hi`` as an argument, ``a | b > f`` gives
the redirect to ``b`` alone, the ``-`` tree-sitter drops in ``python3 - <<EOF`` is put
back, and any other text the tree skipped without an ERROR node is a problem.

tree-sitter is imported on first use, by loading its two extension modules directly:
``tree_sitter_bash/__init__`` imports ``importlib.resources`` for highlight queries we never
read (about 17 ms), and ``tree_sitter/__init__`` imports ``typing``; the hook starts a fresh
process per tool call.
"""

from __future__ import annotations

import re

from ringfence._struct import record
from ringfence.analysis import _inline, _vars, _wrappers
from ringfence.analysis._lazyre import lazy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from tree_sitter import Node, Parser

MAX_LENGTH = 10_000  # Claude Code always prompts past this (reference §1)
_PARSE_LIMIT = 100_000  # past this we do not even parse: ask, and say why
_MAX_DEPTH = 32  # nested strings parsed again (bash -c "bash -c ..."), substitutions...
_TOO_DEEP = "It nests commands in strings or substitutions too deeply to follow."
_NOT_UNDERSTOOD = "Part of it was not understood by the bash parser: ringfence cannot tell what it would run."


@record
class Redirect:
    """One redirection: ``op`` as written with its fd (``2>``, ``>>``, ``<``, ``<<<``).
    For ``<<``/``<<-`` the target is the heredoc's delimiter, for ``<<<`` the string: data,
    not paths; for ``2>&1`` the file descriptor."""

    op: str
    target: str | None  # the literal path or word; None when computed at run time
    writes: bool  # a write to ``target`` (``>``, ``>>``, ``&>``, ``>|``, ``>&file``)
    written: str = ""  # the target as written, quotes removed, expansions as source


class _once:  # a decorator, like property (hence the lower-case name)
    """A computed attribute kept in the instance after its first use (not a field, so not
    compared or hashed). Every risk rule asks each command its ``name``: after the first
    time, that is a plain attribute look-up, with no function call."""

    def __init__(self, compute: Callable[[Any], Any]) -> None:
        self.compute = compute
        self.attr = compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, obj: object, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.attr] = self.compute(obj)
        return value


@record
class SimpleCommand:
    """One command that would run, wrappers and leading assignments removed."""

    argv: tuple[str, ...]
    text: str  # argv joined with single spaces: what Bash(...) specs match
    assignments: tuple[tuple[str, str], ...]  # leading VAR=value, value as written
    wrappers: tuple[str, ...]  # stripped wrappers, outermost first
    redirects: tuple[Redirect, ...]
    computed: bool  # argv[0] or a flag is only known at run time
    context: str  # "top", "pipeline", "subshell", "group", "$()", "bash -c", "xargs", ...
    prefix: tuple[str, ...] = ()  # the stripped words: wrappers with their options
    pipeline: int = -1  # which pipeline (numbered in the parse) it is a stage of, or -1
    stage: int = -1  # its stage in that pipeline: stage 0 writes into stage 1

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

    else:

        @_once
        def name(self) -> str:
            """The basename of argv[0] (``/bin/rm`` -> ``rm``), so rules match both (#11662)."""
            return (self.argv[0].rpartition("/")[2] or self.argv[0]) if self.argv else ""

    @property
    def remote(self) -> bool:
        """It runs on another machine (``ssh host CMD``): not a command of this one."""
        return "ssh" in self.wrappers

    @property
    def as_written(self) -> str:
        """The command with its wrappers, as Claude Code's matcher sees ``sudo rm x``."""
        return " ".join(self.prefix + self.argv)


@record
class ParsedCommand:
    """A whole Bash tool command: its simple commands and why it may not be auto-allowed."""

    source: str
    commands: tuple[SimpleCommand, ...]
    problems: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """It parsed, and nothing in it forbids an automatic allow."""
        return not self.problems


def parse(command: str) -> ParsedCommand:
    """Parse a Bash tool command into every simple command it runs."""
    walk = _Walk()
    if len(command) > MAX_LENGTH:
        walk.problem(f"It is longer than {MAX_LENGTH:,} characters: too long to review reliably.")
    if len(command) > _PARSE_LIMIT:
        return ParsedCommand(command, (), tuple(walk.problems))
    _check_characters(command, walk)
    try:
        walk.source(command, _Env("top", (), (), -1, -1, 0))
    except RecursionError:  # thousands of nested ( ( ( ...: the tree is deeper than Python's stack
        walk.problem(_TOO_DEEP)
    return ParsedCommand(command, tuple(walk.commands), tuple(walk.problems))


# ---------------------------------------------------------------------------------------
# Loading tree-sitter

_parser: Parser | None = None


def _get_parser() -> Parser:
    global _parser
    if _parser is None:
        binding, language = _load_bindings()
        parser: Parser = binding.Parser(binding.Language(language()))
        _parser = parser
    return _parser


def _load_bindings() -> tuple[Any, Any]:  # (the tree_sitter module, the language function)
    try:
        binding = _load_extension("tree_sitter")
        language = _load_extension("tree_sitter_bash").language
    except (ImportError, OSError, AttributeError):
        import tree_sitter
        import tree_sitter_bash

        return tree_sitter, tree_sitter_bash.language
    return binding, language


def _load_extension(package: str) -> Any:
    """Load ``package._binding`` without running ``package/__init__.py`` (see module doc)."""
    import os
    import sys
    from importlib.machinery import EXTENSION_SUFFIXES, ExtensionFileLoader, ModuleSpec, PathFinder

    name = f"{package}._binding"
    if name in sys.modules:
        return sys.modules[name]
    spec = PathFinder.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package} is not installed")
    for folder in spec.submodule_search_locations:
        for suffix in EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_binding" + suffix)
            if os.path.exists(path):
                loader = ExtensionFileLoader(name, path)
                module = loader.create_module(ModuleSpec(name, loader, origin=path))
                loader.exec_module(module)
                sys.modules[name] = module  # a later plain import reuses it
                return module
    raise ImportError(f"{package} has no compiled binding")


# ---------------------------------------------------------------------------------------
# Characters

# Format characters (zero-width, bidi controls) and non-ASCII spaces hide what runs.
_INVISIBLE = lazy("[\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]")
_CONTROL = lazy("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _check_characters(command: str, walk: _Walk) -> None:
    if _CONTROL.search(command):
        walk.problem("It contains control characters, which can hide what runs.")
    if not command.isascii() and _INVISIBLE.search(command):
        walk.problem("It contains invisible or direction-changing Unicode characters, which can hide what runs.")


# ---------------------------------------------------------------------------------------
# Words

_EXPANSIONS = frozenset(
    {
        "simple_expansion",
        "expansion",
        "command_substitution",
        "process_substitution",
        "arithmetic_expansion",
    }
)
_ALL_ARGS = lazy(r"^\$(?:[@*]|\{[@*]\}|\{\w+\[[@*]\]\})$")
_BRACE = lazy(r"\{[^{}\s]*(?:,|\.\.)[^{}\s]*\}")
_GLOB = frozenset("*?[")
_PLAIN = lazy(r"^[\w./@%+=:,-]+$")
_SPLITS = frozenset(" \t\n")
_ESCAPED = lazy(r"\\.", re.DOTALL)
_CPU_COUNT = lazy(r"^\$\((?:nproc(?: --all)?|getconf _NPROCESSORS_ONLN|sysctl -n hw\.(?:ncpu|logicalcpu))\)$")
_MAX_COMBINATIONS = 16  # a command emitted once per combination of its variables' values


class _Word:
    """A word after quote removal; ``computed`` when part of it is known only at run time."""

    __slots__ = ("value", "computed", "flag", "glob", "single", "substitution", "alternatives")

    def __init__(self, value: str, computed: bool = False) -> None:
        self.value = value
        self.computed = computed
        self.flag = False  # a flag (or all arguments) computed at run time
        self.glob = False  # unquoted glob characters
        self.single = False  # the whole word is one expansion ("$X", "$(cmd)")
        self.substitution = False  # contains $( ) or backticks
        self.alternatives: list[str] | None = None  # the words its brace expansion makes


def _unescape(text: str) -> str:
    """Quote removal for an unquoted word: ``\\x`` is ``x``, backslash-newline is nothing."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _unescape_double(text: str) -> str:
    """Inside double quotes a backslash only escapes ``$ ` " \\`` and newline (bash(1) QUOTING)."""
    if "\\" not in text:
        return text
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), text)


_ANSI_SIMPLE = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_ANSI_HIDING = lazy(r"\\(?:[xuUc]|[0-7])")
_ANSI = lazy(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.DOTALL)


def _decode_ansi_c(body: str) -> str:
    """The value of ``$'...'`` (bash(1) QUOTING), so rules see ``$'\\x72m'`` as ``rm``."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        head = code[0]
        if head in "xuU":
            value = int(code[1:], 16)
            return chr(value) if value < 0x110000 else ""
        if head.isdigit():
            return chr(int(code, 8) & 0xFF)
        if head == "c" and len(code) == 2:
            return chr(ord(code[1].upper()) & 0x1F)
        return _ANSI_SIMPLE.get(code, code)

    return _ANSI.sub(one, body)


# ---------------------------------------------------------------------------------------
# The walk


class _Env:
    """Where the walk is: context, wrappers around it, redirects applying to it, pipeline."""

    __slots__ = ("context", "wrappers", "redirects", "pipeline", "stage", "depth", "prefix")

    def __init__(
        self,
        context: str,
        wrappers: tuple[str, ...],
        redirects: tuple[Redirect, ...],
        pipeline: int,
        stage: int,
        depth: int,
        prefix: tuple[str, ...] = (),
    ) -> None:
        self.context = context
        self.wrappers = wrappers
        self.redirects = redirects
        self.pipeline = pipeline
        self.stage = stage
        self.depth = depth
        self.prefix = prefix  # wrapper words of a joined run (``sudo -s 'a; b'``)

    def but(self, **changes: Any) -> _Env:
        """A copy with some fields changed."""
        values = {name: getattr(self, name) for name in self.__slots__}
        values.update(changes)
        return _Env(**values)

    def inside(self, context: str) -> _Env:
        """A nested construct of the same shell (subshell, group): redirects still apply."""
        return self.but(context=context)

    def substitution(self, context: str) -> _Env:
        """``$( )`` and friends: output is captured, so outer redirects and pipes do not apply."""
        return _Env(context, self.wrappers, (), -1, -1, self.depth + 1)

    def nested(self, context: str, wrappers: tuple[str, ...], prefix: tuple[str, ...] = ()) -> _Env:
        """A string parsed again (``bash -c``): runs under the wrappers of its runner."""
        return _Env(context, wrappers, self.redirects, self.pipeline, self.stage, self.depth + 1, prefix)


class _Unwrapped:
    """What stripping wrappers changed: their names, words, assignments and context."""

    __slots__ = ("env", "assignments")

    def __init__(self, env: _Env) -> None:
        self.env = env
        self.assignments: tuple[tuple[str, str], ...] = ()

    def wrap(self, name: str, context: str | None, words: tuple[str, ...], pairs: list[tuple[str, str]]) -> None:
        env = self.env
        self.env = env.but(context=context or env.context, wrappers=env.wrappers + (name,), prefix=env.prefix + words)
        self.assignments += tuple(pairs)


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "rbash", "fish", "csh", "tcsh"})
_DECLARATIONS = frozenset({"export", "declare", "typeset", "local", "readonly"})
_DANGEROUS_VARIABLES = frozenset({"IFS", "PS4"})
_SSH_VALUED = frozenset("BbcDEeFIiJLlmOoPpQRSWw")  # ssh(1) options with a value
_SSH_FLAGS = frozenset("46AaCfGgKkMNnqsTtVvXxYy")
_IFS_USERS = frozenset({"eval", "source", ".", "exec", "command", "builtin"})  # run words split by IFS
_EXEC_FLAGS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_WRITE_OPS = frozenset({">", ">>", "&>", "&>>", ">|"})
_LEAVES = frozenset({"word", "number", "raw_string", "string_content", "variable_name", "ansi_c_string", "comment"})


class _Walk:
    def __init__(self) -> None:
        self.commands: list[SimpleCommand] = []
        self.problems: list[str] = []
        self._pipelines = 0
        self._vars: dict[str, _vars.Var] = {}  # what the source being walked sets (see _vars)
        self._bound: dict[str, str | None] = {}  # values fixed while a command is emitted per value

    def problem(self, sentence: str) -> None:
        if sentence not in self.problems:
            self.problems.append(sentence)

    # -- sources and nodes -------------------------------------------------------------

    def source(self, text: str, env: _Env) -> None:
        """Parse ``text`` (the command, or a string bash will parse again) and walk it."""
        if self._too_deep(env):
            return
        data = text.encode("utf-8", "surrogatepass")
        root = _get_parser().parse(data).root_node
        if root.has_error:
            self._parse_error(root, env)
        elif _dropped_text(root, data):
            self.problem(_NOT_UNDERSTOOD)
        saved = self._vars, self._bound
        self._vars, self._bound = _vars.scan(root, text), {}
        try:
            self.node(root, env)
        finally:
            self._vars, self._bound = saved

    def _parse_error(self, root: Node, env: _Env) -> None:
        where = _first_error(root)
        at = f" (line {where[0] + 1}, column {where[1] + 1})" if where else ""
        inner = "" if env.context == "top" else f" in a string run by {env.context}"
        self.problem(f"It does not parse as bash{inner}{at}: ringfence cannot tell what it would run.")

    def node(self, node: Node, env: _Env) -> None:
        kind = node.type
        handler = _HANDLERS.get(kind)
        if handler is not None:
            handler(self, node, env)
        elif kind not in _LEAVES:
            for child in node.named_children:
                self.node(child, env)

    def children(self, node: Node, env: _Env) -> None:
        for child in node.named_children:
            self.node(child, env)

    def subshell(self, node: Node, env: _Env) -> None:
        self.children(node, env.inside("subshell"))

    def group(self, node: Node, env: _Env) -> None:
        first = node.child(0)
        if first is not None and first.type == "((":  # arithmetic: no command of its own
            self.children(node, env)
        else:
            self.children(node, env.inside("group"))

    def function(self, node: Node, env: _Env) -> None:
        body = node.child_by_field_name("body")
        if body is not None:
            self.children(body, env.inside("function"))

    def _too_deep(self, env: _Env) -> bool:
        if env.depth < _MAX_DEPTH:
            return False
        self.problem(_TOO_DEEP)
        return True

    def command_substitution(self, node: Node, env: _Env) -> None:
        if self._too_deep(env):
            return
        text = _text(node)
        if text.startswith("`"):
            # Inside backquotes a backslash escapes only $ ` \ (bash(1)), so `a \`b\`` runs b:
            # read the body again as bash does instead of trusting the tree.
            body = re.sub(r"\\([$`\\])", r"\1", text[1:-1] if text.endswith("`") else text[1:])
            self.source(body, env.substitution("``"))
        else:
            self.children(node, env.substitution("$()"))

    def process_substitution(self, node: Node, env: _Env) -> None:
        if self._too_deep(env):
            return
        self.children(node, env.substitution("<()" if _text(node).startswith("<") else ">()"))

    def pipeline(self, node: Node, env: _Env, last: tuple[Redirect, ...] = ()) -> None:
        number = self._pipelines
        self._pipelines += 1
        stages = _stages(node)
        for stage, part in enumerate(stages):
            redirects = last if stage == len(stages) - 1 and last else env.redirects
            self.node(part, env.but(context="pipeline", redirects=redirects, pipeline=number, stage=stage))

    # -- assignments and declarations --------------------------------------------------

    def assignment(self, node: Node, env: _Env) -> None:
        """A bare ``X=value``: reported as a command without argv."""
        pair = self._assignment(node)
        self._emit_plain((), (pair,), env.redirects, env)
        self.substitutions(node, env)

    def assignments(self, node: Node, env: _Env) -> None:
        pairs = tuple(self._assignment(c) for c in node.named_children if c.type == "variable_assignment")
        self._emit_plain((), pairs, env.redirects, env)
        self.substitutions(node, env)

    def _assignment(self, node: Node, prefix: bool = False) -> tuple[str, str]:
        """``(name, value as written)``. ``PS4`` is a problem (``set -x`` runs its ``$( )``);
        so is an ``IFS`` of anything but white space, except as a command's prefix
        (``IFS=, read -r a b``: that command's own splitting; checked in ``_command``)."""
        name_node = node.child_by_field_name("name")
        name = _text(name_node) if name_node is not None else _text(node).partition("=")[0]
        value = node.child_by_field_name("value")
        written = _text(value) if value is not None else ""
        if name in _DANGEROUS_VARIABLES and not (name == "IFS" and (prefix or whitespace_value(written))):
            self._assigns(name)
        return name, written

    def _assigns(self, name: str) -> None:
        self.problem(f"It assigns {name}, which changes how bash splits or traces commands.")

    def declaration(self, node: Node, env: _Env) -> None:
        """``export A=1``, ``local x``, ``declare -x IFS=...``, ``unset X``: argv of words."""
        argv: list[str] = []
        for child in node.children:
            if child.type == "variable_assignment":
                name = self._assignment(child)[0]
                argv.append(f"{name}={self._word(child.child_by_field_name('value')).value}")
            elif child.is_named:
                argv.append(self._word(child).value)
            else:
                argv.append(_text(child))
        self._emit_plain(tuple(argv), (), env.redirects, env)
        self.substitutions(node, env)

    def bare_redirect(self, node: Node, env: _Env) -> None:
        """A redirect with no command around it: ``$(< file)`` reads the file."""
        self._emit_plain((), (), env.redirects + (self._redirect(node),), env)
        self.substitutions(node, env)

    def test(self, node: Node, env: _Env) -> None:
        """``[ ... ]`` and ``[[ ... ]]``: argv of their words, substitutions walked."""
        argv: list[str] = []
        _test_words(self, node, argv)
        self._emit_plain(tuple(argv), (), env.redirects, env)
        self.substitutions(node, env)

    # -- redirected statements ---------------------------------------------------------

    def redirected(self, node: Node, env: _Env) -> None:
        body = node.child_by_field_name("body")
        redirect_nodes = node.children_by_field_name("redirect")
        redirects: list[Redirect] = []
        heredocs: list[Node] = []
        spilled: list[Node] = []  # `echo > f hi`: tree-sitter reads `hi` as a second target
        for child in redirect_nodes:
            if child.type == "heredoc_redirect":
                heredocs.append(child)
                redirects.extend(self._heredoc_redirects(child))
            else:
                redirects.append(self._redirect(child, spilled))
        inner = env.but(redirects=env.redirects + tuple(redirects))
        tails = [t for h in heredocs for t in _heredoc_tails(h)]
        if tails:  # `cat <<EOF | sh`: tree-sitter puts the rest of the pipeline in the heredoc
            inner = inner.but(context="pipeline", pipeline=self._pipelines, stage=0)
            self._pipelines += 1
        before = len(self.commands)
        self._redirected_body(node, body, inner, spilled, heredocs)
        for stage, part in enumerate(tails, start=1):
            self._tail(part, env, inner.pipeline, stage)
        self._walk_redirect_nodes(redirect_nodes, env)
        for heredoc in heredocs:
            self._heredoc_body(heredoc, self.commands[before:], env)

    def _redirected_body(
        self, node: Node, body: Node | None, env: _Env, spilled: list[Node], heredocs: list[Node]
    ) -> None:
        before = len(self.commands)
        if body is None:
            self._emit_plain((), (), env.redirects, env)
        elif body.type == "command":
            lost = self._lost_before_heredoc(node, body, heredocs[0]) if heredocs else []
            self.command(body, env, spilled, lost)
        elif body.type == "pipeline":  # `a | b > f`: the redirect is b's alone
            outer = env.but(redirects=())
            self.pipeline(body, outer, env.redirects)
        else:
            self.node(body, env)
            if len(self.commands) == before:  # `(( x )) > f`: keep the write
                self._emit_plain((), (), env.redirects, env)

    def _lost_before_heredoc(self, node: Node, body: Node, heredoc: Node) -> list[_Word]:
        """``python3 - <<EOF``: tree-sitter drops the ``-`` between the command and ``<<``
        (what lies between the last thing before the heredoc, the command or a redirect such
        as ``cat > f <<EOF``, and the ``<<``)."""
        start = max([body.end_byte] + [c.end_byte for c in node.children if c.end_byte <= heredoc.start_byte])
        gap = _text(node)[start - node.start_byte : heredoc.start_byte - node.start_byte]
        lost = [_Word(w) for w in gap.split()]
        if any(not _PLAIN.match(w.value) for w in lost):
            self.problem(_NOT_UNDERSTOOD)
        return lost

    def _tail(self, part: Node, env: _Env, pipeline: int, stage: int) -> None:
        """A stage after a heredoc's ``|``; a list after it (``| sh && echo``) is not piped."""
        if part.type == "list":
            operands = part.named_children
            if operands:
                self._tail(operands[0], env, pipeline, stage)
                for rest in operands[1:]:
                    self.node(rest, env)
            return
        self.node(part, env.but(context="pipeline", pipeline=pipeline, stage=stage))

    def _heredoc_redirects(self, node: Node) -> list[Redirect]:
        op = "<<"
        delimiter = ""
        found: list[Redirect] = []
        for child in node.children:
            if child.type in ("<<", "<<-"):
                op = child.type
            elif child.type == "heredoc_start":
                delimiter = _unquote_delimiter(_text(child))
            elif child.type in ("file_redirect", "herestring_redirect"):
                found.append(self._redirect(child))
        return [Redirect(op, delimiter, False, delimiter), *found]

    def _heredoc_body(self, node: Node, fed: list[SimpleCommand], env: _Env) -> None:
        start = next((c for c in node.children if c.type == "heredoc_start"), None)
        body = next((c for c in node.children if c.type == "heredoc_body"), None)
        if start is None or body is None:
            return
        quoted = any(q in _text(start) for q in "'\"\\")
        shell = next((c for c in fed if _reads_script_from_stdin(c)), None)
        reader = next((c for c in fed if _reads_code_from_stdin(c)), None)
        if not quoted and (shell or reader) and any(c.type in _EXPANSIONS for c in body.named_children):
            # text for cat or a file is data; code a shell or interpreter runs must be known
            self.problem("It has an unquoted heredoc with expansions, whose text is only known at run time.")
        if not quoted:
            self.substitutions(body, env)  # its $( ) run while bash reads it
        if shell is not None:
            self.source(_text(body), env.nested("heredoc", shell.wrappers))
            return
        if reader is not None:  # python3 - <<'EOF' ... os.system("...") ... EOF
            lang = _inline.language(reader.name) or ""
            for string in _inline.shell_strings(lang, _text(body)):
                self.source(string, env.nested("inline code", reader.wrappers))

    def _walk_redirect_nodes(self, nodes: list[Node], env: _Env) -> None:
        for child in nodes:
            if child.type == "heredoc_redirect":
                for part in child.children:
                    if part.type in ("file_redirect", "herestring_redirect"):
                        self.substitutions(part, env)
            else:
                self.substitutions(child, env)

    def substitutions(self, node: Node, env: _Env) -> None:
        """Walk the ``$( )``, backticks and ``<( )`` inside a word, assignment or redirect."""
        for child in node.named_children:
            kind = child.type
            if kind == "command_substitution" or kind == "process_substitution":
                self.node(child, env)
            elif kind not in _LEAVES:
                self.substitutions(child, env)

    def _redirect(self, node: Node, spilled: list[Node] | None = None) -> Redirect:
        if node.type == "herestring_redirect":
            words = [c for c in node.named_children]
            word = self._word(words[-1]) if words else _Word("")
            return Redirect("<<<", None if word.computed else word.value, False, word.value)
        descriptor = ""
        op = ""
        destinations: list[Node] = []
        for child in node.children:
            field = child.type
            if field == "file_descriptor":
                descriptor = _text(child)
            elif not child.is_named:
                op = field
            elif child.type != "ERROR":
                destinations.append(child)
        first = destinations[0] if destinations else None
        if spilled is not None:
            spilled.extend(destinations[1:])
        target = self._word(first)
        if target.substitution:
            self.problem("It computes a redirect target with $( ) or backticks.")
        if first is not None and first.type == "process_substitution":
            writes = False  # a pipe to another command, not a path
        elif op in (">&", "<&") and (target.value.isdigit() or target.value == "-"):
            writes = False  # duplicates or closes a file descriptor (2>&1)
        else:
            writes = op in _WRITE_OPS or op == ">&"  # `>& file` is `&> file`
        return Redirect(descriptor + op, None if target.computed else target.value, writes, target.value)

    # -- simple commands ---------------------------------------------------------------

    def command(
        self, node: Node, env: _Env, spilled: list[Node] | None = None, lost: list[_Word] | None = None
    ) -> None:
        """One simple command; once per possible value of the variables it uses that the
        command line itself sets (``for f in a b; do rm $f; done``: ``rm a``, ``rm b``)."""
        combinations = self._combinations(node) if self._vars else None
        if combinations is None:
            self._command(node, env, spilled, lost)
            return
        saved = self._bound
        try:
            for values in combinations:
                self._bound = {**saved, **values}
                self._command(node, env, spilled, lost)
        finally:
            self._bound = saved

    def _combinations(self, node: Node) -> list[dict[str, str | None]] | None:
        """Each assignment of values to the variables ``node`` uses that have more than one
        possible value here, or None when there are none (or too many combinations)."""
        choices: dict[str, list[str | None]] = {}
        stack = list(node.named_children)
        while stack:
            item = stack.pop()
            kind = item.type
            if kind == "simple_expansion" or kind == "expansion":
                name = _vars.reference(item)
                var = self._vars.get(name) if name is not None and name not in self._bound else None
                if var is not None and name is not None and name not in choices:
                    found = var.candidates(item.start_byte)
                    if len(found) > 1:
                        choices[name] = found
            elif kind not in _LEAVES:
                stack.extend(item.named_children)
        if not choices:
            return None
        combinations: list[dict[str, str | None]] = [{}]
        for name, values in choices.items():
            combinations = [{**done, name: value} for done in combinations for value in values]
            if len(combinations) > _MAX_COMBINATIONS:
                return None
        return combinations

    def _expand(self, node: Node) -> str | None:
        """The value of ``$NAME`` here if it is known for sure (or fixed by ``command``)."""
        name = _vars.reference(node)
        if name is None:
            return None
        if name in self._bound:
            return self._bound[name]
        var = self._vars.get(name)
        if var is None or var.unknown or len(var.values) != 1 or not var.surely_set(node.start_byte):
            return None
        return var.values[0]

    def _command(
        self, node: Node, env: _Env, spilled: list[Node] | None = None, lost: list[_Word] | None = None
    ) -> None:
        assignments: list[tuple[str, str]] = []
        words: list[_Word] = []
        redirects = list(env.redirects)
        extra: list[Node] = []  # nodes whose substitutions are walked after the command
        herestrings: list[_Word] = []
        spill: list[Node] = []
        last_end = -1
        for index, child in enumerate(node.children):
            field = node.field_name_for_child(index)
            kind = child.type
            if kind == "variable_assignment" and not words:
                assignments.append(self._assignment(child, prefix=True))
                extra.append(child)
            elif field == "redirect" or kind in ("file_redirect", "herestring_redirect"):
                redirect = self._redirect(child, spill)
                redirects.append(redirect)
                if kind == "herestring_redirect":
                    herestrings.append(self._word(child.named_children[-1]) if child.named_children else _Word(""))
                extra.append(child)
            elif field == "name" or field == "argument" or child.is_named:
                target = child.named_children[0] if kind == "command_name" and child.named_child_count else child
                word = self._word(target)
                if child.start_byte == last_end and words:
                    words[-1] = _join(words[-1], word)  # tree-sitter split one word ($"t")
                else:
                    words.append(word)
                last_end = child.end_byte
                extra.append(child)
        words += [self._word(n) for n in spill + (spilled or [])] + (lost or [])
        if any(w.alternatives for w in words):
            if words[0].alternatives:  # {rm,-rf,/}: a command spelled as a brace expansion
                self.problem("Its command is written as a brace expansion, which hides what runs.")
            words = [_Word(a) if w.alternatives else w for w in words for a in (w.alternatives or [w.value])]
        if any(n == "IFS" for n, _ in assignments) and (not words or words[0].value.rpartition("/")[2] in _IFS_USERS):
            self._assigns("IFS")  # `IFS=, eval ...` splits what eval runs
        emitted = self._emit(words, tuple(assignments), tuple(redirects), env)
        for child in extra:
            self._walk_word_node(child, env)
        if emitted is not None:
            for word in herestrings:
                if _reads_script_from_stdin(emitted):
                    self._reparse(word, env.nested("heredoc", emitted.wrappers), f"{emitted.name} <<<")

    def _walk_word_node(self, node: Node, env: _Env) -> None:
        kind = node.type
        if kind == "command_substitution" or kind == "process_substitution":
            self.node(node, env)
        elif kind not in _LEAVES:
            self.substitutions(node, env)

    def _emit_plain(
        self,
        argv: tuple[str, ...],
        assignments: tuple[tuple[str, str], ...],
        redirects: tuple[Redirect, ...],
        env: _Env,
    ) -> SimpleCommand:
        command = SimpleCommand(
            argv, " ".join(argv), assignments, env.wrappers, redirects, False, env.context, (), env.pipeline, env.stage
        )
        self.commands.append(command)
        return command

    def _emit(
        self,
        words: list[_Word],
        assignments: tuple[tuple[str, str], ...],
        redirects: tuple[Redirect, ...],
        env: _Env,
    ) -> SimpleCommand | None:
        """Strip wrappers from ``words``, record the command, then follow what it runs."""
        unwrapped = self._unwrap(words, env)
        if unwrapped is None:
            return None  # the wrapper runs a string (watch, sudo -s, env -S): already walked
        start, inner = unwrapped
        argv = tuple(w.value for w in words[start:])
        computed = bool(argv) and self._check_name(words[start:])
        command = SimpleCommand(
            argv,
            " ".join(argv),
            tuple(assignments) + inner.assignments,
            inner.env.wrappers,
            redirects,
            computed,
            inner.env.context,
            inner.env.prefix,
            env.pipeline,
            env.stage,
        )
        self.commands.append(command)
        if argv:
            self._follow(command, words[start:], inner.env.but(redirects=redirects))
        return command

    def _unwrap(self, words: list[_Word], env: _Env) -> tuple[int, _Unwrapped] | None:
        """Where the real command starts once wrappers are stripped, and what they changed."""
        inner = _Unwrapped(env)
        start = 0
        while start < len(words):
            head = words[start]
            name = head.value.rpartition("/")[2]
            spec = None if head.computed else _wrappers.WRAPPERS.get(name)
            if spec is None:
                break
            values = [w.value for w in words[start:]]
            found = _wrappers.strip(values, spec)
            if found.unknown is not None:
                option = found.unknown.partition("=")[0][:40]  # never the value: it may be a secret
                self.problem(f"It gives {name} an option ringfence does not know ({option}): what it runs is unclear.")
                break
            if found.shell_string is not None:  # flock FILE -c 'cmd; cmd': run by sh -c
                index, cut = found.shell_string
                if start + index < len(words):
                    string = words[start + index]
                    word = _Word(string.value[cut:], string.computed)
                    word.single = string.single and not cut
                    self._reparse(word, inner.env.nested("bash -c", inner.env.wrappers + (name,)), f"{name} -c")
                return None
            if found.split_string is not None:  # env -S 'cmd args': env splits the string itself
                self._env_split(words[start:], found, inner.env.nested(inner.env.context, inner.env.wrappers + (name,)))
                return None
            if found.start is None:
                break
            inner.wrap(name, spec.context, tuple(values[: found.start]), found.assignments)
            if (spec.join and not found.exec_words) or found.through_shell:  # watch, sudo -s: sh -c
                joined = inner.env.nested(inner.env.context, inner.env.wrappers, inner.env.prefix)
                self._run_string(words[start + found.start :], joined, name)
                return None
            start += found.start
        return start, inner

    def _check_name(self, words: list[_Word]) -> bool:
        """Problems of a command's name and flags; whether either is computed at run time."""
        computed = False
        head = words[0]
        if head.computed:
            computed = True
            self.problem("Its command name is computed at run time, so no rule can tell what it runs.")
        elif head.glob:
            computed = True
            self.problem("Its command name is a glob pattern, so no rule can tell what it runs.")
        elif not head.value.isascii():
            self.problem("Its command name has non-ASCII characters, which can imitate another command.")
        if any(w.flag for w in words[1:]) and not _prints_only(head.value, words):
            computed = True
            self.problem("It passes flags computed at run time, so no rule can tell what it does.")
        return computed

    # -- commands that run other commands ----------------------------------------------

    def _follow(self, command: SimpleCommand, words: list[_Word], env: _Env) -> None:
        name = command.name
        if name in _SHELLS:
            self._shell(command, words, env)
        elif name == "eval":
            if not env_setup(command.argv[1:]):  # eval "$(ssh-agent -s)": its $( ) is walked
                self._run_string(words[1:], env.nested("eval", env.wrappers), "eval")
        elif name == "find":
            self._find(words, env)
        elif name == "trap":
            self._trap(words, env)
        elif name in ("su", "runuser"):
            self._su(command, words, env)
        elif name == "alias":
            self._alias(words, env)
        elif name == "ssh":
            self._ssh(command, words, env)
        else:
            self._inline_code(command, env)

    def _shell(self, command: SimpleCommand, words: list[_Word], env: _Env) -> None:
        string = _shell_command_string(command.argv)
        if string is not None:
            self._reparse(words[string], env.nested("bash -c", env.wrappers), f"{command.name} -c")

    def _find(self, words: list[_Word], env: _Env) -> None:
        i = 1
        while i < len(words):
            if words[i].value in _EXEC_FLAGS and not words[i].computed:
                end = i + 1
                while end < len(words) and words[end].value not in (";", "+"):
                    end += 1
                if end > i + 1:
                    self._emit(words[i + 1 : end], (), env.redirects, env.nested("find -exec", env.wrappers))
                i = end
            i += 1

    def _trap(self, words: list[_Word], env: _Env) -> None:
        operands = [w for w in words[1:] if not w.value.startswith("-") or w.computed]
        if len(operands) >= 2 and operands[0].value not in ("", "-"):
            self._reparse(operands[0], env.nested("trap", env.wrappers), "trap")

    def _su(self, command: SimpleCommand, words: list[_Word], env: _Env) -> None:
        argv = command.argv
        for i, value in enumerate(argv[1:], start=1):
            if value in ("-c", "--command", "--session-command") and i + 1 < len(argv):
                self._reparse(words[i + 1], env.nested("su -c", env.wrappers + (command.name,)), "su -c")
                return
            if value.startswith(("--command=", "--session-command=")):
                self._reparse(
                    _Word(value.partition("=")[2], words[i].computed),
                    env.nested("su -c", env.wrappers + (command.name,)),
                    "su -c",
                )
                return
        if command.name == "runuser" and "-u" in argv:  # runuser -u USER [--] CMD...
            i = argv.index("-u") + 2
            if i < len(argv) and argv[i] == "--":
                i += 1
            if i < len(argv):
                self._emit(words[i:], (), (), env.nested("sudo", env.wrappers + ("runuser",)))

    def _inline_code(self, command: SimpleCommand, env: _Env) -> None:
        """``python3 -c "os.system('rm x')"``: the shell strings the code hands on (``_inline``)."""
        lang = _inline.language(command.name)
        if lang is None:
            return
        argv = command.argv
        flags = _inline.CODE_FLAGS[lang]
        for i, arg in enumerate(argv[1:-1], start=1):
            if arg in flags:
                for string in _inline.shell_strings(lang, argv[i + 1]):
                    self.source(string, env.nested("inline code", env.wrappers))

    def _ssh(self, command: SimpleCommand, words: list[_Word], env: _Env) -> None:
        """``ssh host 'rm -rf ~'``: the remote shell runs the words after the host, joined.
        They are reported with ``ssh`` among their wrappers (``remote``): risk rules read
        them, the permission engine does not take them for commands run here."""
        argv = command.argv
        i = 1
        while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
            if argv[i] == "--":
                i += 1
                break
            option = argv[i]
            letters = option[1:]
            for offset, letter in enumerate(letters):
                if letter in _SSH_VALUED:
                    i += 1 if offset + 1 < len(letters) else 2
                    break
                if letter not in _SSH_FLAGS:
                    return  # an option ssh does not have: leave it to ssh
            else:
                i += 1
        if i + 1 < len(argv):  # the destination, then the remote command
            self._run_string(words[i + 1 :], env.nested("ssh", env.wrappers + ("ssh",)), "ssh")

    def _alias(self, words: list[_Word], env: _Env) -> None:
        """``alias ls='rm -rf ~'``: with ``shopt -s expand_aliases`` the value runs as a command."""
        for word in words[1:]:
            _, eq, value = word.value.partition("=")
            if eq and value:
                self._reparse(_Word(value, word.computed), env.nested("alias", env.wrappers), "alias")

    def _run_string(self, words: list[_Word], env: _Env, runner: str) -> None:
        """``eval a b`` and ``watch a b`` join their words with spaces and parse the result."""
        if not words:
            return
        joined = _Word(" ".join(w.value for w in words), any(w.computed for w in words))
        joined.single = len(words) == 1 and words[0].single
        self._reparse(joined, env, runner)

    def _reparse(self, word: _Word, env: _Env, runner: str) -> None:
        """Parse a string bash will parse again; a computed one is a problem, read as written."""
        if word.computed:
            self.problem(f"{runner} runs a command string computed at run time, so no rule can tell what it runs.")
            if word.single:
                return
        self.source(word.value, env)

    def _env_split(self, words: list[_Word], found: _wrappers.Stripped, env: _Env) -> None:
        index = found.split_string if found.split_string is not None else 0
        if index >= len(words):
            return
        value = words[index].value
        string = value.partition("=")[2] if value.startswith("--split-string=") else value
        if value.startswith("-S") and len(value) > 2:
            string = value[2:]
        rest = " ".join(_quote(w.value) for w in words[index + 1 :])
        self._reparse(_Word(f"{string} {rest}".strip(), words[index].computed), env, "env -S")

    # -- words ----------------------------------------------------------------------------

    def _word(self, node: Node | None) -> _Word:
        if node is None:
            return _Word("")
        kind = node.type
        text = _text(node)
        if kind == "word":
            if not text.isascii():
                self.problem("It has non-ASCII characters outside quotes, which can imitate other characters.")
            word = _Word(_unescape(text))
            bare = text if "\\" not in text else _ESCAPED.sub("", text)  # `\*` is a plain star
            word.glob = not _GLOB.isdisjoint(bare)
            if "{" in text and _BRACE.search(text):
                self._braces(word, text)
            return word
        if kind == "raw_string":
            return _Word(text[1:-1])
        if kind == "string":
            return self._string(node, text)
        if kind == "concatenation":
            return self._concatenation(node)
        if kind == "ansi_c_string":
            if _ANSI_HIDING.search(text):  # \n, \t, \e... cannot spell a word; \x72 can
                self.problem("It uses ANSI-C quoting ($'...') with character codes, which can hide characters.")
            return _Word(_decode_ansi_c(text[2:-1]))
        if kind in _EXPANSIONS:
            value = self._expand(node) if self._vars and kind != "command_substitution" else None
            if value is not None and not _SPLITS & set(value):  # unquoted: "a b" would split
                word = _Word(value)
                word.glob = not _GLOB.isdisjoint(value)
                return word
            word = _Word(text, True)
            word.single = True
            word.flag = bool(_ALL_ARGS.match(text))
            word.substitution = kind == "command_substitution"
            return word
        if kind == "translated_string":
            return (
                self._string(node.named_children[0], _text(node.named_children[0]))
                if node.named_child_count
                else _Word(text)
            )
        if kind == "brace_expression":
            word = _Word(text)
            self._braces(word, text)
            return word
        return _Word(text)

    def _string(self, node: Node, text: str) -> _Word:
        """``"..."``: quotes removed, escapes applied, expansions kept as written."""
        parts: list[str] = []
        static = ""
        head: str | None = None  # the literal text before the first expansion
        count = 0
        substitution = flag = False
        counted = True  # every expansion is a CPU count: "-j$(nproc)" is -j and a number
        base = node.start_byte
        position = base + 1
        for child in node.named_children:
            if child.type not in _EXPANSIONS:
                continue  # string_content: taken from the source below, whitespace and all
            literal = _unescape_double(text[position - base : child.start_byte - base])
            value = self._expand(child) if self._vars and child.type != "command_substitution" else None
            if value is not None:  # a variable the command set: its text, in place
                static += literal + value
                parts += (literal, value)
                position = child.end_byte
                continue
            static += literal
            if head is None:
                head = static
            piece = _text(child)
            parts += (literal, piece)
            position = child.end_byte
            count += 1
            substitution = substitution or child.type == "command_substitution"
            flag = flag or bool(_ALL_ARGS.match(piece))
            counted = counted and bool(_CPU_COUNT.match(piece))
        tail = _unescape_double(text[position - base : len(text) - 1])
        parts.append(tail)
        word = _Word("".join(parts), count > 0)
        word.substitution = substitution
        word.single = count == 1 and not static + tail
        word.flag = flag or (head is not None and head.startswith("-") and "=" not in head and not counted)
        return word

    def _concatenation(self, node: Node) -> _Word:
        parts: list[_Word] = [self._word(child) for child in node.named_children]
        value = "".join(p.value for p in parts)
        word = _Word(value, any(p.computed for p in parts))
        word.substitution = any(p.substitution for p in parts)
        word.glob = any(p.glob for p in parts)
        if word.computed:
            head = ""
            for part in parts:
                if part.computed:
                    break
                head += part.value
            counted = all(not p.computed or _CPU_COUNT.match(p.value) for p in parts)  # -j$(nproc)
            word.flag = head.startswith("-") and "=" not in head and not counted
        unquoted = "".join(_text(c) for c in node.named_children if c.type in ("word", "brace_expression"))
        if "{" in unquoted and "}" in unquoted and ("," in unquoted or ".." in unquoted):
            self._braces(word, _text(node))
        return word

    def _braces(self, word: _Word, text: str) -> None:
        """``src/{a,b}``: the words bash makes of it, for ``_command`` to use; a problem when
        they cannot be known (quotes, escapes or expansions inside) or are too many."""
        words = _expand_braces(text) if _BRACE_LITERAL.match(text) else None
        if words is None:
            self.problem("It uses brace expansion, which turns one word into several.")
        elif len(words) > 1:
            word.alternatives = words


_BRACE_LITERAL = lazy(r"^[\w./@%+=:,~{}*?-]+$")  # nothing quoted, escaped or expanded
_SEQUENCE = lazy(r"^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$|^([a-zA-Z])\.\.([a-zA-Z])$")
_MAX_BRACE_WORDS = 64


def _expand_braces(text: str) -> list[str] | None:
    """Bash's brace expansion of an unquoted literal word (``a{b,c}d``, ``{1..3}``,
    ``x{a,b{c,d}}``), or None past ``_MAX_BRACE_WORDS`` words."""
    start = 0
    while True:
        i = text.find("{", start)
        if i < 0:
            return [text]
        depth, j, commas = 0, i, []
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            elif text[j] == "," and depth == 1:
                commas.append(j)
            j += 1
        if j >= len(text):
            return [text]  # no closing brace: all literal
        body = text[i + 1 : j]
        if commas:
            bounds = [i, *commas, j]
            parts = [text[a + 1 : b] for a, b in zip(bounds, bounds[1:])]
        else:
            sequence = _sequence(body)
            if sequence is None:
                start = i + 1  # `{x}`, `{}`: literal braces
                continue
            if not sequence:
                return None  # {1..100000}
            parts = sequence
        out: list[str] = []
        tails = _expand_braces(text[j + 1 :])
        if tails is None:
            return None
        for part in parts:
            middles = _expand_braces(part)
            if middles is None:
                return None
            out += [text[:i] + m + t for m in middles for t in tails]
            if len(out) > _MAX_BRACE_WORDS:
                return None
        return out


def _sequence(body: str) -> list[str] | None:
    """``{1..3}``, ``{01..10..2}``, ``{a..e}``; None when ``body`` is no sequence, [] when it
    is one of more than ``_MAX_BRACE_WORDS`` words."""
    match = _SEQUENCE.match(body)
    if match is None:
        return None
    if match.group(4):
        a, b = ord(match.group(4)), ord(match.group(5))
        step = 1 if b >= a else -1
        return [chr(c) for c in range(a, b + step, step)][: _MAX_BRACE_WORDS + 1]
    a, b = int(match.group(1)), int(match.group(2))
    step = abs(int(match.group(3) or 1)) or 1
    if abs(b - a) // step > _MAX_BRACE_WORDS:
        return []  # too many
    width = max(len(match.group(1)), len(match.group(2))) if match.group(1)[:1] == "0" or match.group(2)[:1] == "0" else 0
    return [str(n).zfill(width) for n in range(a, b + (1 if b >= a else -1), step if b >= a else -step)]


def _join(left: _Word, right: _Word) -> _Word:
    value = right.value if left.value == "$" and not right.computed else left.value + right.value
    word = _Word(value, left.computed or right.computed)
    word.substitution = left.substitution or right.substitution
    word.glob = left.glob or right.glob
    return word


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def _text(node: Node | None) -> str:
    if node is None:
        return ""
    data = node.text
    return data.decode("utf-8", "surrogatepass") if data is not None else ""


def _first_error(root: Node) -> tuple[int, int] | None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            point = node.start_point
            return point[0], point[1]
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


# Nodes whose text between children is content (a string's characters), not syntax.
_CONTENT = frozenset(
    {
        "string",
        "heredoc_body",
        "raw_string",
        "ansi_c_string",
        "word",
        "translated_string",
        "comment",
        "regex",
        "extglob_pattern",
    }
)


def _dropped_text(root: Node, data: bytes) -> bool:
    """Whether tree-sitter skipped source text without an ERROR node (it can: a lone ``-``
    before a heredoc vanishes). Everything between the children of a syntax node must be
    blank; otherwise the tree does not show all that bash would run."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in _CONTENT or not node.child_count:
            continue
        position = node.start_byte
        for child in node.children:
            lost = child.start_byte > position and not _blank(data[position : child.start_byte])
            if lost and not (node.type == "redirected_statement" and child.type == "heredoc_redirect"):
                return True  # (the one gap we recover: see _lost_before_heredoc)
            position = max(position, child.end_byte)
            stack.append(child)
        if node.end_byte > position and not _blank(data[position : node.end_byte]):
            return True
    return False


def _blank(gap: bytes) -> bool:
    return not gap.replace(b"\\\n", b"").strip()


def _stages(node: Node) -> list[Node]:
    stages: list[Node] = []
    for child in node.named_children:
        if child.type == "pipeline":
            stages.extend(_stages(child))
        else:
            stages.append(child)
    return stages


def _heredoc_tails(node: Node) -> list[Node]:
    """The pipeline stages tree-sitter nests inside a heredoc redirect (``<<EOF | sh``)."""
    tails: list[Node] = []
    for child in node.children:
        if child.type == "pipeline":
            tails.extend(_stages(child))
    return tails


def _unquote_delimiter(text: str) -> str:
    return text.replace("'", "").replace('"', "").replace("\\", "")


def _test_words(walk: _Walk, node: Node, argv: list[str]) -> None:
    for child in node.children:
        if (
            child.type
            in ("word", "string", "raw_string", "number", "concatenation", "extglob_pattern", "regex", "test_operator")
            or child.type in _EXPANSIONS
        ):
            argv.append(
                walk._word(child).value
                if child.type not in ("extglob_pattern", "regex", "test_operator")
                else _text(child)
            )
        elif child.child_count == 0:
            argv.append(_text(child))
        else:
            _test_words(walk, child, argv)


def _shell_command_string(argv: tuple[str, ...]) -> int | None:
    """The index of the command string of ``bash -c STRING`` (``-lc``, ``-ec`` too), or None."""
    i = 1
    has_c = False
    while i < len(argv):
        arg = argv[i]
        if arg in ("--", "-"):
            i += 1
            break
        if arg.startswith("--"):
            i += 2 if arg in ("--rcfile", "--init-file") else 1
            continue
        if len(arg) > 1 and arg[0] in "-+":
            letters = arg[1:]
            if arg[0] == "-" and "c" in letters:
                has_c = True
            i += 2 if ("o" in letters or "O" in letters) else 1
            continue
        break
    return i if has_c and i < len(argv) else None


def _reads_code_from_stdin(command: SimpleCommand) -> bool:
    """``python3``, ``python3 -``, ``node``: an interpreter with no script and no inline code."""
    if _inline.language(command.name) is None:
        return False
    return all(a == "-" or (a.startswith("-") and a not in ("-c", "-e", "-E", "-r", "-m")) for a in command.argv[1:])


def _reads_script_from_stdin(command: SimpleCommand) -> bool:
    """``bash``, ``sh -s``, ``bash -e``: a shell with no -c and no script file reads stdin."""
    if command.name not in _SHELLS:
        return False
    argv = command.argv
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if len(arg) > 1 and arg[0] in "-+":
            letters = arg[1:]
            if arg[0] == "-" and "c" in letters and not arg.startswith("--"):
                return False
            if arg[0] == "-" and "s" in letters and not arg.startswith("--"):
                return True
            i += (
                2
                if (not arg.startswith("--") and ("o" in letters or "O" in letters))
                or arg in ("--rcfile", "--init-file")
                else 1
            )
            continue
        break
    return i >= len(argv)


def _prints_only(name: str, words: list[_Word]) -> bool:
    """``echo "$@"``, ``printf '%s\\n' "$@"``: whatever the arguments are, these print them
    (printf's options come before a literal format; echo's change only how it prints)."""
    if name == "echo":
        return True
    return name == "printf" and len(words) > 1 and not words[1].computed and not words[1].value.startswith("-")


def whitespace_value(written: str) -> bool:
    """Whether an assignment's value, as written, is empty or only white space
    (``IFS=``, ``IFS=$'\\n'``, ``IFS=$' \\t\\n'``, ``IFS=" "``)."""
    if written.startswith("$'") and written.endswith("'") and len(written) >= 3:
        body = written[2:-1]
        for escape in ("\\n", "\\t", " "):
            body = body.replace(escape, "")
        return not body
    if len(written) >= 2 and written[0] == written[-1] and written[0] in "'\"":
        written = written[1:-1]
    return not written.strip(" \t\n")


# Commands whose output is made to be eval'd by a shell: environment set-up of tools the
# user installed (``eval "$(ssh-agent -s)"``, ``eval "$(pyenv init -)"``). Exact argv only.
_ENV_SETUP = frozenset(
    {
        "ssh-agent", "ssh-agent -s", "pyenv init -", "pyenv init --path", "pyenv init - bash",
        "pyenv virtualenv-init -", "rbenv init -", "rbenv init - bash", "nodenv init -", "goenv init -",
        "jenv init -", "direnv hook bash", "direnv export bash", "brew shellenv",
        "/opt/homebrew/bin/brew shellenv", "/home/linuxbrew/.linuxbrew/bin/brew shellenv",
        "/usr/local/bin/brew shellenv", "conda shell.bash hook", "opam env", "dircolors", "dircolors -b",
        "starship init bash", "zoxide init bash", "fnm env", "fnm env --use-on-cd", "mise activate bash",
        "luarocks path", "minikube docker-env", "poetry env activate", "pixi shell-hook",
    }  # fmt: skip
)


def env_setup(words: tuple[str, ...]) -> bool:
    """Whether ``eval``'s words are exactly one ``$(tool ...)`` of ``_ENV_SETUP``."""
    if len(words) != 1:
        return False
    word = words[0]
    if word.startswith("$(") and word.endswith(")"):
        inner = word[2:-1]
    elif len(word) > 2 and word[0] == word[-1] == "`":
        inner = word[1:-1]
    else:
        return False
    return " ".join(inner.split()) in _ENV_SETUP


_HANDLERS: dict[str, Callable[[_Walk, Node, _Env], None]] = {
    "command": _Walk.command,
    "redirected_statement": _Walk.redirected,
    "pipeline": _Walk.pipeline,
    "subshell": _Walk.subshell,
    "compound_statement": _Walk.group,
    "function_definition": _Walk.function,
    "command_substitution": _Walk.command_substitution,
    "process_substitution": _Walk.process_substitution,
    "variable_assignment": _Walk.assignment,
    "variable_assignments": _Walk.assignments,
    "declaration_command": _Walk.declaration,
    "unset_command": _Walk.declaration,
    "test_command": _Walk.test,
    "file_redirect": _Walk.bare_redirect,
}
