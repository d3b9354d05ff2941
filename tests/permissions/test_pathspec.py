"""Read/Edit path specs: gitignore syntax with Claude Code's anchors (reference §1)."""

from __future__ import annotations

import pytest

from ringfence.permissions.pathspec import compile_path, normalize

CWD = "/w/proj"
HOME = "/h/me"
BASE = "/b/settings"  # the folder a `/p` anchor is relative to (the settings source's)

CASES = [
    # `//abs`: filesystem root.
    ("//etc/passwd", "deny", "/etc/passwd", True),
    ("//etc/**", "deny", "/etc/ssh/sshd_config", True),
    ("//etc/**", "deny", "/etc", False),  # `a/**` is everything inside a, not a itself
    ("//etc", "deny", "/etc/passwd", True),  # a folder's contents go with it (gitignore)
    ("//etc/passwd", "deny", "/w/proj/etc/passwd", False),
    ("//", "deny", "/anything/at/all", True),
    # `~/p`: home directory.
    ("~/.ssh/**", "deny", "/h/me/.ssh/id_rsa", True),
    ("~/.ssh/**", "deny", "/root/.ssh/id_rsa", False),
    ("~/.aws", "deny", "/h/me/.aws/credentials", True),
    ("~", "deny", "/h/me/notes.txt", True),
    # `/p`: relative to the settings source.
    ("/secrets/**", "deny", "/b/settings/secrets/key", True),
    ("/secrets/**", "deny", "/secrets/key", False),
    ("/secrets/**", "deny", "/w/proj/secrets/key", False),
    # `p` or `./p`: relative to cwd.
    ("src/app.py", "allow", "/w/proj/src/app.py", True),
    ("./src/app.py", "allow", "/w/proj/src/app.py", True),
    ("src/app.py", "allow", "/w/other/src/app.py", False),
    # `*` matches one path segment; `**` crosses segments.
    ("src/*.py", "allow", "/w/proj/src/a.py", True),
    ("src/*.py", "allow", "/w/proj/src/pkg/a.py", False),
    ("src/**/*.py", "allow", "/w/proj/src/pkg/deep/a.py", True),
    ("src/**/*.py", "allow", "/w/proj/src/a.py", True),  # `/**/` is zero or more folders
    ("**/*.py", "allow", "/w/proj/a/b/c.py", True),
    ("src/?.py", "allow", "/w/proj/src/a.py", True),
    ("src/?.py", "allow", "/w/proj/src/ab.py", False),
    ("src/[ab].py", "allow", "/w/proj/src/b.py", True),
    ("src/[!ab].py", "allow", "/w/proj/src/b.py", False),
    ("src/[!ab].py", "allow", "/w/proj/src/c.py", True),
    ("src/a**b", "allow", "/w/proj/src/a/b", False),  # ** inside a segment is a plain *
    (r"src/\*.py", "allow", "/w/proj/src/*.py", True),
    (r"src/\*.py", "allow", "/w/proj/src/a.py", False),
    # Bare names like `.env` match at any depth.
    (".env", "deny", "/w/proj/.env", True),
    (".env", "deny", "/w/proj/config/deep/.env", True),
    (".env", "deny", "/elsewhere/.env", True),  # ringfence: a deny matches anywhere
    (".env", "deny", "/w/proj/.env.example", False),
    (".env", "allow", "/w/proj/a/.env", True),
    (".env", "allow", "/elsewhere/.env", False),  # an allow stays below cwd
    ("./.env", "allow", "/w/proj/a/.env", False),  # ringfence: ./ anchors an allow to cwd
    ("./.env", "deny", "/w/proj/a/.env", True),  # ...and a deny keeps the wider reading
    ("*.pem", "deny", "/h/me/keys/server.pem", True),
    # `src/**` means only <cwd>/src in an allow rule, but any depth in a deny or ask rule.
    ("src/**", "allow", "/w/proj/src/a.py", True),
    ("src/**", "allow", "/w/proj/lib/src/a.py", False),
    ("src/**", "deny", "/w/proj/lib/src/a.py", True),
    ("src/**", "ask", "/w/proj/lib/src/a.py", True),
    ("secrets/", "deny", "/w/proj/x/secrets/key", True),  # a trailing "/" is dropped
    # `..` and `.`: anchored to cwd
    ("../shared/**", "deny", "/w/shared/x", True),
    ("../shared/**", "deny", "/w/proj/shared/x", False),
    (".", "deny", "/w/proj/anything", True),
    (".", "deny", "/w/other", False),
]


@pytest.mark.parametrize(("spec", "kind", "path", "matches"), CASES)
def test_path_spec(spec: str, kind: str, path: str, matches: bool) -> None:
    test = compile_path(spec, kind, base=BASE, cwd=CWD, home=HOME)
    assert test(path) is matches


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("a/../b", "/w/proj/b"), ("/x//y/", "/x/y"), ("~/x", "/h/me/x"), ("$HOME/x", "/h/me/x"), ("${HOME}", "/h/me"),
     ("//etc", "/etc"), ("../../..", "/")],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw, cwd=CWD, home=HOME) == expected


def test_anchor_folders_are_also_tried_resolved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    real = tmp_path / "real"
    (real / "src").mkdir(parents=True)
    link = tmp_path / "link"
    link.symlink_to(real)
    test = compile_path("src/**", "allow", base="", cwd=str(link), home=HOME)
    assert test(str(link / "src" / "a.py"))
    assert test(str(real / "src" / "a.py"))
