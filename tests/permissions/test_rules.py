"""Parsing rules exactly as Claude Code does (reference §1 "Parsing a rule", "Evaluation")."""

from __future__ import annotations

import pytest

from ringfence.errors import ExitCode
from ringfence.permissions import RuleError, Source, parse_rule
from ringfence.permissions.rules import BASH, DOMAIN, NEVER, OPAQUE, PARAM, PATH, WHOLE


@pytest.mark.parametrize(
    ("text", "kind", "tool", "spec", "form"),
    [
        # `Tool` or `Tool(spec)`
        ("Bash", "allow", "Bash", "", WHOLE),
        ("Bash(npm run test:*)", "allow", "Bash", "npm run test:*", BASH),
        ("Bash(git push *)", "deny", "Bash", "git push *", BASH),
        # a spec of "" or "*" means the whole tool
        ("Bash()", "allow", "Bash", "", WHOLE),
        ("Bash(*)", "deny", "Bash", "", WHOLE),
        # first unescaped "(" and last unescaped ")": parentheses inside the spec are kept
        ("Bash(echo (a) b)", "allow", "Bash", "echo (a) b", BASH),
        ("Bash(python -c print(1))", "allow", "Bash", "python -c print(1)", BASH),
        # unescape \( and \) then \\
        (r"Bash(echo \(x\))", "allow", "Bash", "echo (x)", BASH),
        (r"Bash(echo a\\b)", "allow", "Bash", r"echo a\b", BASH),
        (r"Bash(echo \\\(x)", "allow", "Bash", "echo \\(x", BASH),
        # path, domain and mcp forms
        ("Read(./.env)", "deny", "Read", "./.env", PATH),
        ("Edit(src/**)", "allow", "Edit", "src/**", PATH),
        ("Read(//etc/**)", "deny", "Read", "//etc/**", PATH),
        ("Read(~/.ssh/**)", "deny", "Read", "~/.ssh/**", PATH),
        ("WebFetch(domain:*.example.com)", "allow", "WebFetch", "domain:*.example.com", DOMAIN),
        ("WebFetch(domain:*)", "deny", "WebFetch", "domain:*", DOMAIN),
        ("mcp__github__create_issue", "allow", "mcp__github__create_issue", "", WHOLE),
        ("mcp__github", "allow", "mcp__github", "", WHOLE),
        # tool-name globs: in deny and ask; in allow only after a literal mcp__<server>__
        ("mcp__*", "deny", "mcp__*", "", WHOLE),
        ("*", "ask", "*", "", WHOLE),
        ("mcp__github__*", "allow", "mcp__github__*", "", WHOLE),
        ("mcp__github__get_*", "allow", "mcp__github__get_*", "", WHOLE),
        # Tool(param:value) in deny and ask
        ("Agent(model:opus)", "deny", "Agent", "model:opus", PARAM),
        ("Bash(dangerouslyDisableSandbox:true)", "ask", "Bash", "dangerouslyDisableSandbox:true", PARAM),
        ("Bash(run_in_background:true)", "deny", "Bash", "run_in_background:true", PARAM),
        ("Read(offset:0)", "ask", "Read", "offset:0", PARAM),
        # a Bash command prefix is not a parameter rule, nor is a path with a colon
        ("Bash(npm:*)", "allow", "Bash", "npm:*", BASH),
        ("Bash(timeout:*)", "deny", "Bash", "timeout:*", BASH),
        ("Read(notes:2024.txt)", "deny", "Read", "notes:2024.txt", PATH),
        # Write() and Glob() path rules parse but are never consulted
        ("Write(src/**)", "allow", "Write", "src/**", NEVER),
        ("Glob(**/*.py)", "deny", "Glob", "**/*.py", NEVER),
        # a spec ringfence does not model on a tool it does not model
        ("Agent(Explore)", "deny", "Agent", "Explore", OPAQUE),
    ],
)
def test_parses(text: str, kind: str, tool: str, spec: str, form: str) -> None:
    rule = parse_rule(text, kind)
    assert (rule.tool, rule.spec, rule.kind, rule.form, rule.text) == (tool, spec, kind, form, text)


@pytest.mark.parametrize(
    ("text", "kind", "says"),
    [
        ("", "deny", "is empty"),
        ("Bash(npm test", "allow", 'no closing ")"'),
        ("Bash(npm test) ", "allow", 'text after the closing ")"'),
        ("Bash(npm test)x", "deny", 'text after the closing ")"'),
        ("Bash)", "deny", 'a ")" without a "("'),
        ("(npm test)", "deny", "no tool name"),
        (r"Bash(npm test\)", "allow", 'no closing ")"'),  # the only ")" is escaped
        ("Ba sh", "deny", "contains ' '"),
        ("Bash( )", "deny", "blank spec"),
        ("Bash(:*)", "deny", 'nothing before ":*"'),
        # tool-name globs
        ("mcp__*", "allow", "must follow a literal mcp__<server>__"),
        ("Bash*", "allow", "must follow a literal mcp__<server>__"),
        ("*", "allow", "must follow a literal mcp__<server>__"),
        ("mcp__gh*__x", "allow", "must follow a literal mcp__<server>__"),
        ("mcp__*(x)", "deny", "takes no spec"),
        # Tool(param:value): deny and ask only, never on command, file_path or url
        ("Agent(model:opus)", "allow", "deny and ask lists only"),
        ("Bash(dangerouslyDisableSandbox:true)", "allow", "deny and ask lists only"),
        ("Bash(command:rm)", "deny", "not accepted on command"),
        ("Read(file_path:/etc/passwd)", "deny", "not accepted on file_path"),
        ("WebFetch(url:https://x.com)", "ask", "not accepted on url"),
        ("Task(command:x)", "deny", "not accepted on command"),
        # WebFetch specs
        ("WebFetch(example.com)", "allow", "must be domain:HOST"),
        ("WebFetch(domain:ex*ample.com)", "allow", "only alone or as a leading"),
        ("WebFetch(domain:exa mple.com)", "allow", "is not a host name"),
        # path specs
        ("Read(!.env)", "deny", "negated patterns"),
        ("Read(~bob/x)", "deny", "only ~/"),
    ],
)
def test_malformed(text: str, kind: str, says: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule(text, kind)
    assert says in caught.value.problem
    assert repr(text) in str(caught.value)
    assert caught.value.exit_code == ExitCode.USAGE


def test_error_placed_in_a_file() -> None:
    with pytest.raises(RuleError) as caught:
        parse_rule("Bash(npm", "allow")
    placed = caught.value.at("/p/.claude/settings.json", "permissions.allow[3]")
    assert str(placed).startswith("/p/.claude/settings.json: permissions.allow[3]: rule 'Bash(npm'")


def test_provenance_and_description() -> None:
    rule = parse_rule("Bash(rm:*)", "deny", source=Source("/etc/ringfence/policy.toml", "ringfence-managed"), base="/etc/ringfence")
    assert rule.describe() == "Bash(rm:*) (deny rule, ringfence-managed /etc/ringfence/policy.toml)"
    assert rule.base == "/etc/ringfence"
    assert parse_rule("Bash(rm:*)", "deny").describe() == "Bash(rm:*) (deny rule)"


def test_kind_is_checked() -> None:
    with pytest.raises(ValueError):
        parse_rule("Bash", "permit")
