"""Reading, validating and layering policy files; every error names file, key and form."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringfence.errors import ExitCode, PolicyError
from ringfence.policy import Overrides, UnixSockets

from .conftest import load, write


def test_contract_example(env: dict[str, Path]) -> None:
    write(
        env["ws"] / "ringfence.toml",
        """
[sandbox]
workspace = "."
env = ["PATH", "HOME", "LANG", "TERM", "USER", "SHELL"]

[filesystem]
deny_read   = ["~/.ssh"]
allow_write = ["."]
deny_write  = []

[network]
allow = ["pypi.org", "*.pythonhosted.org"]
deny  = []

[audit]
path = "~/.local/state/ringfence/audit.db"
""",
    )
    policy = load(env)
    assert policy.sandbox.workspace == str(env["ws"])
    assert policy.filesystem.deny_read == (str(env["home"] / ".ssh"),)
    assert policy.filesystem.allow_write == (str(env["ws"]),)
    assert policy.network.allow == ("pypi.org", "*.pythonhosted.org")
    assert policy.audit.path == str(env["home"] / ".local/state/ringfence/audit.db")
    assert policy.sources == (str(env["ws"] / "ringfence.toml"),)
    assert policy.network.unix_sockets is UnixSockets.NONE


def test_defaults_without_any_file(env: dict[str, Path]) -> None:
    policy = load(env)
    assert policy.sandbox.workspace == str(env["ws"])
    assert policy.filesystem.allow_write == (str(env["ws"]),)
    assert policy.network.allow == ()
    assert policy.sources == ()


def test_relative_paths_are_relative_to_the_file_naming_them(env: dict[str, Path], tmp_path: Path) -> None:
    other = write(tmp_path / "conf" / "p.toml", '[filesystem]\nallow_write = ["../out"]\n')
    policy = load(env, policy_file=other)
    assert policy.filesystem.allow_write == (str(tmp_path / "out"),)


@pytest.mark.parametrize(
    ("text", "key", "says"),
    [
        ("[sandbox]\nworkspac = '.'\n", "sandbox.workspac", "unknown key"),
        ("[sandboxx]\n", "[sandboxx]", "unknown section"),
        ("[network]\nallow = 'pypi.org'\n", "network.allow", "wrong type"),
        ("[network]\nallow = ['*']\n", "network.allow", "first label"),
        ("[network]\nallow = ['*.com']\n", "network.allow", "public suffix"),
        ("[network]\nunix_sockets = 'all'\n", "network.unix_sockets", "unknown mode"),
        ("[sandbox]\nenv = ['A=B']\n", "sandbox.env", "environment variable"),
        ("[sandbox]\ntmp_size = 'lots'\n", "sandbox.tmp_size", "not a size"),
        ("[filesystem]\ndeny_read = [1]\n", "filesystem.deny_read", "wrong type"),
        ("[audit]\npath = '~bob/x'\n", "audit.path", "invoking user"),
        ("network = 3\n", "network", "must be a table"),
        ("[network\n", None, "not valid TOML"),
        ("[workspace]\nmask = 'yes'\n", "workspace.mask", "not true or false"),
        ("[workspace]\nexclude = 'fixtures/'\n", "workspace.exclude", "wrong type"),
        ("[workspace]\nmasks = true\n", "workspace.masks", "unknown key"),
    ],
)
def test_bad_policy_names_file_and_key(env: dict[str, Path], text: str, key: str | None, says: str) -> None:
    path = write(env["ws"] / "ringfence.toml", text)
    with pytest.raises(PolicyError) as info:
        load(env)
    message = str(info.value)
    assert str(path) in message
    assert says in message
    if key:
        assert key in message
    assert info.value.exit_code == ExitCode.USAGE


def test_missing_policy_file(env: dict[str, Path]) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load(env, policy_file=env["ws"] / "nope.toml")


def test_layers_merge_and_managed_deny_wins(env: dict[str, Path]) -> None:
    write(env["managed"], '[network]\ndeny = ["evil.example.com"]\n[filesystem]\ndeny_read = ["/srv/secrets"]\n')
    write(env["ws"] / "ringfence.toml", '[network]\nallow = ["*.example.com"]\n')
    write(
        env["home"] / ".config/ringfence/policy.toml",
        '[network]\nallow = ["pypi.org"]\n[filesystem]\nallow_read = ["/srv/secrets", "~/.npmrc"]\n',
    )
    policy = load(env)
    assert set(policy.network.allow) == {"*.example.com", "pypi.org"}
    rules = policy.network.rules()
    assert rules.decide_name("api.example.com", 443).allowed
    assert not rules.decide_name("evil.example.com", 443).allowed
    # the user layer's allow_read cannot undo the managed layer's deny_read
    assert str(Path("/srv/secrets")) not in policy.filesystem.allow_read
    assert str(env["home"] / ".npmrc") in policy.filesystem.allow_read
    assert str(Path("/srv/secrets")) in policy.hidden_paths((str(env["home"]),))
    assert str(env["home"] / ".npmrc") not in policy.hidden_paths((str(env["home"]),))
    assert policy.sources[0] == str(env["managed"])


def test_scalars_come_from_the_highest_layer(env: dict[str, Path]) -> None:
    write(env["managed"], '[network]\nunix_sockets = "none"\n')
    write(env["ws"] / "ringfence.toml", '[network]\nunix_sockets = "sandbox"\n[audit]\npath = "audit.db"\n')
    policy = load(env)
    assert policy.network.unix_sockets is UnixSockets.NONE
    assert policy.audit.path == str(env["ws"] / "audit.db")


def test_flags_add_to_the_policy(env: dict[str, Path], tmp_path: Path) -> None:
    write(env["ws"] / "ringfence.toml", '[network]\nallow = ["pypi.org"]\ndeny = ["bad.example.org"]\n')
    policy = load(
        env,
        overrides=Overrides(allow_domains=["example.org", "*.example.org"], allow_write=[str(tmp_path / "extra")],
                            deny_read=[str(tmp_path / "secret")]),
    )
    assert set(policy.network.allow) == {"pypi.org", "example.org", "*.example.org"}
    assert not policy.network.rules().decide_name("bad.example.org", 443).allowed
    assert str(tmp_path / "extra") in policy.filesystem.allow_write
    assert str(tmp_path / "secret") in policy.filesystem.deny_read


def test_bad_flag_rule(env: dict[str, Path]) -> None:
    with pytest.raises(PolicyError, match="--allow-domain"):
        load(env, overrides=Overrides(allow_domains=["*"]))


def test_no_network_clears_allow(env: dict[str, Path]) -> None:
    write(env["ws"] / "ringfence.toml", '[network]\nallow = ["pypi.org"]\n')
    policy = load(env, overrides=Overrides(no_network=True))
    assert policy.network.allow == ()
    assert not policy.network.enabled
    assert not policy.network.rules().decide_name("pypi.org", 443).allowed


def test_builtin_hidden_paths(env: dict[str, Path]) -> None:
    policy = load(env)
    hidden = policy.hidden_paths((str(env["home"]),))
    for name in (".ssh", ".aws", ".config/gcloud", ".docker/config.json", ".git-credentials", ".netrc",
                 ".local/share/ringfence", ".password-store"):
        assert str(env["home"] / name) in hidden
    assert policy.audit.path in hidden


def test_workspace_masking_is_on_unless_a_layer_or_the_flag_says_otherwise(env: dict[str, Path]) -> None:
    assert load(env).workspace.mask is True and load(env).workspace.exclude == ()
    write(env["user"], '[workspace]\nexclude = ["vendor/"]\n')
    write(env["project"], '[workspace]\nmask = false\nexclude = ["fixtures/"]\n')
    policy = load(env)
    assert policy.workspace.mask is False
    assert policy.workspace.exclude == ("fixtures/", "vendor/")
    write(env["project"], "")
    assert load(env, overrides=Overrides(no_mask=True)).workspace.mask is False


def test_what_the_managed_layer_requires_no_lower_layer_or_flag_undoes(env: dict[str, Path]) -> None:
    write(env["managed"], "[workspace]\nmask = true\n")
    write(env["project"], "[workspace]\nmask = false\n")
    assert load(env).workspace.mask is True
    with pytest.raises(PolicyError) as info:
        load(env, overrides=Overrides(no_mask=True))
    assert "--no-mask" in str(info.value) and str(env["managed"]) in str(info.value)
