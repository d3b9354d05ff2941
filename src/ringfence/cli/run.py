"""``ringfence run [flags] -- CMD``: the sandbox, the proxy and the audit log together.

Start-up time is a feature here (the agent may be started often): the proxy starts in a
process of its own while the sandbox starts, and heavy modules load lazily.
"""

from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

from ringfence.cli.common import policy_from_args
from ringfence.errors import ExitCode, RingfenceError, UsageError
from ringfence.policy import Policy

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import Any

    from ringfence.audit.record import ConnectionRecord
    from ringfence.audit.store import AuditLog
    from ringfence.proxy.egress import Egress
    from ringfence.sandbox.bwrap import EgressView
    from ringfence.sandbox.plan import SandboxPlan
    from ringfence.sandbox.runner import ProxyHandle
    from ringfence.workspace.layer import Layer
    from ringfence.workspace.mask import Masks


def _command(args: argparse.Namespace) -> list[str]:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise UsageError("no command given", hint="ringfence run [flags] -- CMD [ARGS...]")
    return command


def cmd_run(args: argparse.Namespace) -> int:
    command = _command(args)
    policy = policy_from_args(args)
    if policy.permissions.entries:  # rules the boundary can enforce too (nothing imported otherwise)
        from ringfence.permissions.sandbox import apply, sandbox_rules
        from ringfence.policy import home_of_invoker

        policy = apply(policy, sandbox_rules(policy, cwd=os.getcwd(), home=home_of_invoker()))
    backend = getattr(args, "backend", None) or "bwrap"
    degraded: list[str] = []  # what the back-end cannot apply, accepted with --allow-degraded
    if backend not in ("bwrap", "podman", "gvisor", "docker"):
        raise UsageError(f"unknown backend {backend!r}", hint="use --backend bwrap, podman, gvisor or docker")
    if backend in ("podman", "gvisor", "docker"):
        if (getattr(args, "overlay", False) or getattr(args, "layer", None)) and (
                backend == "docker" or os.geteuid() != 0):
            raise UsageError("--overlay needs the container made in ringfence's own mount namespace, where the "
                             "layer is mounted: rootful podman or gVisor (docker's daemon and rootless podman make "
                             "their mounts elsewhere)",
                             hint="run as root with --backend podman or gvisor, use --backend bwrap, or drop --overlay")
        if os.geteuid() != 0 and backend != "docker":
            degraded = _check_rootless(backend, policy, allow_degraded=bool(getattr(args, "allow_degraded", False)))
    absent = policy.workspace.mask and policy.workspace.credential_files == "absent"
    if absent and not (getattr(args, "overlay", False) or getattr(args, "layer", None)):
        raise UsageError('[workspace] credential_files = "absent" needs --overlay: a bind mount can hide a '
                         "file's content, not its name",
                         hint='run with --overlay, or set credential_files = "empty" (the default)')
    scanning = _Masking(policy)  # the workspace scan runs in a child while the rest is set up
    try:
        from ringfence.sandbox import runner

        who = runner.resolve_identity(policy, args.user)
        runner.check_workspace(policy)
        cwd = os.getcwd()
        egress = _egress(policy, resolve=not args.dry_run)
        view = _egress_view(egress)
    except BaseException:
        scanning.abandon()
        raise
    if args.dry_run:
        host = runner.gather_view(policy)
        masks = scanning.result()
        plan = runner.make_plan(policy, command, who=who, cwd=cwd, env=dict(os.environ), egress=view, masks=masks,
                                view=host)
        if backend in ("podman", "gvisor", "docker"):
            import json

            from ringfence.sandbox.podman import RUNTIME, plan_podman

            container = plan_podman(policy, plan, command, runtime="$RUNTIME", cwd=cwd,
                                    oci_runtime="runsc" if backend == "gvisor" else RUNTIME,
                                    rootless=os.geteuid() != 0 and backend != "docker",
                                    engine="docker" if backend == "docker" else "podman",
                                    tty=os.isatty(0) and os.isatty(1))
            print(json.dumps(container.to_json(), indent=2))
            return ExitCode.OK
        return _print_plan(plan, policy, _layer(args, policy))
    layer = _layer(args, policy)
    early: Masks | None = None  # with credential files absent, the overlay needs the scan first
    hide: str | None = None
    if layer is not None:
        try:
            layer.prepare()
            if absent:
                early = scanning.result()
                if early is not None:
                    hide = layer.hide(early.empty)
                    early = early.without_empty()
        except BaseException:
            scanning.abandon()
            layer.unlock()
            raise
    try:
        run_id = os.urandom(6).hex()
        from ringfence.audit.store import AuditLog

        runner.block_signals()  # before the audit and proxy threads exist (see block_signals)
        # The namespace helper builds the sandbox's network while we open the log and plan.
        try:
            userns_of = None
            if backend == "podman" and os.geteuid() != 0:
                from ringfence.sandbox.podman import pause_process

                userns_of = pause_process()  # the network namespace must be podman's to join
            namespace = None if backend == "docker" else runner.start_namespace(  # docker: a bridge instead
                who, network=policy.network.enabled,
                overlay=(layer.workspace, layer.upper, layer.work, hide) if layer is not None else None,
                userns_of=userns_of)
        except BaseException:
            scanning.abandon()
            raise
        try:
            runner.recover_placeholders()  # a crashed run's placeholders go before we look at the disk
            audit = AuditLog.open(policy.audit.path)  # exists before the plan, which hides it
        except BaseException:
            scanning.abandon()
            if namespace is not None:
                namespace.abandon()
            raise
        with audit:
            try:
                host = runner.gather_view(policy)  # while the scan still runs
                masks = early if absent else scanning.result()
                plan = runner.make_plan(policy, command, who=who, cwd=cwd, env=dict(os.environ), egress=view,
                                        masks=masks, view=host)
                from ringfence.audit.redact import redact_command

                logged = redact_command(command)  # the audit log keeps the shape, never a typed secret
                audit.start_run(run_id, logged, [str(s) for s in policy.sources], backend=backend, degraded=degraded)
            except BaseException:
                scanning.abandon()
                if namespace is not None:
                    namespace.abandon()  # nothing runs: the helper exits when its socket closes
                raise
            status = -1
            proxy: _ProxyProcess | None = None

            def start(listeners: list[int]) -> ProxyHandle:
                nonlocal proxy
                proxy = _ProxyProcess(policy, run_id, logged, listeners, egress, masks.values if masks else ())
                return proxy

            try:
                if backend in ("podman", "gvisor", "docker"):
                    status = runner.execute_podman(plan, policy, command, cwd=cwd, gvisor=backend == "gvisor",
                                                   run_id=run_id, namespace=namespace,
                                                   start_proxy=start if plan.proxy_port else None,
                                                   engine="docker" if backend == "docker" else "podman",
                                                   overlay=layer is not None)
                else:
                    assert namespace is not None
                    status = runner.execute(
                        plan, policy, run_id=run_id, namespace=namespace, start_proxy=start if plan.proxy_port else None
                    )
            finally:
                audit.end_run(run_id, status)
        if proxy is not None and proxy.denied:
            hosts = sorted(set(proxy.denied))
            shown = ", ".join(hosts[:5]) + (" ..." if len(hosts) > 5 else "")
            print(f"ringfence: {len(proxy.denied)} connection(s) refused ({shown}); "
                  f"see `ringfence log --run {run_id} --denied`", file=sys.stderr)
        return status
    finally:
        if layer is not None:
            layer.unlock()
            _say_layer(layer)


