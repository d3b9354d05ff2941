"""The thin part with side effects: run a ``SandboxPlan`` under bubblewrap.

Sequence (each step fails closed: if it cannot be done, nothing runs):

1. create a private runtime folder and the placeholders the plan asks for (journaled, so a
   crashed run's placeholders are removed by the next one);
2. fork a child that drops to the agent's ids, enters its own user + network namespace,
   creates the proxy's listening socket there and hands it back (see ``netns``);
3. the parent starts the proxy on that socket and tells the child to go; the child execs
   bwrap with the seccomp program on an inherited fd;
4. the parent forwards SIGINT/SIGTERM/SIGHUP to the sandboxed command, waits for bwrap and
   returns the command's status (128+N for a signal), then stops the proxy and cleans up.
"""

from __future__ import annotations

import os
import pwd

from ringfence._struct import field, record
TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import signal
else:  # the C module signal wraps: the same functions and constants without the module's
    # enum conversion of every constant (~0.5 ms of every run's start-up)
    import _signal as signal

from ringfence.errors import ProxyError, SandboxError
from ringfence.policy.model import Policy, UnixSockets
from ringfence.sandbox import fdpass
from ringfence.sandbox.bwrap import (
    EMPTY_FILE_NAME,
    copy_name,
    PROXY_PORT,
    EgressView,
    HostView,
    Identity,
    bwrap_argv,
    plan_bwrap,
)
from ringfence.sandbox.plan import MountKind, SandboxPlan
from ringfence.sandbox.probe import Kind, walk_root

# SIGWINCH too: the terminal tells its foreground group (ringfence) about a resize, and an
# interactive agent must hear of it to redraw.
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH)
_ABORT = signal.SIGUSR2  # sent to ourselves when a part outside the sandbox fails mid-run
_CONNECTING = signal.SIGUSR1  # sent by the listener watch: the agent wants the proxy
_WAITED = (*_FORWARDED, _ABORT, _CONNECTING, signal.SIGCHLD)


if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from ringfence.workspace.mask import Masks

    class ProxyHandle(Protocol):
        def stop(self) -> None: ...

        def failed(self) -> str | None:
            """Why the proxy stopped on its own (a failure: the run must end), or None."""

    class ProxyStarter(Protocol):
        """Starts the proxy on the listening sockets the sandbox's namespace provides."""

        def __call__(self, listeners: list[int], /) -> ProxyHandle: ...


def resolve_identity(policy: Policy, user: str | None) -> Identity:
    """Who the agent runs as: ourselves, or (as root) never root."""
    if os.getuid() != 0:
        if user is not None and _lookup(user).pw_uid != os.getuid():
            raise SandboxError("--user needs ringfence to run as root", hint="drop --user, or run as root")
        return _identity(pwd.getpwuid(os.getuid()))
    if user is not None:
        entry = _lookup(user)
    elif os.environ.get("SUDO_UID", "").isdigit() and int(os.environ["SUDO_UID"]) != 0:
        entry = pwd.getpwuid(int(os.environ["SUDO_UID"]))
    else:
        entry = _owner_of(policy.sandbox.workspace)
    if entry.pw_uid == 0:
        raise SandboxError(
            f"the workspace {policy.sandbox.workspace} is owned by root, and ringfence never runs an agent as root",
            hint="pass --user USER (an unprivileged account that may write the workspace), or chown the workspace",
        )
    return _identity(entry)


