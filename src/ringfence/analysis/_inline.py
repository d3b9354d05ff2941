"""Shell commands inside inline interpreter code (``python -c``, ``node -e``, ``perl -e``...).

``python3 -c "import os; os.system('rm -rf /')"`` runs ``rm -rf /`` through ``/bin/sh``.
The code is not bash, so it is not parsed; but the string literals handed to the usual
ways of running a shell command are, so rules see them. This is a best effort on literal
strings (a command built at run time stays invisible) and it looks only at calls that run
a command: ``subprocess.run(...)`` but not ``asyncio.run(...)``.
"""

from __future__ import annotations

import re

from ringfence.analysis._lazyre import lazy

_STRING = r"""(?P<q>["'`])(?P<body>(?:\\.|(?!(?P=q)).){1,2000}?)(?P=q)"""
_LIST = r"\[(?P<list>[^\]]{1,2000})\]"

# The calls that hand a string (or a list of words) to a shell or exec, per language.
_CALLS = {
    "python": r"os\.(?:system|popen|exec\w*|spawn\w*)|commands\.getoutput|pty\.spawn"
    r"|subprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)",
    "node": r"(?:child_process\.|\b)(?:execSync|exec|execFileSync|execFile|spawnSync|spawn)",
    "perl": r"\b(?:system|exec|qx)",
    "ruby": r"\b(?:system|exec|spawn|IO\.popen|Open3\.\w+)",
    "php": r"\b(?:system|exec|shell_exec|passthru|popen|proc_open)",
}
_LANGUAGES = {
    "python": "python",
    "python2": "python",
    "python3": "python",
    "node": "node",
    "nodejs": "node",
    "bun": "node",
    "deno": "node",
    "perl": "perl",
    "ruby": "ruby",
    "php": "php",
}
# Flags that take the inline code as their value.
CODE_FLAGS = {
    "python": ("-c",),
    "node": ("-e", "--eval", "-p", "--print"),
    "perl": ("-e", "-E"),
    "ruby": ("-e",),
    "php": ("-r",),
}
_COMPILED = {
    language: lazy(rf"(?:{calls})\s*\(\s*(?:{_STRING}|{_LIST})", re.DOTALL) for language, calls in _CALLS.items()
}
_BACKTICKS = lazy(r"`(?P<body>[^`]{1,2000})`|qx\{(?P<qx>[^}]{1,2000})\}|%x\((?P<x>[^)]{1,2000})\)")
_PYTHON_N = lazy(r"python[23](\.\d+)?")
_ITEM = lazy(r"""(["'])((?:\\.|(?!\1).)*)\1""")


def language(interpreter: str) -> str | None:
    """The language of an interpreter's name (``python3.12`` -> ``python``), or None."""
    found = _LANGUAGES.get(interpreter)
    if found is None and interpreter.startswith("python") and _PYTHON_N.fullmatch(interpreter):
        return "python"
    return found


def shell_strings(lang: str, code: str) -> list[str]:
    """The command lines ``code`` hands to a shell or exec, as far as literals show them."""
    found: list[str] = []
    for match in _COMPILED[lang].finditer(code):
        if match.group("list") is not None:
            words = [item.group(2) for item in _ITEM.finditer(match.group("list"))]
            if words:
                found.append(" ".join(_quote(w) for w in words))
        elif match.group("q") != "`" or lang == "node":
            found.append(_unescape(match.group("body")))
    if lang in ("perl", "ruby", "php"):
        for match in _BACKTICKS.finditer(code):
            found.append(match.group("body") or match.group("qx") or match.group("x") or "")
    return [f for f in found if f.strip()]


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _quote(word: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return "'" + word.replace("'", "'\\''") + "'"
