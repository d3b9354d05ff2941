"""Public names of a package that load their module on first use (PEP 562).

``ringfence run`` starts fast because a package's ``__init__`` imports nothing heavy: it
lists where each public name lives, and ``lazy_getattr`` imports that module when the name
is first asked for (then caches it in the package, so the next lookup is a plain global).
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable


def lazy_getattr(package: str, names: dict[str, str], namespace: dict[str, object]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: ``names`` maps a public name to its submodule."""

    def __getattr__(name: str) -> object:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        import importlib  # on first use only: start-up time is a feature

        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    return __getattr__