def _check_rootless(backend: str, policy: Policy, *, allow_degraded: bool) -> list[str]:
    """Rootless podman runs only with what it cannot do accepted (``--allow-degraded``) and
    named; gVisor does not run rootless here."""
    from ringfence.errors import SandboxError
    from ringfence.sandbox.podman import rootless_gaps

    if backend == "gvisor":
        raise SandboxError("the gvisor backend needs rootful podman: runsc cannot set up its sandbox's cgroups "
                           "rootless on this kind of host", hint="run as root (with --user for the agent), or use "
                           "--backend podman --allow-degraded, or --backend bwrap")
    gaps = rootless_gaps(policy.container)
    if not allow_degraded:
        raise SandboxError("rootless podman cannot give this run everything the policy asks: "
                           + "; ".join(gaps) + "; ringfence does not drop a protection silently",
                           hint="run as root (with --user for the agent), pass --allow-degraded to run without "
                           "them (each is named), or use --backend bwrap")
    for gap in gaps:
        print(f"ringfence: degraded (--allow-degraded): {gap}", file=sys.stderr)
    return gaps


def _layer(args: argparse.Namespace, policy: Policy) -> Layer | None:
    """The write layer of ``--overlay`` / ``--layer NAME`` (not yet prepared), or None."""
    if not (getattr(args, "overlay", False) or getattr(args, "layer", None)):
        return None
    from ringfence.cli.layers import layer_of

    return layer_of(policy.sandbox.workspace, getattr(args, "layer", None) or "default")


