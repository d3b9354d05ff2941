"""Rules from ringfence's policy layers and Claude Code's settings files (reference §1
"Settings hierarchy", "Managed settings"; issue 4 §1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ringfence.errors import ExitCode, PolicyError
from ringfence.permissions import Engine, PermissionsError, collect_rules
from ringfence.policy import load_policy


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def settings(path: Path, **lists: list[str]) -> Path:
    return write(path, json.dumps({"permissions": lists, "env": {"X": "1"}}))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "home": tmp_path / "home",
        "ws": tmp_path / "ws",
        "managed": tmp_path / "etc" / "ringfence" / "policy.toml",
        "claude_managed": tmp_path / "etc" / "claude-code" / "managed-settings.json",
    }
    paths["home"].mkdir()
    paths["ws"].mkdir()
    return paths


def build(env: dict[str, Path], claude_settings: str | None = None, **kw: object) -> Engine:
    policy = load_policy(cwd=env["ws"], home=env["home"], managed=env["managed"])
    return Engine.from_policy(
        policy, cwd=str(env["ws"]), home=str(env["home"]), claude_settings=claude_settings,
        claude_managed=str(env["claude_managed"]), **kw,  # type: ignore[arg-type]
    )


def bash(engine: Engine, command: str) -> str:
    return engine.decide("Bash", {"command": command}).behavior


# --- ringfence's policy layers ------------------------------------------------------------


def test_policy_layers_keep_their_origin(env: dict[str, Path]) -> None:
    write(env["managed"], '[permissions]\ndeny = ["Bash(curl:*)"]\n')
    write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(curl:*)", "Bash(npm test:*)"]\nask = ["Bash(git push:*)"]\n')
    write(env["home"] / ".config/ringfence/policy.toml", '[permissions]\nallow = ["Bash(make:*)"]\n')
    engine = build(env)
    assert [(r.text, r.kind, r.source.scope, r.key) for r in engine.rules] == [
        ("Bash(curl:*)", "deny", "ringfence-managed", "permissions.deny[0]"),
        ("Bash(git push:*)", "ask", "ringfence-project", "permissions.ask[0]"),
        ("Bash(curl:*)", "allow", "ringfence-project", "permissions.allow[0]"),
        ("Bash(npm test:*)", "allow", "ringfence-project", "permissions.allow[1]"),
        ("Bash(make:*)", "allow", "ringfence-user", "permissions.allow[0]"),
    ]
    # a managed deny cannot be undone by a project allow
    decision = engine.decide("Bash", {"command": "curl https://x"})
    assert decision.behavior == "deny"
    assert str(env["managed"]) in decision.reason
    assert bash(engine, "npm test && make") == "allow"
    assert bash(engine, "git push") == "ask"


def test_policy_anchor_is_the_policy_files_folder(env: dict[str, Path]) -> None:
    write(env["managed"], '[permissions]\ndeny = ["Read(/secrets/**)"]\n')
    engine = build(env)
    secret = env["managed"].parent / "secrets" / "k"
    assert engine.rules[0].base == str(env["managed"].parent)
    assert engine.decide("Read", {"file_path": str(secret)}).behavior == "deny"
    assert engine.decide("Read", {"file_path": str(env["ws"] / "secrets" / "k")}).behavior == "allow"


def test_malformed_policy_rule_names_file_key_and_rule(env: dict[str, Path]) -> None:
    write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(ls)", "mcp__*"]\n')
    with pytest.raises(PolicyError) as caught:
        load_policy(cwd=env["ws"], home=env["home"], managed=env["managed"])
    text = str(caught.value)
    assert text.startswith(f"{env['ws'] / 'ringfence.toml'}: permissions.allow[1]: rule 'mcp__*': ")
    assert "must follow a literal mcp__<server>__" in text
    assert caught.value.exit_code == ExitCode.USAGE


# --- Claude Code's settings files -----------------------------------------------------------


def test_auto_reads_every_scope(env: dict[str, Path]) -> None:
    settings(env["claude_managed"], deny=["Bash(rm:*)"])
    settings(env["claude_managed"].parent / "managed-settings.d" / "20-b.json", deny=["Bash(dd:*)"])
    settings(env["claude_managed"].parent / "managed-settings.d" / "10-a.json", ask=["Bash(git push:*)"])
    write(env["claude_managed"].parent / "managed-settings.d" / "notes.txt", "not json")
    settings(env["ws"] / ".claude" / "settings.local.json", allow=["Bash(make:*)"])
    settings(env["ws"] / ".claude" / "settings.json", allow=["Bash(npm test:*)", "Bash(rm -rf build)"])
    settings(env["home"] / ".claude" / "settings.json", allow=["Bash(pytest:*)"], deny=["Read(/secret)"])
    engine = build(env, "auto")
    scopes = [(r.text, r.source.scope, r.source.path) for r in engine.rules]
    d = env["claude_managed"].parent / "managed-settings.d"
    assert scopes == [
        ("Bash(rm:*)", "managed", str(env["claude_managed"])),
        ("Bash(git push:*)", "managed", str(d / "10-a.json")),  # alphabetically after the main file
        ("Bash(dd:*)", "managed", str(d / "20-b.json")),
        ("Bash(make:*)", "local", str(env["ws"] / ".claude" / "settings.local.json")),
        ("Bash(npm test:*)", "project", str(env["ws"] / ".claude" / "settings.json")),
        ("Bash(rm -rf build)", "project", str(env["ws"] / ".claude" / "settings.json")),
        ("Read(/secret)", "user", str(env["home"] / ".claude" / "settings.json")),
        ("Bash(pytest:*)", "user", str(env["home"] / ".claude" / "settings.json")),
    ]
    assert bash(engine, "rm -rf build") == "deny"  # managed deny beats the project allow
    assert bash(engine, "make && npm test && pytest -q") == "allow"
    assert bash(engine, "git push") == "ask"
    # `/p` in the user file is relative to ~/.claude
    assert engine.decide("Read", {"file_path": str(env["home"] / ".claude" / "secret")}).behavior == "deny"


def test_settings_anchors(env: dict[str, Path], tmp_path: Path) -> None:
    settings(env["ws"] / ".claude" / "settings.json", deny=["Read(/build/**)"])
    engine = build(env, "auto")
    assert engine.rules[0].base == str(env["ws"])
    assert engine.decide("Read", {"file_path": str(env["ws"] / "build" / "x")}).behavior == "deny"
    explicit = settings(tmp_path / "conf" / "extra.json", deny=["Read(/build/**)"])
    engine = build(env, str(explicit))
    assert (engine.rules[0].source.scope, engine.rules[0].base) == ("cli", str(explicit.parent))
    assert engine.decide("Read", {"file_path": str(explicit.parent / "build" / "x")}).behavior == "deny"
    assert engine.decide("Read", {"file_path": str(env["ws"] / "build" / "x")}).behavior == "allow"


def test_settings_are_read_only_when_asked(env: dict[str, Path]) -> None:
    settings(env["ws"] / ".claude" / "settings.json", deny=["Bash(ls:*)"])
    assert build(env).rules == ()
    assert bash(build(env), "ls") == "allow"
    assert bash(build(env, "auto"), "ls") == "deny"


def test_managed_only_lock(env: dict[str, Path]) -> None:
    write(env["claude_managed"], json.dumps({"allowManagedPermissionRulesOnly": True,
                                             "permissions": {"deny": ["Bash(rm:*)"]}}))
    settings(env["ws"] / ".claude" / "settings.json", allow=["Bash(curl:*)"])
    write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(make:*)"]\n')
    engine = build(env, "auto")
    assert [(r.text, r.source.scope) for r in engine.rules] == [
        ("Bash(make:*)", "ringfence-project"), ("Bash(rm:*)", "managed")
    ]


def test_untrusted_project_allow_rules_are_dropped(env: dict[str, Path]) -> None:
    settings(env["ws"] / ".claude" / "settings.json", allow=["Bash(curl:*)"], deny=["Bash(rm:*)"])
    settings(env["ws"] / ".claude" / "settings.local.json", allow=["Bash(wget:*)"])
    settings(env["home"] / ".claude" / "settings.json", allow=["Bash(make:*)"])
    write(env["ws"] / "ringfence.toml", '[permissions]\nallow = ["Bash(npm:*)"]\n')
    engine = build(env, "auto", trust_project=False)
    assert sorted(r.text for r in engine.rules) == ["Bash(make:*)", "Bash(rm:*)"]


@pytest.mark.parametrize(
    ("content", "key", "says"),
    [
        ('{"permissions": {"allow": ["Bash(ls)", "Bash(npm"]}}', "permissions.allow[1]", "rule 'Bash(npm': has no closing"),
        ('{"permissions": {"deny": ["Agent(model:opus)"], "allow": ["Agent(model:opus)"]}}', "permissions.allow[0]",
         "deny and ask lists only"),
        ('{"permissions": {"ask": "Bash"}}', "permissions.ask", "must be a list of rule strings"),
        ('{"permissions": {"deny": [3]}}', "permissions.deny[0]", "must be a rule string"),
        ('{"permissions": []}', "permissions", "must be an object"),
    ],
)
def test_malformed_settings_name_file_key_and_rule(env: dict[str, Path], content: str, key: str, says: str) -> None:
    path = write(env["home"] / ".claude" / "settings.json", content)
    with pytest.raises(PermissionsError) as caught:
        build(env, "auto")
    assert str(caught.value).startswith(f"{path}: {key}: ")
    assert says in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ('{"permissions": {"allow": ["Bash(ls)",]}}', "not valid JSON at line 1, column 39"),
        ('{\n  "permissions": {\n    "allow": [\n      Bash\n', "not valid JSON at line 4, column 7"),
        ("[]", "must be a JSON object"),
        ("\xff", "not valid JSON"),
    ],
)
def test_settings_json_errors_name_file_and_position(env: dict[str, Path], content: str, says: str) -> None:
    path = write(env["ws"] / ".claude" / "settings.local.json", content)
    with pytest.raises(PermissionsError) as caught:
        build(env, "auto")
    assert str(caught.value).startswith(f"{path}: ")
    assert says in str(caught.value)


def test_a_malformed_managed_file_stops_everything(env: dict[str, Path]) -> None:
    write(env["claude_managed"].parent / "managed-settings.d" / "50.json", '{"permissions": {"deny": ["Bash(rm"]}}')
    with pytest.raises(PermissionsError, match="50.json: permissions.deny.0.: rule 'Bash.rm'"):
        build(env, "auto")


def test_explicit_settings_file_must_exist(env: dict[str, Path]) -> None:
    with pytest.raises(PermissionsError, match="settings file not found"):
        build(env, str(env["ws"] / "nope.json"))


def test_collect_rules_without_claude(env: dict[str, Path]) -> None:
    policy = load_policy(cwd=env["ws"], home=env["home"], managed=env["managed"])
    assert collect_rules(policy, cwd=str(env["ws"]), home=str(env["home"])) == []
