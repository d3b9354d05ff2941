"""``.ringfenceignore`` patterns: gitignore(5) semantics, table-driven."""

from __future__ import annotations

import pytest

from ringfence.workspace import ignore


def excluded(text: str, path: str, is_dir: bool = False, base: str = "") -> bool:
    return ignore.excluded(ignore.parse(text, base), path, is_dir)


@pytest.mark.parametrize(("patterns", "path", "is_dir", "expected"), [
    ("*.log", "x.log", False, True),
    ("*.log", "a/b/x.log", False, True),  # no slash: any depth
    ("*.log", "x.logs", False, False),
    ("/build", "build", True, True),  # leading slash: anchored
    ("/build", "a/build", True, False),
    ("build/", "x/build", True, True),  # trailing slash: folders only
    ("build/", "build", False, False),
    ("doc/*.txt", "doc/a.txt", False, True),  # a middle slash anchors too
    ("doc/*.txt", "doc/a/b.txt", False, False),  # * stays within a segment
    ("doc/*.txt", "x/doc/a.txt", False, False),
    ("a/**/b", "a/b", False, True),
    ("a/**/b", "a/x/y/b", False, True),
    ("**/foo", "foo", False, True),
    ("**/foo", "x/y/foo", False, True),
    ("a/**", "a", True, False),  # everything inside a, not a itself
    ("a/**", "a/x/y", False, True),
    ("x?", "xy", False, True),
    ("x?", "x/", False, False),
    ("[ab].txt", "b.txt", False, True),
    ("[!ab].txt", "b.txt", False, False),
    ("[!ab].txt", "c.txt", False, True),
    ("[ab", "[ab", False, True),  # an unclosed class is literal
    ("\\#keep", "#keep", False, True),
    ("#comment", "#comment", False, False),
    ("\\!bang", "!bang", False, True),
    ("trailing\\ ", "trailing ", False, True),
    ("spaces   ", "spaces", False, True),
    ("", "anything", False, False),
])
def test_a_pattern(patterns: str, path: str, is_dir: bool, expected: bool) -> None:
    assert excluded(patterns, path, is_dir) is expected


@pytest.mark.parametrize(("patterns", "path", "expected"), [
    ("*.json\n!keep.json", "keep.json", False),  # the last match wins
    ("*.json\n!keep.json", "a/other.json", True),
    ("!keep.json\n*.json", "keep.json", True),
    ("fixtures/\n!fixtures/a.txt", "fixtures/a.txt", False),  # decided per path; the walker skips the folder
])
def test_negation(patterns: str, path: str, expected: bool) -> None:
    assert excluded(patterns, path) is expected


def test_a_nested_ignore_file_applies_below_its_folder() -> None:
    assert excluded("*.txt", "sub/a.txt", base="sub")
    assert not excluded("*.txt", "a.txt", base="sub")
    assert excluded("/a.txt", "sub/a.txt", base="sub")
    assert not excluded("/a.txt", "sub/deeper/a.txt", base="sub")