def _say_layer(layer: Layer) -> None:
    try:
        count = len(layer.changes())
    except OSError:
        return
    flag = "" if layer.name == "default" else f" --layer {layer.name}"
    print(f"ringfence: the workspace is untouched; {count} change(s) wait in layer {layer.name!r}: "
          f"`ringfence changes{flag}` lists them, `ringfence apply{flag}` applies them, "
          f"`ringfence discard{flag}` drops them", file=sys.stderr)


# A workspace whose last scan's cache is at most this big (~400 files) is scanned in the run's
# own process: walking it costs less than forking a child for it (~5 ms of two busy cores).
_INLINE_SCAN_CACHE = 16 << 10


class _Masking:
    """The workspace scan (``_masks``) in a forked child, while the run sets up the rest (or,
    for a small workspace the cache knows, in this process); ``result()`` is the ``Masks``
    (None without masking) and prints the summary line."""

    def __init__(self, policy: Policy) -> None:
        self._forked = None
        self._inline: Policy | None = None
        if policy.workspace.mask:
            from ringfence.policy.load import state_dir
            from ringfence.workspace.scan import cached_size

            size = cached_size(policy.sandbox.workspace, os.path.join(state_dir(), "scan-cache"))
            if size is not None and size <= _INLINE_SCAN_CACHE:
                self._inline = policy
                return
            from ringfence._forked import Forked

            self._forked = Forked(_masks, policy, failure="the workspace scan failed")

    def result(self) -> Masks | None:
        if self._forked is None and self._inline is None:
            return None
        from ringfence.workspace.mask import Masks

        if self._inline is not None:
            policy, self._inline = self._inline, None
            try:
                fields, line = _masks(policy)
            except RingfenceError:
                raise
            except Exception as exc:  # as the forked scan reports it: the run fails closed
                from ringfence.errors import SandboxError

                raise SandboxError(f"the workspace scan failed: {type(exc).__name__}: {exc}") from None
        else:
            assert self._forked is not None
            fields, line = self._forked.result()
        if line:
            print(line, file=sys.stderr)
        return Masks(*fields)

    def abandon(self) -> None:
        if self._forked is not None:
            self._forked.abandon()


