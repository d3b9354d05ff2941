"""The texts rules see for each simple command, and the files it reads and writes."""

from __future__ import annotations

import pytest

from ringfence.analysis.bash import parse
from ringfence.permissions.compound import BashRules, allow_text, deny_texts, read_files, written_files
from ringfence.permissions.rules import parse_rule


def only(command: str):  # type: ignore[no-untyped-def]
    parsed = parse(command)
    assert len(parsed.commands) == 1, parsed.commands
    return parsed.commands[0]


@pytest.mark.parametrize(
    ("command", "texts", "allowed"),
    [
        ("ls -la", ["ls -la"], "ls -la"),
        ("/bin/rm -rf x", ["/bin/rm -rf x", "rm -rf x"], "/bin/rm -rf x"),
        ("sudo -u bob rm x", ["rm x", "sudo -u bob rm x"], "sudo -u bob rm x"),
        ("FOO=1 rm x", ["rm x", "FOO=1 rm x"], "FOO=1 rm x"),
        ("LANG=C rm x", ["rm x", "LANG=C rm x"], "rm x"),
        ("timeout 5 nice rm x", ["rm x", "timeout 5 nice rm x"], "rm x"),
        ("LANG=C sudo rm x", ["rm x", "sudo rm x", "LANG=C sudo rm x"], "LANG=C sudo rm x"),
    ],
)
def test_texts(command: str, texts: list[str], allowed: str) -> None:
    part = only(command)
    assert deny_texts(part) == texts
    assert allow_text(part) == allowed


@pytest.mark.parametrize(
    ("command", "reads", "writes"),
    [
        ("cat a b > out 2>&1", ["a", "b"], ["out"]),
        ("sort < in >> out", ["in"], ["out"]),
        ("grep -e x -f pats f", ["f", "pats"], []),
        ("sed -n p f", ["f"], []),
        ("tee -a log other", [], ["log", "other"]),
        ("cat <<EOF\nhi\nEOF", [], []),
        ("cat <<< word", [], []),
        ("cmd >&2", [], []),
        ("cmd >&file", [], ["file"]),
        ("python x.py", [], []),
    ],
)
def test_files(command: str, reads: list[str], writes: list[str]) -> None:
    part = parse(command).commands[0]
    assert read_files(part) == reads
    assert written_files(part) == writes


def test_buckets_keep_rule_order_per_word() -> None:
    rules = BashRules(parse_rule(t, "deny") for t in ("Bash(git push:*)", "Bash(* --force)", "Bash(git:*)"))
    assert rules.match("git push origin").text == "Bash(git push:*)"  # type: ignore[union-attr]
    assert rules.match("npm publish --force").text == "Bash(* --force)"  # type: ignore[union-attr]
    assert rules.match("npm test") is None
    assert rules.match_any(["npm test", "git status"]) == (rules.match("git status"), "git status")