def _lookup(user: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
    except KeyError:
        raise SandboxError(f"no such user: {user}", hint="pass an existing account to --user") from None


def _owner_of(path: str) -> pwd.struct_passwd:
    try:
        uid = os.stat(path).st_uid
    except OSError as exc:
        raise SandboxError(f"workspace {path}: {exc.strerror}", hint="pass an existing folder to --workspace") from None
    try:
        return pwd.getpwuid(uid)
    except KeyError:
        raise SandboxError(f"the workspace owner (uid {uid}) has no account", hint="pass --user USER") from None


def _identity(entry: pwd.struct_passwd) -> Identity:
    return Identity(entry.pw_uid, entry.pw_gid, entry.pw_dir, entry.pw_name, entry.pw_shell or "/bin/sh")


def homes_for(who: Identity) -> tuple[str, ...]:
    """Every home folder whose credential stores must be hidden: the caller's and the agent's."""
    mine = pwd.getpwuid(os.getuid()).pw_dir
    return (mine,) if mine == who.home else (mine, who.home)


def gather_view(policy: Policy) -> HostView:
    """Walk every writable root once (protected names, and host sockets when needed)."""
    view = HostView()
    find_sockets = policy.network.unix_sockets is UnixSockets.SANDBOX
    hidden = frozenset(view.real(p) for p in policy.filesystem.deny_read)
    for path in {view.real(p) for p in policy.filesystem.allow_write}:
        if view.kind(path) is Kind.DIR:
            view.walks[path] = walk_root(path, find_sockets=find_sockets, skip=hidden)
    return view


def check_workspace(policy: Policy) -> None:
    workspace = policy.sandbox.workspace
    if not os.path.isdir(workspace):
        raise SandboxError(f"workspace {workspace} is not a folder", hint="pass an existing folder to --workspace")


def make_plan(policy: Policy, command: list[str], *, who: Identity, cwd: str, env: dict[str, str],
              egress: EgressView | None = None, masks: Masks | None = None,
              view: HostView | None = None) -> SandboxPlan:
    """The plan for ``command``; ``view`` is ``gather_view(policy)`` when the caller has
    gathered it already (while the workspace scan ran)."""
    check_workspace(policy)
    return plan_bwrap(
        policy, command, who=who, view=view or gather_view(policy), caller_env=env, cwd=cwd,
        homes=homes_for(who), egress=egress, masks=masks,
    )


def _which(name: str) -> str | None:
    for folder in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep):
        candidate = os.path.join(folder or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def find_bwrap() -> str:
    path = _which("bwrap")
    if path is None:
        raise SandboxError(
            "bubblewrap (bwrap) is not installed",
            hint="sudo apt-get install bubblewrap   (then run `ringfence doctor`)",
        )
    return path


@record(frozen=False)
class _Runtime:
    """The run's private folder (bind sources) and the placeholders made on the host."""

    folder: str
    journal: str
    made: list[str] = field(default_factory=list)
    copies: list[str] = field(default_factory=list)  # RO_COPY sources copied into the folder

    def cleanup(self) -> None:
        for path in reversed(self.made):
            _remove_if_empty(path)
        for path in (os.path.join(self.folder, EMPTY_FILE_NAME), *self.copies, self.journal):
            _unlink(path)
        try:
            os.rmdir(self.folder)
        except OSError:
            pass


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _remove_if_empty(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            os.rmdir(path)  # only succeeds if still empty
        elif os.path.isfile(path) and os.stat(path).st_size == 0:
            os.unlink(path)
    except OSError:
        pass


def journal_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".local/state")
    return os.path.join(base, "ringfence", "placeholders")


def recover_placeholders() -> None:
    """Remove the placeholders of runs that died without cleaning up (their pid is gone)."""
    folder = journal_dir()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(".run")]
    except OSError:
        return  # no journal folder: no run ever made a placeholder here
    for name in names:
        journal = os.path.join(folder, name)
        try:
            with open(journal) as fh:
                pid, _, paths = fh.read().partition("\n")
            if _alive(int(pid)):
                continue
            for path in reversed([p for p in paths.split("\0") if p]):
                _remove_if_empty(path)
            _unlink(journal)
        except (OSError, ValueError, KeyError):
            continue


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy_readonly(source: str, target: str) -> None:
    try:
        with open(source, "rb") as src:
            data = src.read()
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        with open(fd, "wb") as dst:
            dst.write(data)
    except OSError as exc:
        raise SandboxError(f"cannot copy {source} into the run's folder: {exc.strerror}",
                           hint="check that the file exists and is readable") from None


