"""Shared by the policy tests: a home, a workspace and a managed-layer path in tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.policy import Policy, load_policy


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    home.mkdir()
    ws.mkdir()
    return {
        "home": home,
        "ws": ws,
        "managed": tmp_path / "etc" / "policy.toml",
        "project": ws / "ringfence.toml",
        "user": home / ".config/ringfence/policy.toml",
    }


def load(env: dict[str, Path], **kw: object) -> Policy:
    return load_policy(cwd=env["ws"], home=env["home"], managed=env["managed"], **kw)  # type: ignore[arg-type]
