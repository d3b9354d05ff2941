"""`record`: the start-up-cheap replacement for frozen dataclasses."""

from __future__ import annotations

import pytest

from ringfence._struct import asdict, field, record, replace


@record
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)


@record(frozen=False)
class Counter:
    n: int = 0


def test_init_defaults_and_factory() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 0, [])
    assert Point(1).tags is not Point(1).tags
    assert Point(x=2, y=3) == Point(2, 3)
    assert Point(1, tags=["a"]).tags == ["a"]


def test_frozen_eq_hash_repr() -> None:
    p = Point(1, 2)
    with pytest.raises(AttributeError, match="frozen"):
        p.x = 5  # type: ignore[misc]
    assert p == Point(1, 2) and p != Point(2, 1) and p != (1, 2, [])
    same = Point(1, 2, tags=("a",))  # type: ignore[arg-type]
    assert hash(same) == hash(Point(1, 2, tags=("a",)))  # type: ignore[arg-type]
    assert repr(p) == "Point(x=1, y=2, tags=[])"


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        ((), {}, "missing required argument: 'x'"),
        ((1, 2, [], 4), {}, "takes 3 positional arguments"),
        ((1,), {"x": 2}, "multiple values"),
        ((1,), {"z": 2}, "unexpected keyword argument 'z'"),
    ],
)
def test_bad_calls(args: tuple[object, ...], kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(TypeError, match=says):
        Point(*args, **kwargs)  # type: ignore[arg-type]


def test_mutable_record() -> None:
    c = Counter()
    c.n += 1
    assert c.n == 1
    with pytest.raises(TypeError):
        hash(c)


def test_asdict_and_replace() -> None:
    p = Point(1, 2)
    assert asdict(p) == {"x": 1, "y": 2, "tags": []}
    assert replace(p, y=5) == Point(1, 5)


def test_a_record_keeps_its_own_repr() -> None:
    """A record that holds a secret writes its own __repr__; record must not replace it."""

    @record
    class Token:
        name: str
        value: str

        def __repr__(self) -> str:
            return f"Token({self.name})"

    assert repr(Token("gh", "s3cret")) == "Token(gh)"
    assert Token("gh", "a") != Token("gh", "b")  # the generated __eq__ is still there