def _masked_copy(source: str, target: str, runtime: _Runtime) -> None:
    from ringfence.workspace.mask import masked_copy

    try:
        masked_copy(source, target, source)
    except OSError as exc:
        runtime.cleanup()
        raise SandboxError(f"cannot make the masked copy of {source}: {exc.strerror}",
                           hint="check that the file is readable, or run with --no-mask") from None


def _prepare_runtime(plan: SandboxPlan, run_id: str) -> _Runtime:
    folder = os.path.join(os.environ.get("TMPDIR") or "/tmp", f"ringfence-{run_id}-{os.urandom(4).hex()}")
    os.mkdir(folder, mode=0o700)  # a fresh random name: mkdir fails rather than reuse anything
    os.chmod(folder, 0o711)
    os.close(os.open(os.path.join(folder, EMPTY_FILE_NAME), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))
    jdir = journal_dir()
    os.makedirs(jdir, mode=0o700, exist_ok=True)
    runtime = _Runtime(folder, os.path.join(jdir, f"{run_id}.run"))
    for mount in plan.mounts:
        if mount.kind is MountKind.RO_COPY and mount.source is not None:
            runtime.copies.append(os.path.join(folder, copy_name(mount.dest)))
            _copy_readonly(mount.source, runtime.copies[-1])
        elif mount.kind is MountKind.MASKED_COPY and mount.source is not None:
            runtime.copies.append(os.path.join(folder, copy_name(mount.dest)))
            if mount.source != mount.dest:  # masked beforehand (ringfence.workspace.mask), read-only
                try:
                    os.link(mount.source, runtime.copies[-1])  # the kept copy itself: no bytes to copy
                except OSError:
                    try:
                        _copy_readonly(mount.source, runtime.copies[-1])  # another file system
                    except SandboxError:
                        runtime.cleanup()
                        raise
            else:
                _masked_copy(mount.source, runtime.copies[-1], runtime)
    # pid, then the paths NUL-separated (the one byte a path cannot hold)
    with open(runtime.journal, "w") as fh:
        fh.write(f"{os.getpid()}\n" + "\0".join(p.path for p in plan.placeholders))
    try:
        for holder in plan.placeholders:
            if os.path.lexists(holder.path):
                continue
            if holder.is_dir:
                os.mkdir(holder.path, mode=0o755)
            else:
                os.close(os.open(holder.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444))
            os.chown(holder.path, plan.uid, plan.gid, follow_symlinks=False)
            runtime.made.append(holder.path)
    except OSError as exc:
        runtime.cleanup()
        raise SandboxError(
            f"cannot create the placeholder {exc.filename}: {exc.strerror}",
            hint="make the workspace writable by the agent's user, or remove that path from allow_write",
        ) from None
    return runtime


def _seccomp_fd(policy: Policy) -> int:
    from ringfence.sandbox.seccomp import SeccompOptions, build_filter

    program = build_filter(SeccompOptions(allow_unix_sockets=policy.network.unix_sockets is UnixSockets.SANDBOX))
    fd = os.memfd_create("ringfence-seccomp", 0)  # not CLOEXEC: bwrap reads it
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


# The fds bwrap's argv names: the namespace helper moves what it receives to these numbers.
SECCOMP_FD = 3
STATUS_FD = 4
_READY = b"ready"