def _masks(policy: Policy) -> tuple[tuple[Any, ...], str]:
    """Scan the workspace (files unchanged since a clean scan are not read again): the
    fields of its ``Masks`` and a line saying what the agent will see masked."""
    from ringfence.policy.load import state_dir
    from ringfence.workspace.mask import masks_for
    from ringfence.workspace.scan import scan

    workspace = policy.sandbox.workspace
    if not os.path.isdir(workspace):
        return ((), (), (), ()), ""  # the run says so (runner.check_workspace), better than a scan can
    cache = os.path.join(state_dir(), "scan-cache")
    result = scan(workspace, exclude=policy.workspace.exclude, cache=cache, list_files=False)
    try:
        masks = masks_for(result, copies=os.path.join(cache, "masked"))
    except OSError as exc:
        from ringfence.errors import SandboxError

        raise SandboxError(f"cannot make the masked copies of the workspace's files: {exc.strerror} "
                           f"({exc.filename})", hint="check the files are readable, or run with --no-mask") from None
    line = ""
    if masks.count or result.skipped:
        parts = []
        if masks.empty:
            how = "hidden" if policy.workspace.credential_files == "absent" else "shown empty"
            parts.append(f"{len(masks.empty)} credential file{'s' if len(masks.empty) != 1 else ''} {how}")
        if masks.rewritten:
            parts.append(f"secrets masked in {len(masks.rewritten)} file{'s' if len(masks.rewritten) != 1 else ''}")
        if result.skipped:
            parts.append(f"{len(result.skipped)} file{'s' if len(result.skipped) != 1 else ''} not scanned")
        line = (f"ringfence: workspace: {', '.join(parts)}; `ringfence scan {workspace}` lists them "
                f"(--no-mask to see them as they are)")
    return (masks.empty, masks.rewritten, masks.values, masks.copies), line


def _egress(policy: Policy, *, resolve: bool) -> Egress | None:
    """Credentials, gateways and TLS termination; None (and nothing imported) without them."""
    if not (policy.credentials or policy.gateways or policy.network.inspect or policy.network.rate
            or policy.requests):
        return None
    from ringfence.proxy.egress import Egress
    from ringfence.sandbox.bwrap import PROXY_PORT

    from ringfence.policy.load import state_dir as state_folder

    state_dir = state_folder()  # $RINGFENCE_STATE_DIR, else ~/.local/share/ringfence
    port = PROXY_PORT if policy.network.enabled else None
    return Egress.prepare(policy, state_dir=state_dir, environ=os.environ, port=port, resolve=resolve)


def _egress_view(egress: Egress | None) -> EgressView | None:
    if egress is None:
        return None
    from ringfence.proxy.egress import BUNDLE_IN_SANDBOX
    from ringfence.sandbox.bwrap import EgressView

    return EgressView(egress.env, egress.drop_env, egress.bundle, BUNDLE_IN_SANDBOX, (egress.state_dir,))


class _ProxyProcess:
    """The egress proxy in a process of its own, outside the sandbox.

    Forked once the sandbox's listening sockets exist, it loads asyncio on the other core
    while bubblewrap starts (no lock shared with the supervisor). A connection the agent
    makes before the proxy is ready waits in the socket's backlog: nothing leaves without
    the proxy. Until it serves, SIGTERM ends it at once (nothing to flush); once it serves,
    SIGTERM is a graceful stop that commits every audit record. If it dies during the run,
    the runner stops the sandbox (fail closed).
    """

    def __init__(self, policy: Policy, run_id: str, command: str, listeners: list[int],
                 egress: Egress | None = None, needles: tuple[tuple[str, str], ...] = ()) -> None:
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover - the proxy process; reports through the pipe
            os.close(read_end)
            _proxy_main(policy, run_id, command, listeners, write_end, egress, needles)
        os.close(write_end)
        self._report = read_end
        self._wait_status: int | None = None
        self._stopping = False
        self.denied: list[str] = []

    def _poll(self) -> bool:
        if self._wait_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self._wait_status = status
        return self._wait_status is not None

    def failed(self) -> str | None:
        if self._stopping or not self._poll():
            return None
        return f"the proxy exited unexpectedly (wait status {self._wait_status})"

    def stop(self) -> None:
        import signal

        self._stopping = True
        if not self._poll():
            os.kill(self.pid, signal.SIGTERM)
            deadline = _now() + 10.0
            while not self._poll():
                remaining = deadline - _now()
                if remaining <= 0:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
                    break
                signal.sigtimedwait((signal.SIGCHLD,), min(remaining, 0.05))
        self._read_report()

    def _read_report(self) -> None:
        import json

        data = b""
        while chunk := os.read(self._report, 65536):
            data += chunk
        os.close(self._report)
        if data:
            self.denied = json.loads(data).get("denied", [])


def _now() -> float:
    import time

    return time.monotonic()


