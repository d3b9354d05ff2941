"""A function run in a forked child while the caller goes on: start-up work on a second core.

``Forked(function, *args)`` forks; the child calls ``function(*args)`` and sends its value
back through a pipe (``marshal``: plain values only, never written to disk), or the
``RingfenceError`` it raised. ``result()`` waits for the child, reaps it, and returns the
value or raises the error again. A child that dies without an answer is an error too
(``failure``): the caller fails closed, never on a half-done result.

Fork only while the process has no other thread (Python's fork is safe then).
"""

from __future__ import annotations

import os

from ringfence import errors

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Forked:
    def __init__(self, function: Callable[..., Any], *args: Any, failure: str = "a background task failed") -> None:
        self._failure = failure
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            import gc

            gc.disable()  # short-lived: a collection would touch (and copy) every page it shares
            os.close(read)
            _child(write, function, args)
        os.close(write)
        self._pid, self._fd = pid, read
        self._done = False

    def result(self) -> Any:
        import marshal

        if self._done:
            raise RuntimeError("result() was already taken")
        self._done = True
        chunks = []
        try:
            while chunk := os.read(self._fd, 1 << 16):
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
        try:
            answer = marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            answer = None
        if not (isinstance(answer, tuple) and answer and answer[0] in ("ok", "error")):
            how = f"signal {-os.waitstatus_to_exitcode(status)}" if os.WIFSIGNALED(status) else "no answer"
            raise errors.SandboxError(f"{self._failure}: its process stopped with {how}")
        if answer[0] == "error":
            _, kind, message, hint = answer
            cls = getattr(errors, kind, None)
            if not (isinstance(cls, type) and issubclass(cls, errors.RingfenceError)):
                cls = errors.SandboxError
            error = cls.__new__(cls)  # its class (and exit code) kept, whatever its own __init__ takes
            errors.RingfenceError.__init__(error, message, hint=hint)
            raise error
        return answer[1]

    def abandon(self) -> None:
        """The caller stops early: close the pipe (the child's write fails) and reap it."""
        if not self._done:
            self._done = True
            os.close(self._fd)
            os.waitpid(self._pid, 0)


def _child(fd: int, function: Callable[..., Any], args: tuple[Any, ...]) -> None:  # pragma: no cover
    import marshal

    try:
        try:
            answer: tuple[Any, ...] = ("ok", function(*args))
        except errors.RingfenceError as exc:
            answer = ("error", type(exc).__name__, exc.message, exc.hint)
        except Exception as exc:  # noqa: BLE001 - told to the parent, which fails closed
            answer = ("error", "SandboxError", f"{type(exc).__name__}: {exc}", None)
        data = marshal.dumps(answer)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BaseException:  # noqa: BLE001 - the parent sees no answer and fails closed
        pass
    finally:
        os._exit(0)