class Namespace:
    """The forked helper that holds the sandbox's own user + network namespace.

    It is started as early as possible (``start_namespace``) so that it builds the namespace
    and the proxy's listening socket while the parent opens the audit log and plans; then it
    waits for ``go`` (argv, environment, the seccomp and status fds) and becomes bwrap.
    """

    def __init__(self, pid: int, control: fdpass.Socket) -> None:
        self.pid = pid
        self.control = control
        self.listeners: list[int] = []

    def ready(self) -> list[int]:
        """Wait until the namespace exists; the fds of the proxy's listening sockets in it."""
        msg, fds = fdpass.recv_fds(self.control, 1024, 2)
        if msg != _READY:
            for fd in fds:
                os.close(fd)
            self.abandon()
            reason = msg.decode(errors="replace") or "the sandbox helper exited"
            if "overlay" in reason:
                raise SandboxError(f"cannot mount the workspace's write layer: {reason}",
                                   hint="run `ringfence doctor` (kernel overlayfs; unprivileged, in a user "
                                   "namespace with userxattr: Linux 5.11 or later), or run without --overlay")
            raise SandboxError(
                f"cannot create the sandbox's network namespace: {reason}",
                hint="run `ringfence doctor`: user and network namespaces must be available",
            )
        self.listeners = fds
        return self.listeners

    def go(self, argv: list[str], env: dict[str, str], fds: list[int]) -> None:
        """Hand over what bwrap needs and let the helper exec it."""
        fields = [str(len(argv)), *argv, *(f"{k}={v}" for k, v in env.items())]
        payload = "\0".join(fields).encode()
        fdpass.send_fds(self.control, len(payload).to_bytes(8, "big"), fds)
        self.control.sendall(payload)

    def abandon(self) -> None:
        """Planning failed after the helper started: it exits when its socket closes."""
        self.control.close()
        self.close_listeners()
        _reap(self.pid)

    def close_listeners(self) -> None:
        for fd in self.listeners:
            os.close(fd)
        self.listeners = []


def start_namespace(who: Identity, *, network: bool,
                    overlay: tuple[str, str, str, str | None] | None = None,
                    userns_of: int | None = None) -> Namespace:
    """Fork the namespace helper (see ``Namespace``); returns at once. With ``overlay``
    (workspace, upper, work, hide), the helper mounts the workspace as an overlay first
    (ringfence.sandbox.overlay); with ``userns_of`` (rootless podman's pause process), the
    network namespace is made in that process's user namespace (``netns.enter_net_namespace_of``)."""
    parent_end, child_end = fdpass.socketpair()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the socket
        parent_end.close()
        # Keep the control socket clear of the fd numbers bwrap's argv names.
        import fcntl

        control = fdpass.Socket(fileno=fcntl.fcntl(child_end.fileno(), fcntl.F_DUPFD_CLOEXEC, 10))
        child_end.close()
        _child(who.uid, who.gid, PROXY_PORT if network else None, control, overlay, userns_of)
    child_end.close()
    return Namespace(pid, parent_end)


def _child(uid: int, gid: int, port: int | None, control: fdpass.Socket,
           overlay: tuple[str, str, str, str | None] | None = None,
           userns_of: int | None = None) -> None:  # pragma: no cover
    try:
        unblock_signals()
        os.setpgid(0, 0)  # the terminal's Ctrl-C goes to ringfence, which forwards it
        from ringfence.sandbox import netns  # ctypes loads here, in parallel with the parent

        root = os.getuid() == 0
        if overlay is not None and root:  # mounted with root's rights, before they are dropped
            from ringfence.sandbox import overlay as overlayfs

            netns.unshare(overlayfs.CLONE_NEWNS)
            overlayfs.make_private()
            overlayfs.mount(*overlay, userxattr=False)
        if root:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            netns.make_dumpable()
        if overlay is not None and not root:
            from ringfence.sandbox import overlay as overlayfs

            netns.enter_user_and_net_namespace(overlayfs.CLONE_NEWNS)
            overlayfs.make_private()
            overlayfs.mount(*overlay, userxattr=True)
        elif userns_of is not None:
            netns.enter_net_namespace_of(userns_of)
        else:
            netns.enter_user_and_net_namespace()
        netns.bring_up_loopback()
        listeners = netns.listen_loopback(port) if port else []
        fdpass.send_fds(control, _READY, [s.fileno() for s in listeners])
        for s in listeners:
            s.close()
        argv, env = _receive_go(control)
        os.execve(argv[0], argv, env)
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        try:
            control.sendall(f"error: {exc}".encode()[:1000])
        finally:
            os._exit(125)


