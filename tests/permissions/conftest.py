"""Building engines from rule lists for the tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from ringfence.permissions import Engine, parse_rule

CWD = "/w/proj"
HOME = "/h/me"


def make_engine(
    deny: Iterable[str] = (), ask: Iterable[str] = (), allow: Iterable[str] = (), *, cwd: str = CWD,
    home: str = HOME, **kw: object,
) -> Engine:
    rules = [parse_rule(t, k, base=cwd) for k, ts in (("deny", deny), ("ask", ask), ("allow", allow)) for t in ts]
    return Engine(rules, cwd=cwd, home=home, **kw)  # type: ignore[arg-type]


@pytest.fixture
def engine() -> Callable[..., Engine]:
    return make_engine
