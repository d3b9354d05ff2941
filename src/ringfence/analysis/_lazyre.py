"""Regular expressions compiled on first use.

The risk families hold about seventy patterns; compiling them all when the first command
is analysed cost ~8 ms of the hook's start-up, and most never run for a given command
(rules are called only for the command names they declare). ``lazy(pattern)`` defers the
compilation to the pattern's first use; the compiled pattern is then kept.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterator
    from typing import Any


class LazyPattern:
    """The parts of ``re.Pattern`` the analysis uses, compiling on first use. The first
    look-up of any of them compiles the pattern and puts the compiled pattern's own bound
    methods on the instance, so later calls cost what a compiled pattern's do."""

    _METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub")

    if TYPE_CHECKING:
        compiled: re.Pattern[str]

        def search(self, string: str) -> re.Match[str] | None: ...
        def match(self, string: str) -> re.Match[str] | None: ...
        def fullmatch(self, string: str) -> re.Match[str] | None: ...
        def finditer(self, string: str) -> Iterator[re.Match[str]]: ...
        def findall(self, string: str) -> list[str]: ...
        def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, count: int = 0) -> str: ...

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only called for what the instance lacks
        if name != "compiled" and name not in self._METHODS:
            raise AttributeError(name)
        import re  # here: a run whose workspace scan is all cached never loads it

        compiled = re.compile(self._source, self._flags)
        self.compiled = compiled
        for method in self._METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(self, name)


def lazy(source: str, flags: int = 0) -> LazyPattern:
    """A pattern compiled the first time it is used."""
    return LazyPattern(source, flags)