def _receive_go(control: fdpass.Socket) -> tuple[list[str], dict[str, str]]:  # pragma: no cover - child
    header, fds = fdpass.recv_fds(control, 8, 2)
    if len(header) != 8 or len(fds) != 2:
        os._exit(125)  # the parent gave up (its end closed): nothing runs
    size = int.from_bytes(header, "big")
    payload = b""
    while len(payload) < size:
        chunk = control.recv(size - len(payload))
        if not chunk:
            os._exit(125)
        payload += chunk
    # Park the received fds above the numbers argv names, then place them; dup2 makes the
    # copies inheritable (not CLOEXEC), as bwrap needs. The control socket is already high.
    import fcntl

    high = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds]
    os.dup2(high[0], SECCOMP_FD)
    os.dup2(high[1], STATUS_FD)
    fields = payload.decode().split("\0")
    argc = int(fields[0])
    argv = fields[1 : 1 + argc]
    env = dict(item.split("=", 1) for item in fields[1 + argc :] if item)
    return argv, env


def _status(wait_status: int) -> int:
    if os.WIFSIGNALED(wait_status):
        return 128 + os.WTERMSIG(wait_status)
    return os.WEXITSTATUS(wait_status)


class _StatusFd:
    """bwrap's --json-status-fd: the sandbox init's pid first, its exit code at the end.

    No exit code after bwrap ended means bwrap failed before the command ran.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.data = b""
        os.set_blocking(fd, False)

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except BlockingIOError:
                return
            if not chunk:
                return
            self.data += chunk

    def _value(self, key: str) -> int | None:
        """The integer after ``"key":`` in bwrap's JSON documents (a full parser is not needed
        for these flat objects of integers, and json would cost start-up time)."""
        self._read()
        marker = f'"{key}":'.encode()
        at = self.data.find(marker)
        if at < 0:
            return None
        digits = self.data[at + len(marker) :].lstrip()
        end = 0
        while end < len(digits) and (digits[end : end + 1].isdigit() or (end == 0 and digits[:1] == b"-")):
            end += 1
        return int(digits[:end]) if end else None

    def child_pid(self) -> int | None:
        return self._value("child-pid")

    def exit_code(self) -> int | None:
        return self._value("exit-code")


def block_signals() -> None:
    """Block the forwarded signals (and SIGCHLD) in this thread and every thread it starts.

    Call before any thread exists: a process-directed signal may otherwise land on a worker
    thread while the main thread sleeps in waitpid(). ``wait_forwarding`` collects them
    with sigtimedwait(2) instead; the sandbox's child unblocks them before exec.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)


def unblock_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _WAITED)


def abort_run() -> None:
    """From any thread: stop the sandbox now (fail closed when the proxy dies)."""
    os.kill(os.getpid(), _ABORT)


