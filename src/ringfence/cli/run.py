"""``ringfence run [flags] -- CMD``: the sandbox, the proxy and the audit log together.

Start-up time is a feature here (the agent may be started often): the proxy's event loop
is started in the background while the sandbox starts, and heavy modules load lazily.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode, ProxyError, UsageError
from ringfence.policy import Policy

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

    from ringfence.audit.record import ConnectionRecord
    from ringfence.audit.store import AuditLog
    from ringfence.sandbox.plan import SandboxPlan
    from ringfence.sandbox.runner import ProxyHandle


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("no command given", hint="ringfence run [flags] -- CMD [ARGS...]")
    return command


def cmd_run(args: argparse.Namespace) -> int:
    from ringfence.sandbox import runner

    command = _command(args)
    policy = policy_from_args(args)
    who = runner.resolve_identity(policy, args.user)
    cwd = os.getcwd()
    if args.dry_run:
        plan = runner.make_plan(policy, command, who=who, cwd=_path(cwd), env=dict(os.environ))
        return _print_plan(plan, policy)
    run_id = os.urandom(6).hex()
    from ringfence.audit.store import AuditLog

    runner.block_signals()  # before the audit and proxy threads exist (see block_signals)
    runner.recover_placeholders()  # a crashed run's placeholders go before we look at the disk
    with AuditLog.open(policy.audit.path) as audit:  # exists before the plan, which hides it
        plan = runner.make_plan(policy, command, who=who, cwd=_path(cwd), env=dict(os.environ))
        from ringfence.audit.redact import redact_command

        logged = redact_command(command)  # the audit log keeps the shape, never a typed secret
        audit.start_run(run_id, logged, [str(s) for s in policy.sources])
        sink = _CountingSink(audit)
        status = -1
        background: _BackgroundProxy | None = None

        def start(listeners: list[socket.socket]) -> ProxyHandle:
            nonlocal background
            background = _BackgroundProxy(lambda: _start_proxy(policy, run_id, logged, sink, listeners))
            return background

        try:
            result = runner.execute(plan, policy, run_id=run_id, start_proxy=start if plan.proxy_port else None)
            status = result.status
            if background is not None and background.error is not None:
                raise ProxyError(f"the proxy failed, so the run was stopped: {background.error}",
                                 hint="run `ringfence doctor`; report this if it persists")
        finally:
            audit.end_run(run_id, status)
    if sink.denied:
        hosts = sorted(sink.denied)
        shown = ", ".join(hosts[:5]) + (" ..." if len(hosts) > 5 else "")
        print(f"ringfence: {sink.denied_count} connection(s) refused ({shown}); "
              f"see `ringfence log --run {run_id} --denied`", file=sys.stderr)
    return status


def _path(text: str):  # type: ignore[no-untyped-def]
    from pathlib import Path

    return Path(text)


def _start_proxy(
    policy: Policy, run_id: str, command: str, sink: _CountingSink, listeners: list[socket.socket]
) -> ProxyHandle:
    from ringfence.proxy import ProxyConfig, start_in_thread

    config = ProxyConfig(rules=policy.network.rules(), run_id=run_id, command=command)
    return start_in_thread(config, sink, listeners)


class _CountingSink:
    """The audit log, plus a tally of refusals for the one-line summary after the run."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self.denied: set[str] = set()
        self.denied_count = 0

    def record(self, rec: ConnectionRecord) -> None:
        self.audit.record(rec)
        if rec.decision.value == "deny":
            self.denied_count += 1
            self.denied.add(f"{rec.host}:{rec.port}")


class _BackgroundProxy:
    """Starts the proxy without making the sandbox wait for its event loop to load.

    The proxy's listening socket already exists inside the sandbox's network namespace, so
    a connection the agent makes before the proxy is ready waits in the socket's backlog:
    nothing leaves without the proxy. If the proxy cannot start, the run is ended (fail
    closed): SIGUSR2 tells the runner to stop the sandbox.
    """

    def __init__(self, start: Callable[[], ProxyHandle]) -> None:
        self._start = start
        self._lock = threading.Lock()
        self._handle: ProxyHandle | None = None
        self._stopped = False
        self.error: BaseException | None = None
        threading.Thread(target=self._run, name="ringfence-proxy-start", daemon=True).start()

    def _run(self) -> None:
        try:
            handle = self._start()
        except BaseException as exc:  # noqa: BLE001 - reported by cmd_run, after the sandbox is stopped
            with self._lock:
                if self._stopped:
                    return  # the run ended first and closed the listeners: not a failure
                self.error = exc
            from ringfence.sandbox.runner import abort_run

            abort_run()
            return
        with self._lock:
            stop_now = self._stopped
            self._handle = handle
        if stop_now:
            handle.stop()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            handle = self._handle
        if handle is not None:
            handle.stop()
        # still starting: it stops itself once up (and the process may exit before that)


def _print_plan(plan: SandboxPlan, policy: Policy) -> int:
    from pathlib import Path

    from ringfence.policy import UnixSockets
    from ringfence.sandbox.bwrap import bwrap_argv
    from ringfence.sandbox.seccomp import SeccompOptions, describe

    data = plan.to_json()
    data["argv"] = bwrap_argv(plan, bwrap="bwrap", runtime=Path("$RUNTIME"), seccomp_fd=3, info_fd=4)
    data["seccomp"] = describe(SeccompOptions(allow_unix_sockets=policy.network.unix_sockets is UnixSockets.SANDBOX))
    data["audit"] = str(policy.audit.path)
    data["policy_sources"] = [str(s) for s in policy.sources]
    print(json.dumps(data, indent=2))
    return ExitCode.OK