def _proxy_main(  # pragma: no cover - runs in the proxy process
    policy: Policy, run_id: str, command: str, listener_fds: list[int], report_fd: int, egress: Egress | None,
    needles: tuple[tuple[str, str], ...] = (),
) -> None:
    import signal

    status = 0
    parent = os.getppid()
    try:
        for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH):
            signal.signal(sig, signal.SIG_IGN)  # the supervisor forwards these to the agent
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGTERM,))  # die at once while loading
        from ringfence.sandbox.netns import die_with_parent

        die_with_parent(signal.SIGTERM, parent)  # a killed supervisor must not leave the proxy behind
        import socket

        from ringfence.audit.store import AuditLog
        from ringfence.proxy import ProxyConfig, start_in_thread

        listeners = [socket.socket(fileno=fd) for fd in listener_fds]

        audit = AuditLog.open(policy.audit.path)  # its own connection: never the parent's
        sink = _CountingSink(audit)
        signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTERM,))  # from here on: a graceful stop
        from ringfence.sandbox.bwrap import PROXY_PORT

        inspector = egress.inspector() if egress is not None else None
        if needles:  # the workspace's secrets may go nowhere: the leak guard refuses them
            from ringfence.proxy.inspect import Inspector
            from ringfence.policy.hosts import HostRules

            if inspector is None:
                inspector = Inspector(terminate=HostRules.parse((), ()))
            inspector.extra_needles = needles
        config = ProxyConfig(rules=policy.network.rules(), run_id=run_id, command=command,
                             inspector=inspector,
                             tls=egress.tls() if egress is not None else None, gateway_port=PROXY_PORT)
        handle = start_in_thread(config, sink, listeners)
        if egress is not None:
            egress.start_refresher()
        signal.sigwait((signal.SIGTERM,))
        handle.stop()
        audit.close()
        import json

        os.write(report_fd, json.dumps({"denied": sink.denied_list}).encode())
    except BaseException as exc:  # noqa: BLE001 - reported, and the supervisor stops the sandbox
        os.write(2, f"ringfence: the proxy failed: {exc}\n".encode())
        status = 1
    finally:
        os._exit(status)


class _CountingSink:
    """The audit log, plus a tally of refusals for the one-line summary after the run."""

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self.denied_list: list[str] = []

    def record(self, rec: ConnectionRecord) -> None:
        self.audit.record(rec)
        if rec.decision.value == "deny" and len(self.denied_list) < 10_000:
            self.denied_list.append(f"{rec.host}:{rec.port}")


def _print_plan(plan: SandboxPlan, policy: Policy, layer: Layer | None = None) -> int:
    import json
    from ringfence.policy import UnixSockets
    from ringfence.sandbox.bwrap import bwrap_argv
    from ringfence.sandbox.seccomp import SeccompOptions, describe

    data = plan.to_json()
    data["argv"] = bwrap_argv(plan, bwrap="bwrap", runtime="$RUNTIME", seccomp_fd=3, info_fd=4)
    data["seccomp"] = describe(SeccompOptions(allow_unix_sockets=policy.network.unix_sockets is UnixSockets.SANDBOX))
    data["audit"] = str(policy.audit.path)
    data["policy_sources"] = [str(s) for s in policy.sources]
    if layer is not None:
        data["overlay"] = {"layer": layer.name, "upper": layer.upper, "exists": layer.exists()}
    if policy.credentials or policy.gateways or policy.terminated_hosts():
        data["credentials"] = [  # the kind of source only: a cmd: line or a path can say too much
            {"name": c.name, "hosts": list(c.hosts), "header": c.header, "source": c.value.split(":", 1)[0],
             "placeholder_env": c.placeholder_env or None} for c in policy.credentials]
        data["gateways"] = [{"name": g.name, "url": g.url, "credential": g.credential,
                             "base_url_env": g.base_url_env or None} for g in policy.gateways]
        data["terminated_hosts"] = list(policy.terminated_hosts())
    print(json.dumps(data, indent=2))
    return ExitCode.OK