class _Forwarder:
    """Forwards the caller's signals to the sandboxed command's process group."""

    def __init__(self, bwrap_pid: int, status: _StatusFd) -> None:
        self.bwrap_pid = bwrap_pid
        self.status = status

    def wait(self, proxy: ProxyHandle | None) -> int:
        """Wait for bwrap, forwarding signals meanwhile; returns its wait status.

        If the proxy dies first, the sandbox is stopped: nothing may run without it.
        """
        while True:
            pid, wait_status = os.waitpid(self.bwrap_pid, os.WNOHANG)
            if pid:
                return wait_status
            failure = proxy.failed() if proxy is not None else None
            if failure is not None:
                raise ProxyError(f"{failure}; the sandbox was stopped", hint="see the proxy's message above")
            info = signal.sigtimedwait(_WAITED, 1.0)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            if info.si_signo == _ABORT:
                self.kill_all()
            elif info.si_signo == _CONNECTING:
                if isinstance(proxy, OnDemandProxy):
                    proxy.start()
            else:
                self._handle(info.si_signo)

    def _handle(self, signum: int) -> None:
        target = self._command_pid()
        if target is None:
            if signum not in (signal.SIGINT, signal.SIGWINCH):
                _kill(self.bwrap_pid, signal.SIGKILL)
            return
        # bwrap's --new-session makes the sandbox's init the session and group leader; the
        # command is in that group. The init ignores signals it has no handler for
        # (pid_namespaces(7)), so the whole group can be signalled.
        try:
            _killpg(os.getpgid(target), signum)
        except ProcessLookupError:
            pass

    def _command_pid(self) -> int | None:
        init = self.status.child_pid()
        if init is None:
            return None
        try:
            with open(f"/proc/{init}/task/{init}/children") as fh:
                children = fh.read().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def kill_all(self) -> None:
        """The sandbox's init is pid 1 of its namespace: killing it ends every process inside."""
        init = self.status.child_pid()
        if init is not None:
            _kill(init, signal.SIGKILL)
        _kill(self.bwrap_pid, signal.SIGKILL)


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class OnDemandProxy:
    """Starts the proxy when the agent first connects to it, not before.

    The listening socket exists inside the sandbox's namespace from the start, so a
    connection waits in its backlog until the proxy accepts it: nothing leaves without the
    proxy, and a command that never uses the network never pays for starting it. A thread
    watches the listeners (select(2)) and signals the supervisor, which starts the proxy.
    """

    def __init__(self, start: ProxyStarter, namespace: Namespace | _Listeners) -> None:
        import select
        import threading

        self._start = start
        self._namespace = namespace
        self._handle: ProxyHandle | None = None
        self._wake_read, self._wake_write = os.pipe()
        watched = [*namespace.listeners, self._wake_read]
        threading.Thread(target=self._watch, args=(select.select, watched), daemon=True).start()

    def _watch(self, select: Callable[..., tuple[list[int], list[int], list[int]]], fds: list[int]) -> None:
        readable, _, _ = select(fds, [], [])
        if self._wake_read not in readable:
            os.kill(os.getpid(), _CONNECTING)

    def start(self) -> None:
        if self._handle is None:
            self._handle = self._start(self._namespace.listeners)
            self._namespace.close_listeners()  # the proxy has its own copies

    def failed(self) -> str | None:
        return self._handle.failed() if self._handle is not None else None

    def stop(self) -> None:
        os.write(self._wake_write, b"x")  # ends the watch if nobody connected
        if self._handle is not None:
            self._handle.stop()
        self._namespace.close_listeners()


def execute(
    plan: SandboxPlan,
    policy: Policy,
    *,
    run_id: str,
    namespace: Namespace,
    start_proxy: ProxyStarter | None,
) -> int:
    """Run ``plan`` in ``namespace``; returns the command's status. Raises ``SandboxError``
    (or ``ProxyError``) if setup fails, after stopping everything it started."""
    try:
        bwrap = find_bwrap()
        runtime = _prepare_runtime(plan, run_id)
    except BaseException:
        namespace.abandon()
        raise
    seccomp_fd = status_write = -1
    try:
        seccomp_fd = _seccomp_fd(policy)
        status_read, status_write = os.pipe()
        argv = bwrap_argv(plan, bwrap=bwrap, runtime=runtime.folder, seccomp_fd=SECCOMP_FD, info_fd=STATUS_FD)
        listeners = namespace.ready()
        proxy = OnDemandProxy(start_proxy, namespace) if listeners and start_proxy is not None else None
        namespace.go(argv, plan.env, [seccomp_fd, status_write])
        os.close(status_write)
        status_write = -1
        return _supervise(namespace, proxy, status_read)
    except BaseException:
        namespace.abandon()
        raise
    finally:
        for fd in (seccomp_fd, status_write):
            if fd >= 0:
                os.close(fd)
        runtime.cleanup()


