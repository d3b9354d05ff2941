"""[permissions] in the policy layers: validated at load, merged as a union with provenance."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.errors import PolicyError
from ringfence.policy import PermissionEntry, PermissionsPolicy

from .conftest import load, write


def test_no_permissions_section(env: dict[str, Path]) -> None:
    assert load(env).permissions == PermissionsPolicy()


def test_union_of_layers_with_provenance(env: dict[str, Path]) -> None:
    managed = write(env["managed"], '[permissions]\ndeny = ["Bash(curl:*)", "Read(~/.ssh/**)"]\n')
    project = write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(curl:*)"]\nask = ["WebFetch"]\n')
    user = write(env["home"] / ".config/ringfence/policy.toml", '[permissions]\ndeny = ["Bash(curl:*)"]\n')
    entries = load(env).permissions.entries
    assert entries == (
        PermissionEntry("Bash(curl:*)", "deny", str(managed), "managed", str(managed.parent), "permissions.deny[0]"),
        PermissionEntry("Read(~/.ssh/**)", "deny", str(managed), "managed", str(managed.parent), "permissions.deny[1]"),
        PermissionEntry("WebFetch", "ask", str(project), "project", str(project.parent), "permissions.ask[0]"),
        PermissionEntry("Bash(curl:*)", "allow", str(project), "project", str(project.parent), "permissions.allow[0]"),
        PermissionEntry("Bash(curl:*)", "deny", str(user), "user", str(user.parent), "permissions.deny[0]"),
    )
    assert [e.rule for e in load(env).permissions.of_kind("deny")] == ["Bash(curl:*)", "Read(~/.ssh/**)", "Bash(curl:*)"]


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ('[permissions]\nallw = ["Bash"]\n', "permissions.allw", "unknown key"),
        ('[permissions]\nallow = "Bash"\n', "permissions.allow", "wrong type"),
        ('[permissions]\nallow = ["Bash", 3]\n', "permissions.allow", "wrong type"),
        ('[permissions]\ndeny = ["Bash(rm"]\n', "permissions.deny[0]", "rule 'Bash(rm': has no closing"),
        ('[permissions]\nallow = ["Bash(ls)", "Agent(model:opus)"]\n', "permissions.allow[1]", "deny and ask lists only"),
        ('[permissions]\nask = ["WebFetch(example.com)"]\n', "permissions.ask[0]", "domain:HOST"),
        ("permissions = 1\n", "permissions", "must be a table"),
    ],
)
def test_errors_name_file_and_key(env: dict[str, Path], text: str, key: str, says: str) -> None:
    path = write(env["ws"] / "ringfence.toml", text)
    with pytest.raises(PolicyError) as caught:
        load(env)
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert says in str(caught.value)


def test_cached_parse_keeps_the_rules(env: dict[str, Path]) -> None:
    write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(npm test:*)"]\n')
    first = load(env).permissions
    assert load(env).permissions == first  # second load comes from the parse cache
    assert first.entries[0].rule == "Bash(npm test:*)"
