"""``ringfence check`` and ``ringfence hook claude-code``: the permission engine from the
command line, and as Claude Code's PreToolUse hook.

``check`` prints a decision and its reason and exits 0 (allow), 1 (deny) or 4 (ask). The
hook reads Claude Code's PreToolUse event on stdin and answers with its JSON contract
(``shared/reference/claude-code-permissions-and-hooks.txt`` §3). It fails closed: input it
cannot read, a policy that does not load, an internal error or its own deadline all answer
``deny`` with the reason (exit 2, the reason on stderr too), never ``allow``.

A call no rule, check or finding asked about (``Decision.default``) gets no decision at all
(``{}``, exit 0), so Claude Code's own rules and permission mode decide, as with no hook.
Not ``defer``: Claude Code 2.1.330 ignores ``defer`` only in an interactive session; under
``-p`` and the Agent SDK it ends the session there and then (``stop_reason:
"tool_deferred"``), leaving the call pending for a host to resume, in every permission mode
(seen with the real CLI: tests/integrations/test_claude_code_hook.py).
"""

from __future__ import annotations

import os
import sys

from ringfence.errors import ExitCode, RingfenceError, UsageError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import argparse

    from ringfence.permissions import Decision, Engine

_EXIT = {"allow": ExitCode.OK, "deny": ExitCode.FINDINGS, "ask": ExitCode.ASK}
HOOK_DEADLINE = 20  # seconds; Claude Code's own default timeout is 600 s and a timeout fails open
MAX_EVENT = 8 * 1024 * 1024  # bytes of hook input read at most


def _engine(args: argparse.Namespace, cwd: str) -> Engine:
    from ringfence.permissions import Engine
    from ringfence.policy import home_of_invoker, load_policy

    policy_file = os.path.abspath(args.policy) if args.policy else None
    policy = load_policy(policy_file=policy_file, cwd=cwd)
    return Engine.from_policy(policy, cwd=cwd, home=home_of_invoker(), claude_settings=args.claude_settings)


def cmd_check(args: argparse.Namespace) -> int:
    import json

    cwd = os.path.abspath(args.cwd or os.getcwd())
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if args.tool:
        if command:
            raise UsageError("give either --tool with --input, or a command after --, not both")
        try:
            tool_input = json.loads(args.input or "{}")
        except ValueError as exc:
            raise UsageError(f"--input is not JSON: {exc}", hint="--input '{\"file_path\": \"/path\"}'") from None
        if not isinstance(tool_input, dict):
            raise UsageError("--input must be a JSON object", hint="--input '{\"file_path\": \"/path\"}'")
        tool = args.tool
    elif command:
        tool, tool_input = "Bash", {"command": " ".join(command) if len(command) > 1 else command[0]}
    else:
        raise UsageError("nothing to check", hint="ringfence check -- 'git push origin main'  or  "
                         "ringfence check --tool Read --input '{\"file_path\": \"/etc/passwd\"}'")
    engine = _engine(args, cwd)
    for warning in engine.warnings:  # rules that never match, or that ringfence does not model
        print(f"ringfence: warning: {warning}", file=sys.stderr)
    decision = engine.decide(tool, tool_input)
    if args.json:
        print(json.dumps(_as_json(decision)))
    else:
        print(f"{decision.behavior}: {decision.reason}")
        for finding in decision.findings:
            print(f"  {getattr(finding, 'rule', '')}: {getattr(finding, 'message', finding)}")
    return int(_EXIT.get(decision.behavior, ExitCode.FINDINGS))


def _as_json(decision: Decision) -> dict[str, object]:
    rule = decision.rule
    return {
        "decision": decision.behavior,
        "reason": decision.reason,
        "rule": rule.text if rule is not None else None,
        "part": decision.part or None,
        "findings": [{"rule": getattr(f, "rule", ""), "severity": str(getattr(f, "severity", "")),
                      "message": getattr(f, "message", "")} for f in decision.findings],
    }


def cmd_hook(args: argparse.Namespace) -> int:
    if args.hook_cmd == "install":
        return cmd_hook_install(args)
    return cmd_hook_claude_code(args)


HOOK_MARK = "ringfence hook claude-code"  # how an installed entry is recognised (and updated)


