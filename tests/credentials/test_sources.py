"""SecretStore: env, file and cmd sources resolved for real (files in tmp_path, real
subprocesses), the cmd: cache on an injected clock, and no secret in any message or repr."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from ringfence.credentials import CredentialError, SecretStore, sources
from ringfence.errors import ExitCode
from ringfence.policy import Credential

SECRET = "sk-test-0123456789abcdefSECRET"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def credential(value: str, **kw: object) -> Credential:
    fields: dict[str, object] = {"name": "svc", "hosts": ("api.example.com",), "header": "X-Key", "value": value}
    fields.update(kw)
    return Credential(**fields)  # type: ignore[arg-type]


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def counting_script(tmp_path: Path) -> tuple[Path, Path]:
    """A command that prints a new token on each call and counts its calls."""
    count = tmp_path / "calls"
    count.write_text("0")
    command = script(
        tmp_path / "token.sh",
        f'n=$(($(cat "{count}") + 1)); echo "$n" > "{count}"\n'
        f'if [ -e "{tmp_path}/fail" ]; then echo "{SECRET}-leaked-on-stderr" >&2; exit 1; fi\n'
        f'printf "{SECRET}-%s\\nsecond line\\n" "$n"\n',
    )
    return command, count


def assert_secret_free(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text, text


# ---- env: ----------------------------------------------------------------------------------

def test_env_value_and_header() -> None:
    store = SecretStore.resolve([credential("env:KEY", format="Bearer {secret}")], {"KEY": SECRET})
    assert store.value("svc") == SECRET
    assert store.header_value("svc") == f"Bearer {SECRET}"
    assert store.all_values("svc") == [SECRET]
    assert store.names() == ("svc",)
    assert_secret_free(repr(store), str(store))


def test_env_is_read_once() -> None:
    env = {"KEY": SECRET}
    store = SecretStore.resolve([credential("env:KEY")], env)
    env["KEY"] = "changed-later-0000"
    assert store.value("svc") == SECRET


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({}, "credential 'svc': environment variable KEY is not set"),
        ({"KEY": "  "}, "credential 'svc': environment variable KEY is empty"),
        ({"KEY": SECRET + "\r\nX-Evil: 1"}, "contains a line break"),
        ({"KEY": SECRET + "\u00e9"}, "non-ASCII"),
    ],
)
def test_env_errors(env: dict[str, str], says: str) -> None:
    with pytest.raises(CredentialError) as info:
        SecretStore.resolve([credential("env:KEY", source="/etc/p.toml")], env)
    assert says in str(info.value)
    assert "fix:" in str(info.value)
    assert info.value.exit_code == ExitCode.SETUP
    assert_secret_free(str(info.value), repr(info.value))


# ---- file: ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("content", "lines", "expected"),
    [
        (f"  {SECRET}  \nother\n", "first", SECRET),
        (f"{SECRET}\n", "all", SECRET),
        (f"{SECRET}\r\n\n", "all", SECRET),
        (f" {SECRET} ", "all", f" {SECRET} "),
        (SECRET, "first", SECRET),
    ],
)
def test_file_values(tmp_path: Path, content: str, lines: str, expected: str) -> None:
    path = tmp_path / "token"
    path.write_text(content)
    store = SecretStore.resolve([credential(f"file:{path}", file_lines=lines)], {})
    assert store.value("svc") == expected


@pytest.mark.parametrize(
    ("content", "lines", "says"),
    [
        ("\nsecond\n", "first", "has an empty first line"),
        ("", "all", "is empty"),
        (f"{SECRET}\nline two\n", "all", "contains a line break"),
        (b"\xff\xfe".decode("latin-1"), "first", "not UTF-8 text"),
    ],
)
def test_file_errors(tmp_path: Path, content: str, lines: str, says: str) -> None:
    path = tmp_path / "token"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(CredentialError) as info:
        SecretStore.resolve([credential(f"file:{path}", file_lines=lines)], {})
    assert says in str(info.value)
    assert_secret_free(str(info.value))


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    for path in (tmp_path / "nope", tmp_path):
        with pytest.raises(CredentialError, match=rf"credential 'svc': file {path} not readable \("):
            SecretStore.resolve([credential(f"file:{path}")], {})


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_text("x" * (sources.OUTPUT_LIMIT + 1))
    with pytest.raises(CredentialError, match="longer than 64 KiB"):
        SecretStore.resolve([credential(f"file:{path}")], {})


# ---- cmd: ----------------------------------------------------------------------------------

def test_cmd_is_cached_for_its_ttl(tmp_path: Path) -> None:
    command, calls = counting_script(tmp_path)
    clock = Clock()
    store = SecretStore.resolve([credential(f"cmd:{command}", cache_ttl=300)], {"PATH": os.defpath}, clock=clock)
    assert store.value("svc") == f"{SECRET}-1"  # the first line only
    assert calls.read_text().strip() == "1"
    clock.now += 299
    assert not store.due("svc")
    assert store.value("svc") == f"{SECRET}-1"
    assert calls.read_text().strip() == "1"
    clock.now += 1
    assert store.due("svc")
    assert store.header_value("svc") == f"{SECRET}-2"
    assert calls.read_text().strip() == "2"
    assert store.all_values("svc") == [f"{SECRET}-1", f"{SECRET}-2"]
    assert store.take_warnings() == []


def test_cmd_runs_in_the_policy_folder_with_the_given_environment(tmp_path: Path) -> None:
    script(tmp_path / "token.sh", 'printf "%s-from-env\\n" "$TOKEN_SEED"\n')
    cred = credential("cmd:./token.sh", source=str(tmp_path / "ringfence.toml"))
    store = SecretStore.resolve([cred], {"TOKEN_SEED": SECRET, "PATH": os.defpath})
    assert store.value("svc") == f"{SECRET}-from-env"


def test_a_failed_refresh_keeps_the_last_value_for_at_most_twice_the_ttl(tmp_path: Path) -> None:
    command, calls = counting_script(tmp_path)
    clock = Clock()
    store = SecretStore.resolve([credential(f"cmd:{command}", cache_ttl=100)], {}, clock=clock)
    (tmp_path / "fail").touch()
    clock.now += 100
    assert store.value("svc") == f"{SECRET}-1"  # refresh failed: last value kept
    (warning,) = store.take_warnings()
    assert "credential 'svc': command" in warning and "failed with exit status 1" in warning
    assert "still using the value obtained 100 s ago" in warning
    assert_secret_free(warning)
    clock.now += 10  # within the retry delay (min(ttl / 4, 30) = 25 s): not run again
    assert store.value("svc") == f"{SECRET}-1"
    assert calls.read_text().strip() == "2"
    clock.now += 90  # 200 s after the last success: that value is too old now
    with pytest.raises(CredentialError) as info:
        store.value("svc")
    assert "older than twice cache_ttl (200 s)" in str(info.value)
    assert_secret_free(str(info.value), repr(store), *store.take_warnings())
    assert calls.read_text().strip() == "3"
    (tmp_path / "fail").unlink()
    with pytest.raises(CredentialError):
        store.value("svc")  # no new attempt within the retry delay after a failure
    clock.now += 25
    assert store.value("svc") == f"{SECRET}-4"  # recovers when the command works again
    assert store.all_values("svc") == [f"{SECRET}-1", f"{SECRET}-4"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (f'echo "{SECRET}"; echo "{SECRET}" >&2; exit 1\n', "failed with exit status 1"),
        ("exit 0\n", "produced no output"),
        ("printf '\\n\\n'\n", "produced no output"),
        ("printf '\\nlate\\n'\n", "printed an empty first line"),
        ("kill -9 $$\n", "failed with signal 9"),
        ("printf '%070000d' 0\n", "printed more than 64 KiB"),
    ],
)
def test_cmd_errors(tmp_path: Path, body: str, says: str) -> None:
    command = script(tmp_path / "token.sh", body)
    with pytest.raises(CredentialError) as info:
        SecretStore.resolve([credential(f"cmd:{command} --flag", source="/etc/p.toml")], {})
    message = str(info.value)
    assert f"credential 'svc': command '{command} --flag'" in message
    assert says in message
    assert f"run `{command} --flag` yourself" in message
    assert_secret_free(message, repr(info.value))


def test_cmd_not_found() -> None:
    with pytest.raises(CredentialError, match="no-such-tool-here not found"):
        SecretStore.resolve([credential("cmd:no-such-tool-here token")], {"PATH": os.defpath})


def test_cmd_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources, "COMMAND_TIMEOUT", 0.5)
    command = script(tmp_path / "slow.sh", "sleep 30\n")
    started = time.monotonic()
    with pytest.raises(CredentialError, match=r"did not finish within 0.5 s"):
        SecretStore.resolve([credential(f"cmd:{command}")], {})
    assert time.monotonic() - started < 5


def test_cmd_that_leaves_a_daemon_holding_its_output(tmp_path: Path) -> None:
    """An agent started by the command keeps the pipe open; the secret is still read at once."""
    command = script(tmp_path / "daemon.sh", f'echo "{SECRET}"\nsleep 20 &\nexit 0\n')
    started = time.monotonic()
    store = SecretStore.resolve([credential(f"cmd:{command}")], {"PATH": os.defpath})
    assert store.value("svc") == SECRET
    assert time.monotonic() - started < 5


def test_cmd_gets_no_stdin(tmp_path: Path) -> None:
    command = script(tmp_path / "stdin.sh", f'read -r line || echo "{SECRET}-eof"\n')
    store = SecretStore.resolve([credential(f"cmd:{command}")], {})
    assert store.value("svc") == f"{SECRET}-eof"


def test_resolve_stops_at_the_first_failure_and_names_it(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match="credential 'second'"):
        SecretStore.resolve(
            [credential("env:A", name="first"), credential("env:B", name="second")], {"A": SECRET})


def test_unknown_credential_name() -> None:
    store = SecretStore.resolve([], {})
    with pytest.raises(KeyError, match="no credential named 'x'"):
        store.value("x")


def test_refresh_ahead_renews_a_command_value_before_its_ttl_and_never_raises(tmp_path: Path) -> None:
    counter = tmp_path / "count"
    script = tmp_path / "token.sh"
    script.write_text(f'#!/bin/sh\nn=$(cat {counter} 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > {counter}\n'
                      'echo "tok-aaaaaaaa-$n"\n')
    script.chmod(0o755)
    now = [0.0]
    credential = Credential(name="c", hosts=("example.org",), header="authorization", value=f"cmd:{script}",
                            cache_ttl=100.0)
    store = SecretStore.resolve([credential], {"PATH": "/usr/bin:/bin"}, clock=lambda: now[0])
    assert store.current_header_value("c") == "tok-aaaaaaaa-1"
    now[0] = 50.0
    store.refresh_ahead("c", lead=25.0)  # not yet within 25 s of the TTL
    assert counter.read_text().strip() == "1"
    now[0] = 80.0
    store.refresh_ahead("c", lead=25.0)
    assert store.current_header_value("c") == "tok-aaaaaaaa-2"
    assert store.all_values("c") == ["tok-aaaaaaaa-1", "tok-aaaaaaaa-2"]
    script.write_text("#!/bin/sh\nexit 1\n")
    now[0] = 170.0
    store.refresh_ahead("c", lead=25.0)  # fails quietly, keeps the last value, warns
    assert store.current_header_value("c") == "tok-aaaaaaaa-2"
    assert any("will retry" in w for w in store.take_warnings())
