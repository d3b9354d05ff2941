"""`run`'s fast flag parser gives exactly what argparse gives, or defers to it."""

from __future__ import annotations

import pytest

from ringfence.cli import build_parser, parse_run_fast

SAME = [
    ["run", "--", "claude"],
    ["run", "claude", "--verbose"],
    ["run", "--policy", "p.toml", "--workspace", "ws", "--", "sh", "-c", "x"],
    ["run", "--allow-domain", "a.com", "--allow-domain=b.com", "--no-network", "--dry-run", "--", "true"],
    ["run", "--allow-write", "out", "--deny-read", "~/.x", "--user", "bob", "--", "ls", "--", "-l"],
    ["run", "--policy=p.toml", "--", "--weird-command-name"],
    ["run", "--no-mask", "--overlay", "--layer", "review", "--backend", "gvisor", "--", "true"],
    ["run", "--backend=podman", "--user", "bob", "--", "claude"],
    ["run", "--backend", "docker", "--allow-degraded", "--no-network", "--", "claude"],
    ["run", "--allow-degraded", "--backend=podman", "--overlay", "--", "sh", "-c", "true"],
]


@pytest.mark.parametrize("argv", SAME)
def test_same_as_argparse(argv: list[str]) -> None:
    fast = parse_run_fast(argv)
    assert fast is not None
    assert vars(fast) == vars(build_parser().parse_args(argv))


@pytest.mark.parametrize("argv", [["run", "--help"], ["run", "--polcy", "x", "--", "true"], ["run", "--policy"],
                                  ["run", "--dry-run=yes", "--", "true"]])
def test_defers_to_argparse(argv: list[str]) -> None:
    assert parse_run_fast(argv) is None


@pytest.mark.parametrize("argv", [
    ["hook", "claude-code"],
    ["hook", "claude-code", "--policy", "p.toml"],
    ["hook", "claude-code", "--policy=p.toml", "--claude-settings", "auto"],
])
def test_hook_fast_path_agrees_with_argparse(argv: list[str]) -> None:
    from ringfence.cli import build_parser, parse_hook_fast

    fast = parse_hook_fast(argv)
    slow = build_parser().parse_args(argv)
    assert fast is not None
    assert {k: getattr(fast, k) for k in ("cmd", "hook_cmd", "policy", "claude_settings")} == {
        k: getattr(slow, k) for k in ("cmd", "hook_cmd", "policy", "claude_settings")}


def test_hook_fast_path_leaves_anything_else_to_argparse() -> None:
    from ringfence.cli import parse_hook_fast

    assert parse_hook_fast(["hook", "claude-code", "--help"]) is None
    assert parse_hook_fast(["hook", "claude-code", "--policy"]) is None
