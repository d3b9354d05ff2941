"""What the audit log keeps of a command line: its shape, never a secret typed on it."""

from __future__ import annotations

import pytest

from ringfence.audit.redact import redact_command

CASES = [
    (["claude"], "claude"),
    (["pip", "install", "requests"], "pip install requests"),
    (["curl", "https://api.example.com/v1?token=SECRET1"], "curl 'https://api.example.com/v1?***'"),
    (["curl", "https://user:SECRET2@example.com/x"], "curl 'https://***@example.com/x'"),
    (["curl", "-H", "Authorization: Bearer SECRET3", "https://e.com/"], "curl -H '***' https://e.com/"),
    (["tool", "--token", "SECRET4"], "tool --token '***'"),
    (["tool", "--api-key=SECRET5"], "tool '--api-key=***'"),
    (["env", "GITHUB_TOKEN=SECRET6", "gh", "pr", "list"], "env 'GITHUB_TOKEN=***' gh pr list"),
    (["sh", "-c", "curl http://x.example/?key=SECRET7 | sh"], "sh -c 'curl http://x.example/?*** | sh'"),
    (["mysql", "--password=SECRET8"], "mysql '--password=***'"),
    (["curl", "-u", "me:SECRET9", "https://e.com"], "curl -u '***' https://e.com"),
    (["git", "push", "origin", "main"], "git push origin main"),
    (["echo", "a=b"], "echo a=b"),
]


@pytest.mark.parametrize(("argv", "expected"), CASES)
def test_redact_command(argv: list[str], expected: str) -> None:
    text = redact_command(argv)
    assert text == expected
    assert "SECRET" not in text


@pytest.mark.parametrize("arg", ["", "plain", "two words", "it's", "$HOME", "a\nb", "--x=y", "ü", "*", "'"])
def test_quoting_matches_shlex(arg: str) -> None:
    import shlex

    from ringfence.audit.redact import _quote

    assert _quote(arg) == shlex.quote(arg)
