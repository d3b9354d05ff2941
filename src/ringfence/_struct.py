"""``record``: frozen data classes without the start-up cost of ``dataclasses``.

``ringfence run`` and the hook start on every agent action, so start-up time is a feature.
The standard ``dataclasses`` module imports ``inspect`` (and with it ``ast``, ``dis`` and
``tokenize``) and compiles generated methods with ``exec`` for every class: together about
as long as the rest of ringfence's start-up. ``record`` keeps the same declaration style —
annotated fields, defaults, ``field(default_factory=...)`` — and builds ``__init__``,
``__repr__``, ``__eq__`` and ``__hash__`` from plain closures instead.

Type checkers see it as a dataclass transform (PEP 681).
"""

from __future__ import annotations

TYPE_CHECKING = False  # mypy treats any TYPE_CHECKING as true; importing typing costs time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar, dataclass_transform

    T = TypeVar("T")
else:

    def dataclass_transform(**_kw):  # noqa: D103 - a no-op at run time
        return lambda f: f


_MISSING = object()


class _Field:
    __slots__ = ("default", "factory")

    def __init__(self, default: object, factory: Callable[[], object] | None) -> None:
        self.default = default
        self.factory = factory


def field(*, default: Any = _MISSING, default_factory: Callable[[], Any] | None = None) -> Any:
    """A field with a default or a factory for a fresh default (like ``dataclasses.field``)."""
    return _Field(default, default_factory)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: type[T] | None = None, *, frozen: bool = True) -> Any:
    """Make ``cls`` a record of its annotated fields (in declaration order), frozen unless
    ``frozen=False``; use as ``@record`` or ``@record(frozen=False)``."""
    if cls is None:
        return lambda klass: _build(klass, frozen)
    return _build(cls, frozen)


def _build(cls: type[T], frozen: bool) -> type[T]:
    names: list[str] = []
    defaults: dict[str, _Field] = {}
    for klass in reversed(cls.__mro__[:-1]):
        for name in klass.__dict__.get("__annotations__", {}):
            if name.startswith("__") or name in names:
                continue
            names.append(name)
            value = klass.__dict__.get(name, _MISSING)
            if isinstance(value, _Field):
                defaults[name] = value
            elif value is not _MISSING:
                defaults[name] = _Field(value, None)
    for name in defaults:
        if name in cls.__dict__:
            delattr(cls, name)
    fields = tuple(names)
    methods: dict[str, object] = {
        "__record_fields__": fields,
        "__match_args__": fields,
        "__init__": _make_init(cls.__qualname__, fields, defaults),
        "__repr__": _repr,
        "__eq__": _eq,
    }
    if frozen:
        methods.update(__hash__=_hash, __setattr__=_frozen, __delattr__=_frozen)
    else:
        methods["__hash__"] = None  # mutable: unhashable, as with dataclasses
    for name, value in methods.items():
        if name in ("__repr__", "__eq__") and name in cls.__dict__:
            continue  # the class's own, as dataclasses keeps it (Secret hides its value)
        setattr(cls, name, value)
    return cls


def _make_init(qualname: str, fields: tuple[str, ...], defaults: dict[str, _Field]) -> Callable[..., None]:
    setter = object.__setattr__
    count = len(fields)

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        if len(args) > count:
            raise TypeError(f"{qualname}() takes {count} positional arguments but {len(args)} were given")
        for name, value in zip(fields, args):
            if name in kwargs:
                raise TypeError(f"{qualname}() got multiple values for argument {name!r}")
            setter(self, name, value)
        for name in fields[len(args):]:
            if name in kwargs:
                setter(self, name, kwargs.pop(name))
                continue
            spec = defaults.get(name)
            if spec is None:
                raise TypeError(f"{qualname}() missing required argument: {name!r}")
            setter(self, name, spec.factory() if spec.factory is not None else spec.default)
        if kwargs:
            raise TypeError(f"{qualname}() got an unexpected keyword argument {sorted(kwargs)[0]!r}")

    return __init__


def _values(obj: object) -> tuple[object, ...]:
    return tuple(getattr(obj, name) for name in type(obj).__record_fields__)  # type: ignore[attr-defined]


def _repr(self: object) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in type(self).__record_fields__)  # type: ignore[attr-defined]
    return f"{type(self).__qualname__}({inner})"


def _eq(self: object, other: object) -> object:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return bool(_values(self) == _values(other))


def _hash(self: object) -> int:
    return hash((type(self), _values(self)))


def _frozen(self: object, name: str, value: object = None) -> None:
    raise AttributeError(f"{type(self).__qualname__} is frozen: cannot change {name!r}")


def asdict(obj: object) -> dict[str, Any]:
    """The fields of a record as a dict (not recursive)."""
    return {name: getattr(obj, name) for name in type(obj).__record_fields__}  # type: ignore[attr-defined]


def replace(obj: T, **changes: Any) -> T:
    """A copy of ``obj`` with some fields changed."""
    values = asdict(obj)
    values.update(changes)
    return type(obj)(**values)
