"""The built-in read-only set, protected paths, critical rm targets (reference §1)."""

from __future__ import annotations

import pytest

from ringfence.permissions import builtin

HOME = "/h/me"


@pytest.mark.parametrize(
    ("command", "reads"),
    [
        ("ls", []),
        ("ls -la src", ["src"]),
        ("cat a b", ["a", "b"]),
        ("echo hello /etc/passwd", []),
        ("head -n 5 f", ["f"]),
        ("tail -f log", ["log"]),
        ("grep -rn /api/ src", ["src"]),
        ("grep -e x -f pats src", ["src", "pats"]),
        ("find . -name *.py", ["."]),
        ("find", ["."]),
        ("find /etc -name x", ["/etc"]),
        ("wc -l a", ["a"]),
        ("diff a b", ["a", "b"]),
        ("stat -c %s f", ["f"]),
        ("cd sub", ["sub"]),
        ("cd", [HOME]),
        ("cut -d / -f 2 f", ["f"]),
        ("git status", []),
        ("git log --oneline -5", []),
        ("git diff HEAD~1", []),
        ("git branch", []),
        ("git branch -a", []),
        ("git --no-pager log", []),
        ("git stash list", []),
        ("git remote -v", []),
        ("git config --get user.name", []),
        ("git tag -l v1*", []),
        ("cat -- -weird", ["-weird"]),
    ],
)
def test_read_only(command: str, reads: list[str]) -> None:
    assert builtin.read_only_reads(command.split(), HOME) == reads


@pytest.mark.parametrize(
    "command",
    [
        "find . -exec rm {} ;",
        "find . -execdir sh -c x ;",
        "find . -delete",
        "find . -ok rm {} ;",
        "find . -fprint out",
        "sort -o out in",
        "uniq in out",
        "date -s 12:00",
        "rg --pre cat x",
        "cd -",
        "git push",
        "git commit -m x",
        "git checkout main",
        "git -C /other log",
        "git -c core.pager=sh log",
        "git diff --output=f",
        "git diff --no-index /etc/passwd x",
        "git branch new-branch",
        "git branch -D main",
        "git tag v2",
        "git remote add evil https://x",
        "git stash",
        "git config user.name x",
        "git",
        "rm x",
        "./cat x",  # argv[0] must be the bare name: ./cat is whatever the agent put there
        "/tmp/ls",
        "python -c 1",
    ],
)
def test_not_read_only(command: str) -> None:
    assert builtin.read_only_reads(command.split(), HOME) is None


@pytest.mark.parametrize(
    ("path", "is_protected"),
    [
        ("/w/.git/config", True),
        ("/w/.git/hooks/pre-commit", True),
        ("/w/.claude/settings.json", True),
        ("/h/me/.bashrc", True),
        ("/h/me/.zshrc", True),
        ("/w/.mcp.json", True),
        ("/w/ringfence.toml", True),
        ("/h/me/.ssh/authorized_keys", True),
        ("/w/src/app.py", False),
        ("/w/.gitignore", False),
        ("/w/docs/bashrc.md", False),
    ],
)
def test_protected(path: str, is_protected: bool) -> None:
    assert builtin.protected(path) is is_protected


@pytest.mark.parametrize(
    ("command", "critical"),
    [
        ("rm -rf /", "/"),
        ("rm -rf /usr", "/usr"),
        ("rm -rf /*", "/*"),
        ("rm -rf ~", "~"),
        ("rm -rf /h/me", "/h/me"),
        ("rm -rf .", "."),
        ("rm -rf ..", ".."),
        ("rm -rf /w", "/w"),
        ("rm -rf ./*", "./*"),
        ("rm -rf $HOME", "$HOME"),
        ("rm -rf $(pwd)", "$(pwd)"),
        ("/bin/rm -rf /", "/"),
        ("rmdir /w/proj", "/w/proj"),
        ("rm -rf build", None),
        ("rm *.pyc", None),
        ("rm -rf /w/proj/build", None),
        ("rm -rf /tmp/x", None),
        ("ls /", None),
    ],
)
def test_critical_rm(command: str, critical: str | None) -> None:
    assert builtin.critical_rm_target(command.split(), cwd="/w/proj", home=HOME) == critical


@pytest.mark.parametrize(
    ("name", "harmless"),
    [("x", True), ("count", True), ("LANG", True), ("LC_ALL", True), ("NODE_ENV", True),
     ("PATH", False), ("LD_PRELOAD", False), ("BASH_ENV", False), ("http_proxy", False), ("IFS", False)],
)
def test_bare_assignment(name: str, harmless: bool) -> None:
    assert builtin.harmless_assignment(name) is harmless
