"""Bash specs against one simple command's text (reference §1 "Bash specs")."""

from __future__ import annotations

import pytest

from ringfence.permissions.bashspec import compile_bash

CASES = [
    # No unescaped `*`: exact match.
    ("npm test", "npm test", True),
    ("npm test", "npm test --watch", False),
    ("npm test", "npm tes", False),
    ("git status", "git  status", False),
    # `X:*` (recognised only at the end): matches `X` or `X …`.
    ("npm run test:*", "npm run test", True),
    ("npm run test:*", "npm run test -- -k foo", True),
    ("npm run test:*", "npm run testing", False),
    ("npm run test:*", "npm run", False),
    ("git:*", "git", True),
    ("git:*", "gitk", False),
    ("echo a:* b", "echo a:x b", True),  # ":*" not at the end is a glob star after a colon
    ("echo a:* b", "echo a b", False),
    ("git * push:*", "git origin push", True),  # ringfence: a star inside X is a glob too
    ("git * push:*", "git origin push --force", True),
    # `*` matches any characters, spaces included; the whole command must match.
    ("git * main", "git push origin main", True),
    ("git * main", "git push origin main --force", False),
    ("* --version", "node --version", True),
    ("* --version", "npx tsc --version", True),
    ("* --version", "node --version x", False),
    ("rm -rf *", "rm -rf /", True),
    # `\*` is a literal star.
    (r"echo \*", "echo *", True),
    (r"echo \*", "echo x", False),
    (r"echo \* *", "echo * x y", True),
    # A pattern ending in " *" with a single `*` has an optional tail.
    ("ls *", "ls", True),
    ("ls *", "ls -la", True),
    ("ls *", "lsof", False),
    ("ls*", "lsof", True),
    ("ls*", "ls", True),
    ("git push *", "git push", True),
    ("git push *", "git push origin main", True),
    ("git push *", "git pushx", False),
    # more than one star: the trailing " *" is not optional
    ("git * push *", "git origin push", False),
    ("git * push *", "git origin push x", True),
    # newlines inside a quoted argument are characters like any other
    ("git commit -m *", "git commit -m line one\nline two", True),
]


@pytest.mark.parametrize(("spec", "text", "matches"), CASES)
def test_spec(spec: str, text: str, matches: bool) -> None:
    _word, test = compile_bash(spec)
    assert test(text) is matches


@pytest.mark.parametrize(
    ("spec", "word"),
    [("npm test", "npm"), ("npm run test:*", "npm"), ("ls *", "ls"), ("git", "git"), ("git:*", "git"),
     ("ls*", None), ("* --version", None), (r"a\*b c", "a*b")],
)
def test_first_word_buckets(spec: str, word: str | None) -> None:
    assert compile_bash(spec)[0] == word


@pytest.mark.parametrize(("spec", "text", "matches"), CASES)
def test_bucket_never_hides_a_match(spec: str, text: str, matches: bool) -> None:
    word, test = compile_bash(spec)
    if matches and word is not None:
        assert text.split(" ", 1)[0] == word
