"""ringfence.credentials: public names loaded on first use, so a run without credentials
pays for none of them."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import ringfence.credentials

_SUBMODULES = ["errors", "guard", "placeholder", "ratelimit", "rules", "scrub", "sources"]


def test_import_loads_no_submodule() -> None:
    modules = [f"ringfence.credentials.{m}" for m in _SUBMODULES] + ["subprocess", "shlex", "threading", "secrets"]
    script = f"import sys, ringfence.credentials\nprint(sorted(m for m in {modules!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_every_public_name_resolves_from_its_module() -> None:
    for name in ringfence.credentials.__all__:
        value = getattr(ringfence.credentials, name)
        module = importlib.import_module(value.__module__)
        assert getattr(module, name) is value
    assert set(ringfence.credentials.__all__) <= set(dir(ringfence.credentials))


def test_unknown_name() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        ringfence.credentials.nope  # noqa: B018