def _supervise(namespace: Namespace, proxy: ProxyHandle | None, status_fd: int) -> int:
    status = _StatusFd(status_fd)
    forwarder = _Forwarder(namespace.pid, status)
    try:
        _check_exec(namespace)
        wait_status = forwarder.wait(proxy)
        if status.exit_code() is None:
            raise SandboxError(
                f"bubblewrap could not set up the sandbox (status {_status(wait_status)}; its message is above)",
                hint="run `ringfence doctor`, and check the paths in the policy",
            )
        return _status(wait_status)
    except BaseException:
        forwarder.kill_all()
        _reap(namespace.pid)
        raise
    finally:
        if proxy is not None:
            proxy.stop()
        namespace.control.close()
        os.close(status_fd)


def _check_exec(namespace: Namespace) -> None:
    """After "go", the helper's end closes on a successful exec (CLOEXEC) or reports an error."""
    data = namespace.control.recv(1024)
    if data:
        _reap(namespace.pid)
        raise SandboxError(
            f"cannot start bubblewrap: {data.decode(errors='replace')}",
            hint="run `ringfence doctor`",
        )


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


# --- the podman backend ----------------------------------------------------------------------


def execute_podman(
    plan: SandboxPlan,
    policy: Policy,
    command: list[str],
    *,
    cwd: str,
    gvisor: bool = False,
    run_id: str,
    namespace: Namespace | None,
    start_proxy: ProxyStarter | None,
    engine: str = "podman",
    overlay: bool = False,
) -> int:
    """Run ``command`` in the container ``ringfence.sandbox.podman`` plans from ``plan``, in
    the network namespace the helper holds; the helper itself never becomes bwrap, and exits
    when we close its socket. ``engine="docker"`` (no helper): ``--network none``, and the
    proxy listens on a Unix socket in the run's folder, which the container's bridge reaches.
    ``overlay`` (rootful podman): the helper mounted the write layer over the workspace in a
    mount namespace of its own; podman runs in that namespace (``nsenter --mount``), so the
    container's binds see the layer, and the host never does."""
    import json
    import shutil

    from ringfence.export.seccomp import native_arch, profile
    from ringfence.sandbox.podman import plan_podman

    docker = engine == "docker"
    try:
        binary = shutil.which(engine)
        if binary is None:
            raise SandboxError(f"{engine} is not installed",
                               hint="install Docker Engine (docker.com), or use --backend podman" if docker
                               else "sudo apt-get install podman runc")
        oci_runtime = "runc" if docker else shutil.which("runsc" if gvisor else "runc")
        if oci_runtime is None:
            raise SandboxError(f"{'runsc (gVisor)' if gvisor else 'runc'} is not installed",
                               hint=f"sudo apt-get install {'runsc' if gvisor else 'runc'}")
        runtime = _prepare_runtime(plan, run_id)
    except BaseException:
        if namespace is not None:
            namespace.abandon()
        raise
    proxy: ProxyHandle | None = None
    listeners: Namespace | _Listeners | None = namespace
    pid = -1
    tty = os.isatty(0) and os.isatty(1)
    try:
        container = plan_podman(policy, plan, command, runtime=runtime.folder, cwd=cwd, oci_runtime=oci_runtime,
                                rootless=os.geteuid() != 0 and not docker, engine=engine, tty=tty)
        bridged = docker and bool(plan.proxy_port)
        seccomp_file = os.path.join(runtime.folder, "seccomp.json")
        with open(os.open(seccomp_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), "w") as fh:
            json.dump(profile(policy, native_arch(), unix_sockets=bridged), fh)
        runtime.copies.append(seccomp_file)
        if bridged:
            listeners = _Listeners([_bridge_files(plan, runtime, policy)])
        elif namespace is not None:
            namespace.ready()
        if listeners is not None and listeners.listeners and start_proxy is not None:
            proxy = OnDemandProxy(start_proxy, listeners)
        argv = container.argv(None if docker or namespace is None else namespace.pid, seccomp_file)
        argv[0] = binary
        if overlay and namespace is not None:
            nsenter = shutil.which("nsenter")
            if nsenter is None:
                raise SandboxError("nsenter is not installed (podman must run where the layer is mounted)",
                                   hint="sudo apt-get install util-linux")
            argv = [nsenter, f"--mount=/proc/{namespace.pid}/ns/mnt", "--", *argv]
            binary = nsenter
        env = {**container.env, "PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin")}
        for name in ("HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "DOCKER_HOST", "DOCKER_CONFIG",
                     "DOCKER_CONTEXT"):  # the engine's own settings (rootless podman's storage, docker's daemon)
            if name in os.environ and name not in env:
                env[name] = os.environ[name]
        # With a terminal the engine stays in our process group, the terminal's foreground (it
        # reads the terminal and puts it in raw mode: Ctrl-C reaches the agent as a byte).
        spawn = {"setsigmask": ()} if tty else {"setsigmask": (), "setpgroup": 0}
        pid = os.posix_spawn(binary, argv, env, **spawn)
        return _wait_podman(pid, proxy)
    except BaseException:
        if pid > 0:
            _kill(pid, signal.SIGKILL)
            _reap(pid)
        raise
    finally:
        if proxy is not None:
            proxy.stop()
        if namespace is not None:
            namespace.abandon()
        elif isinstance(listeners, _Listeners):
            listeners.close_listeners()
        runtime.cleanup()


