"""The bridge inside a docker container: the proxy variables' ``127.0.0.1:PORT`` to the
proxy's Unix socket, which ringfence mounts read-only into the container.

Docker cannot join a network namespace ringfence made (podman can: ``--network ns:PATH``),
so the docker backend runs the container with ``--network none`` and this file, mounted
read-only, as its first process: ``python3 bridge.py PORT SOCKET FILTER -- CMD...``.

1. It listens on 127.0.0.1:PORT (and [::1]:PORT where IPv6 exists) in the container's own
   loopback, and connects each accepted connection to SOCKET, both ways, byte for byte.
2. It forks the command; the child loads FILTER (ringfence's own seccomp program, the one
   bwrap loads: among other things it refuses ``socket(AF_UNIX)``) before it execs, so the
   agent cannot open the Unix sockets the bridge needs. The container's own profile must
   allow AF_UNIX for the bridge; the agent never gets it.
3. It forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGWINCH to the command, reaps every orphan
   (it is PID 1), and exits with the command's status (128+N for a signal).

Standard library only, and no syntax newer than Python 3.6 (annotations as strings): it runs on the image's python3,
not ringfence's. Exit 125 (with a message) if it cannot set up; the command then never runs.
"""

import ctypes
import errno
import os
import signal
import socket
import sys
import threading

if False:  # typing only (the image's python3 may be old): mypy reads it, nothing imports it
    from typing import NoReturn  # noqa: F401

_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH)


def _fail(message: str) -> "NoReturn":
    sys.stderr.write("ringfence bridge: %s\n" % message)
    sys.stderr.flush()
    os._exit(125)


def _listen(port: int) -> "list[socket.socket]":
    listeners = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError as exc:
            if family == socket.AF_INET6 and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue
            _fail("cannot listen on %s:%d: %s" % (host, port, exc.strerror))
        listeners.append(sock)
    return listeners


class _Pair:
    """The agent's connection and the proxy's: each direction pumped by a thread; the second
    to finish closes both (the bridge lives as long as the agent: no descriptor may leak)."""

    def __init__(self, client: socket.socket, upstream: socket.socket) -> None:
        self.sockets = (client, upstream)
        self._lock = threading.Lock()
        self._running = 2

    def pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self._lock:
            self._running -= 1
            last = self._running == 0
        if last:
            for sock in self.sockets:
                sock.close()


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            upstream.connect(path)
        except OSError as exc:
            sys.stderr.write("ringfence bridge: cannot reach the proxy at %s: %s\n" % (path, exc.strerror))
            client.close()
            upstream.close()
            continue
        pair = _Pair(client, upstream)
        threading.Thread(target=pair.pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pair.pump, args=(upstream, client), daemon=True).start()


def _load_filter(path: str) -> None:
    """The seccomp program (an array of struct sock_filter), installed on this thread."""
    with open(path, "rb") as fh:
        program = fh.read()
    if not program or len(program) % 8:
        _fail("the seccomp program %s is not a whole number of instructions" % path)
    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):  # struct sock_fprog (linux/filter.h)
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    ulong = ctypes.c_ulong
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, ulong(1), ulong(0), ulong(0), ulong(0)) != 0:
        _fail("prctl(PR_SET_NO_NEW_PRIVS): %s" % os.strerror(ctypes.get_errno()))
    if libc.prctl(_PR_SET_SECCOMP, ulong(_SECCOMP_MODE_FILTER), ctypes.byref(fprog), ulong(0), ulong(0)) != 0:
        _fail("cannot load the seccomp program: %s" % os.strerror(ctypes.get_errno()))


def main(argv: "list[str]") -> None:
    if len(argv) < 5 or argv[3] != "--":
        _fail("usage: bridge.py PORT SOCKET FILTER -- CMD [ARGS...]")
    port, path, program, command = int(argv[0]), argv[1], argv[2], argv[4:]
    for sig in _FORWARDED:  # blocked until the child exists, so none is lost
        signal.pthread_sigmask(signal.SIG_BLOCK, [sig])
    listeners = _listen(port)
    child = os.fork()
    if child == 0:
        try:
            for sock in listeners:
                sock.close()
            _load_filter(program)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, list(_FORWARDED))
            os.execvp(command[0], command)
        except OSError as exc:
            sys.stderr.write("ringfence bridge: cannot run %s: %s\n" % (command[0], exc.strerror))
            os._exit(127 if exc.errno == errno.ENOENT else 126)
        except SystemExit:
            raise
        except BaseException as exc:  # noqa: BLE001 - the child must never return into the bridge
            sys.stderr.write("ringfence bridge: %s\n" % exc)
            os._exit(125)
    for sock in listeners:
        threading.Thread(target=_serve, args=(sock, path), daemon=True).start()
    for sig in _FORWARDED:
        signal.signal(sig, lambda signum, frame: _kill(child, signum))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, list(_FORWARDED))
    while True:  # PID 1 reaps every orphan; the command's own status ends the bridge
        try:
            pid, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            _fail("the command vanished")
        if pid == child:
            sys.stdout.flush()
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))


def _kill(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except OSError:
        pass


if __name__ == "__main__":
    main(sys.argv[1:])