def cmd_hook_install(args: argparse.Namespace) -> int:
    """Add the PreToolUse hook to Claude Code's settings.json, keeping everything else in it.

    Idempotent: an entry that runs ``ringfence hook claude-code`` is updated in place, never
    added twice. The file is written atomically; a file that is not valid JSON is left alone.
    """
    import json
    import shlex

    from ringfence.policy import home_of_invoker

    folder = (os.path.join(home_of_invoker(), ".claude") if args.user
              else os.path.join(os.path.abspath(args.project_dir or os.getcwd()), ".claude"))
    path = os.path.join(folder, "settings.json")
    settings: dict[str, object] = {}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                loaded = json.load(fh)
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {path}: {exc}", hint="fix or move the file, then run this again") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{path} is not a JSON object", hint="fix or move the file, then run this again")
        settings = loaded
    command = f"{shlex.quote(sys.executable)} -m ringfence hook claude-code"
    entry = {"matcher": "*", "hooks": [{"type": "command", "command": command, "timeout": 30}]}
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise UsageError(f"{path}: \"hooks\" is not an object", hint="fix the file, then run this again")
    pre = hooks.setdefault("PreToolUse", [])
    if not isinstance(pre, list):
        raise UsageError(f"{path}: \"hooks.PreToolUse\" is not a list", hint="fix the file, then run this again")
    mine = [i for i, item in enumerate(pre) if HOOK_MARK in json.dumps(item)]
    if mine:
        pre[mine[0]] = entry
        for index in reversed(mine[1:]):
            del pre[index]
        what = "updated"
    else:
        pre.append(entry)
        what = "added"
    os.makedirs(folder, exist_ok=True)
    temp = f"{path}.ringfence-{os.getpid()}"
    with open(temp, "w", encoding="utf-8") as fh:
        json.dump(settings, fh, indent=2)
        fh.write("\n")
    os.replace(temp, path)
    print(f"ringfence: {what} the PreToolUse hook in {path}")
    return ExitCode.OK


def cmd_hook_claude_code(args: argparse.Namespace) -> int:
    """PreToolUse for Claude Code: always answers, and never ``allow`` by accident."""
    import signal

    def deadline(signum: int, frame: object) -> None:
        raise TimeoutError(f"ringfence did not decide within {HOOK_DEADLINE} s")

    signal.signal(signal.SIGALRM, deadline)
    signal.alarm(HOOK_DEADLINE)
    try:
        behavior, reason = _hook_decision(args)
    except BaseException as exc:  # noqa: BLE001 - fail closed, whatever went wrong
        behavior, reason = "deny", f"ringfence could not decide, so it refuses: {exc}"
    finally:
        signal.alarm(0)
    return _hook_answer(behavior, reason)


def _hook_decision(args: argparse.Namespace) -> tuple[str, str]:
    import json

    raw = sys.stdin.buffer.read(MAX_EVENT + 1)
    if len(raw) > MAX_EVENT:
        return "deny", f"the hook input is larger than {MAX_EVENT} bytes"
    try:
        event = json.loads(raw)
    except ValueError as exc:
        return "deny", f"the hook input is not JSON: {exc}"
    if not isinstance(event, dict):
        return "deny", "the hook input is not a JSON object"
    tool, tool_input, cwd = event.get("tool_name"), event.get("tool_input"), event.get("cwd")
    if not isinstance(tool, str) or not tool:
        return "deny", "the hook input has no tool_name"
    if not isinstance(tool_input, dict):
        return "deny", "the hook input has no tool_input object"
    if not isinstance(cwd, str) or not os.path.isabs(cwd):
        return "deny", "the hook input has no absolute cwd"
    name = event.get("hook_event_name", "PreToolUse")
    if name != "PreToolUse":
        return "deny", f"ringfence hook claude-code answers PreToolUse events, not {name!r}"
    try:
        decision = _engine(args, cwd).decide(tool, tool_input)
    except RingfenceError as exc:
        return "deny", f"the ringfence policy could not be loaded: {exc}"
    if decision.behavior == "ask" and decision.default:
        # No rule, check or finding asked for it: ringfence has no opinion, so Claude Code's own
        # rules and permission mode decide (no decision; see the module's docstring for why
        # not "defer"). Deny rules, explicit asks, protected paths and risk findings hold in
        # every mode.
        return NO_OPINION, decision.reason
    return decision.behavior, decision.reason


NO_OPINION = "none"  # the hook's answer carries no permissionDecision


def _hook_answer(behavior: str, reason: str) -> int:
    import json

    if behavior == NO_OPINION:
        sys.stdout.write("{}\n")
        return 0
    if behavior not in ("allow", "ask", "deny"):
        behavior, reason = "deny", f"unknown decision {behavior!r}"
    answer = {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": behavior,
                                     "permissionDecisionReason": f"ringfence: {reason}"}}
    sys.stdout.write(json.dumps(answer) + "\n")
    if behavior == "deny":
        sys.stderr.write(f"ringfence: {reason}\n")  # exit 2 blocks; Claude reads stderr too
        return 2
    return 0
