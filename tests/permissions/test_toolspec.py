"""Tool names, WebFetch(domain:...) and Tool(param:value) (reference §1 "Other tools")."""

from __future__ import annotations

import pytest

from ringfence.permissions.toolspec import compile_domain, compile_param, compile_tool, url_host


@pytest.mark.parametrize(
    ("tool", "name", "matches"),
    [
        ("Bash", "Bash", True),
        ("Bash", "bash", False),
        # Edit covers every write tool; Read the read-only file tools
        ("Edit", "Write", True),
        ("Edit", "MultiEdit", True),
        ("Edit", "NotebookEdit", True),
        ("Edit", "Read", False),
        ("Read", "Grep", True),
        ("Read", "Glob", True),
        ("Read", "Edit", False),
        ("Write", "Edit", False),
        # mcp__srv and mcp__srv__* cover the whole server; mcp__srv__tool is one tool
        ("mcp__gh", "mcp__gh__create_issue", True),
        ("mcp__gh", "mcp__gh", True),
        ("mcp__gh", "mcp__ghx__create_issue", False),
        ("mcp__gh__*", "mcp__gh__create_issue", True),
        ("mcp__gh__*", "mcp__ghx__create_issue", False),
        ("mcp__gh__create_issue", "mcp__gh__create_issue", True),
        ("mcp__gh__create_issue", "mcp__gh__delete_repo", False),
        ("mcp__*", "mcp__anything__at_all", True),
        ("mcp__*", "Bash", False),
        ("*", "Bash", True),
        ("Web*", "WebFetch", True),
    ],
)
def test_tool(tool: str, name: str, matches: bool) -> None:
    assert compile_tool(tool)(name) is matches


@pytest.mark.parametrize(
    ("spec", "kind", "url", "matches"),
    [
        ("domain:example.com", "allow", "https://example.com/x", True),
        ("domain:example.com", "allow", "https://EXAMPLE.com./x", True),  # case-insensitive
        ("domain:Example.COM", "allow", "https://example.com/x", True),
        ("domain:example.com", "allow", "https://docs.example.com/x", False),
        ("domain:*.example.com", "allow", "https://docs.example.com/x", True),
        ("domain:*.example.com", "allow", "https://a.b.example.com/x", True),
        ("domain:*.example.com", "allow", "https://example.com/x", False),  # not the apex
        ("domain:*.example.com", "allow", "https://evilexample.com/x", False),
        ("domain:*.example.com", "allow", "https://example.com.evil.org/x", False),
        ("domain:example.com", "allow", "https://user@example.com:8443/x", True),
        ("domain:example.com", "allow", "https://example.com@evil.org/x", False),
        ("domain:*", "allow", "https://anything.org", True),
        ("domain:*", "allow", "not a url", False),
        ("domain:*", "deny", "not a url", True),
        ("domain:bücher.de", "allow", "https://xn--bcher-kva.de/", True),
    ],
)
def test_domain(spec: str, kind: str, url: str, matches: bool) -> None:
    assert compile_domain(spec, kind)(url_host(url)) is matches


@pytest.mark.parametrize(
    ("spec", "tool_input", "matches"),
    [
        ("model:opus", {"model": "opus"}, True),
        ("model:opus", {"model": "sonnet"}, False),
        ("model:opus", {}, False),
        ("model:opus*", {"model": "opus-4"}, True),
        ("dangerouslyDisableSandbox:true", {"dangerouslyDisableSandbox": True}, True),
        ("dangerouslyDisableSandbox:true", {"dangerouslyDisableSandbox": False}, False),
        ("dangerouslyDisableSandbox:true", {"dangerouslyDisableSandbox": "true"}, True),
        ("timeout:600000", {"timeout": 600000}, True),
        ("x:null", {"x": None}, True),
        ("x:null", {}, False),
        ("edits:*", {"edits": [{"a": 1}]}, False),  # top-level scalars only
        ("cfg:*", {"cfg": {"a": 1}}, False),
    ],
)
def test_param(spec: str, tool_input: dict[str, object], matches: bool) -> None:
    assert compile_param(spec)(tool_input) is matches
