"""``ringfence run [flags] -- CMD``: the sandbox, the proxy and the audit log together."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode, RingfenceError
from ringfence.policy import Policy

if TYPE_CHECKING:
    from ringfence.proxy import AuditSink
    from ringfence.sandbox.runner import ProxyHandle, ProxyStarter


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise RingfenceError("no command given", hint="ringfence run [flags] -- CMD [ARGS...]")
    return command


def cmd_run(args: argparse.Namespace) -> int:
    from ringfence.sandbox import runner

    command = _command(args)
    policy = policy_from_args(args)
    who = runner.resolve_identity(policy, args.user)
    if args.dry_run:
        plan = runner.make_plan(policy, command, who=who, cwd=Path.cwd(), env=dict(os.environ))
        return _print_plan(plan, policy)
    run_id = secrets.token_hex(6)
    from ringfence.audit.store import AuditLog

    runner.block_signals()  # before the audit and proxy threads exist (see block_signals)

    # The audit log exists before the plan is made, so that the plan hides it from the agent.
    runner.recover_placeholders()  # a crashed run's placeholders go before we look at the disk
    with AuditLog.open(policy.audit.path) as audit:
        plan = runner.make_plan(policy, command, who=who, cwd=Path.cwd(), env=dict(os.environ))
        audit.start_run(run_id, shlex.join(command), [str(s) for s in policy.sources])
        status = -1
        try:
            starter = _proxy_starter(policy, run_id, shlex.join(command), audit) if plan.proxy_port else None
            result = runner.execute(plan, policy, run_id=run_id, start_proxy=starter)
            status = result.status
        finally:
            audit.end_run(run_id, status)
    _report_denials(policy, run_id)
    return status


def _proxy_starter(policy: Policy, run_id: str, command: str, audit: AuditSink) -> ProxyStarter:
    def start(listeners: list[socket.socket]) -> ProxyHandle:
        from ringfence.proxy import ProxyConfig, start_in_thread

        config = ProxyConfig(rules=policy.network.rules(), run_id=run_id, command=command)
        return start_in_thread(config, audit, listeners)

    return start


def _report_denials(policy: Policy, run_id: str) -> None:
    """One line after the run if the proxy refused anything, with the command to see it."""
    try:
        from ringfence.audit.queries import query

        denied = query(policy.audit.path, denied_only=True, run_id=run_id, limit=1000)
    except RingfenceError:
        return
    if denied:
        hosts = sorted({f"{r['host']}:{r['port']}" for r in denied})
        shown = ", ".join(hosts[:5]) + (" ..." if len(hosts) > 5 else "")
        print(
            f"ringfence: {len(denied)} connection(s) refused ({shown}); see `ringfence log --run {run_id} --denied`",
            file=sys.stderr,
        )


def _print_plan(plan: object, policy: Policy) -> int:
    from ringfence.sandbox.bwrap import bwrap_argv
    from ringfence.sandbox.plan import SandboxPlan
    from ringfence.sandbox.seccomp import SeccompOptions, describe
    from ringfence.policy import UnixSockets

    assert isinstance(plan, SandboxPlan)
    data = plan.to_json()
    data["argv"] = bwrap_argv(plan, bwrap="bwrap", runtime=Path("$RUNTIME"), seccomp_fd=3, info_fd=4)
    data["seccomp"] = describe(SeccompOptions(allow_unix_sockets=policy.network.unix_sockets is UnixSockets.SANDBOX))
    data["audit"] = str(policy.audit.path)
    data["policy_sources"] = [str(s) for s in policy.sources]
    print(json.dumps(data, indent=2))
    return ExitCode.OK
