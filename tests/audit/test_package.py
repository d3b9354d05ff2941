"""ringfence.audit: the public names, loaded lazily so the command line starts fast."""

from __future__ import annotations

import importlib

import pytest

import ringfence.audit

from .conftest import run_python

_LAZY_MODULES = ["sqlite3", "threading", "ringfence.audit.store", "ringfence.audit.queries", "ringfence.audit.render"]


def test_import_loads_no_store() -> None:
    script = "import sys, ringfence.audit\nprint(sorted(m for m in {} if m in sys.modules))".format(_LAZY_MODULES)
    result = run_python(script)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "module"),
    [
        ("AuditLog", "store"),
        ("query", "queries"),
        ("parse_since", "queries"),
        ("render_table", "render"),
        ("render_json_lines", "render"),
    ],
)
def test_lazy_names(name: str, module: str) -> None:
    expected = getattr(importlib.import_module(f"ringfence.audit.{module}"), name)
    assert getattr(ringfence.audit, name) is expected


def test_every_public_name_resolves() -> None:
    for name in ringfence.audit.__all__:
        assert getattr(ringfence.audit, name) is not None
    assert set(ringfence.audit.__all__) <= set(dir(ringfence.audit))


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ringfence.audit.nope  # noqa: B018