class _Listeners:
    """The proxy's listening sockets when there is no namespace helper (the docker backend)."""

    def __init__(self, listeners: list[int]) -> None:
        self.listeners = listeners

    def close_listeners(self) -> None:
        for fd in self.listeners:
            os.close(fd)
        self.listeners = []


def _bridge_files(plan: SandboxPlan, runtime: _Runtime, policy: Policy) -> int:
    """The docker backend's files in the run's folder: the bridge's source, ringfence's seccomp
    program for the agent (the sandbox's own: AF_UNIX refused unless ``unix_sockets =
    "sandbox"``), and the proxy's listening Unix socket, owned by the agent (mode 0600);
    returns the socket's fd."""
    import socket

    from ringfence.sandbox import bridge
    from ringfence.sandbox.podman import BRIDGE, FILTER, PROXY_SOCKET
    from ringfence.sandbox.seccomp import SeccompOptions, build_filter

    with open(bridge.__file__, "rb") as fh:
        source = fh.read()
    program = build_filter(SeccompOptions(allow_unix_sockets=policy.network.unix_sockets is UnixSockets.SANDBOX))
    for name, data in ((BRIDGE, source), (FILTER, program)):
        path = os.path.join(runtime.folder, name)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), "wb") as out:
            out.write(data)
        runtime.copies.append(path)
    path = os.path.join(runtime.folder, PROXY_SOCKET)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        old = os.umask(0o177)  # 0600 from the start: nobody else may connect, even for a moment
        try:
            sock.bind(path)
        finally:
            os.umask(old)
        runtime.copies.append(path)
        os.chown(path, plan.uid, plan.gid)
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise SandboxError(f"cannot make the proxy's socket {path}: {exc.strerror}",
                           hint="check TMPDIR: it must be a local folder the container engine can bind") from None
    return sock.detach()


def _wait_podman(pid: int, proxy: ProxyHandle | None) -> int:
    """Wait for podman, forwarding signals (``--sig-proxy`` hands them to the container)."""
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return _status(wait_status)
        failure = proxy.failed() if proxy is not None else None
        if failure is not None:
            _kill(pid, signal.SIGTERM)
            raise ProxyError(f"{failure}; the container was stopped", hint="see the proxy's message above")
        info = signal.sigtimedwait(_WAITED, 1.0)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo == _CONNECTING:
            if isinstance(proxy, OnDemandProxy):
                proxy.start()
        elif info.si_signo == _ABORT:
            _kill(pid, signal.SIGKILL)
        else:
            _kill(pid, info.si_signo)
