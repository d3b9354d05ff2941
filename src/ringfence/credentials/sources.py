"""Resolving the secrets of ``[[credentials]]``, outside the boundary.

``SecretStore.resolve`` reads every credential's secret when the run starts, so a missing
variable, an unreadable file or a failing command stops the run before anything ran.

Rules this module keeps:

- no message, repr or warning holds a secret, and none holds anything a command printed
  (its stdout is the secret; its stderr is discarded, as it may quote it);
- ``env:NAME`` is read once, from the environment given to ``resolve``;
- ``file:PATH`` is read once: its first line stripped, or with ``file_lines = "all"`` the
  whole file less its trailing line breaks; at most 64 KiB;
- ``cmd:COMMAND ARGS`` runs without a shell (argv from ``shlex.split``), stdin from
  /dev/null, stderr discarded, stdout capped at 64 KiB, within 30 seconds, in the folder of
  the policy file that defined it, with the environment given to ``resolve``; the secret is
  the first line of stdout, stripped. It runs again once ``cache_ttl`` seconds have passed.
  A refresh that fails keeps the last value and leaves a warning (``take_warnings``), but
  for no longer than 2 × ``cache_ttl`` after the last success; after that ``value`` raises.
  After a failure the command is not run again for ``min(cache_ttl / 4, 30)`` seconds;
- a secret is printable ASCII: it goes into a header line, where a line break would let it
  add fields of its own;
- ``all_values`` keeps every value a credential had during the run (up to 256, oldest
  dropped first), so that a response scrubber and the leak guard know a refreshed-away value.
"""

from __future__ import annotations

import os
import time

from ringfence.credentials.errors import CredentialError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Mapping, Sequence

    from ringfence.policy.model import Credential

OUTPUT_LIMIT = 64 * 1024
COMMAND_TIMEOUT = 30.0
HISTORY_LIMIT = 256
WARNINGS_LIMIT = 100  # kept until taken; the oldest go first


class _Entry:
    """One credential's values over the run. Its repr shows none of them."""

    __slots__ = ("credential", "failure", "fetched", "kind", "lock", "retry_at", "spec", "values")

    def __init__(self, credential: Credential, secret: str, now: float) -> None:
        import threading

        self.credential = credential
        self.kind, _, self.spec = credential.value.partition(":")
        self.values = [secret]
        self.fetched = now  # when the current value was obtained
        self.retry_at = now  # no refresh attempt before this (after a failure)
        self.failure = ""
        self.lock = threading.Lock()

    def __repr__(self) -> str:
        return f"_Entry({self.credential.name!r}, {self.kind}, {len(self.values)} values)"

    def record(self, secret: str, now: float) -> None:
        if secret != self.values[-1]:
            if secret in self.values:
                self.values.remove(secret)
            self.values.append(secret)
            del self.values[:-HISTORY_LIMIT]
        self.fetched = now
        self.failure = ""


class SecretStore:
    """The secrets of a run's credentials, by credential name."""

    __slots__ = ("_clock", "_entries", "_env", "_warnings")

    def __init__(self, entries: dict[str, _Entry], env: Mapping[str, str], clock: Callable[[], float]) -> None:
        self._entries = entries
        self._env = dict(env)
        self._clock = clock
        self._warnings: list[str] = []

    @classmethod
    def resolve(
        cls,
        credentials: Sequence[Credential],
        env: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> SecretStore:
        """Read every credential's secret now; raises ``CredentialError`` for the first that
        cannot be read. ``env`` is the invoker's environment (for ``env:`` and commands)."""
        entries: dict[str, _Entry] = {}
        for credential in credentials:
            entries[credential.name] = _Entry(credential, fetch(credential, env), clock())
        return cls(entries, env, clock)

    def __repr__(self) -> str:
        return f"SecretStore({list(self._entries.values())!r})"

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def value(self, name: str) -> str:
        """The current secret of credential ``name``, refreshing a ``cmd:`` value when due.

        A refresh runs the command here, blocking for up to 30 seconds: a caller on an event
        loop checks ``due`` first and calls this from a worker thread when it is true."""
        entry = self._entry(name)
        if entry.kind == "cmd" and self._clock() - entry.fetched >= entry.credential.cache_ttl:
            with entry.lock:  # one refresh at a time; a waiter then finds the fresh value
                self._refresh(entry)
        return entry.values[-1]

    def refresh_ahead(self, name: str, lead: float) -> None:
        """Refresh a ``cmd:`` value that is within ``lead`` seconds of its TTL, never raising:
        the proxy runs this on a thread of its own, so its event loop finds fresh values and
        never waits for a command (a failure is kept for ``take_warnings``)."""
        entry = self._entry(name)
        ttl = entry.credential.cache_ttl
        now = self._clock()
        if entry.kind != "cmd" or now - entry.fetched < ttl - lead or now < entry.retry_at:
            return
        with entry.lock:
            if self._clock() - entry.fetched < ttl - lead:
                return  # another thread refreshed it meanwhile
            try:
                entry.record(fetch(entry.credential, self._env), self._clock())
            except CredentialError as exc:
                entry.failure = exc.message
                entry.retry_at = self._clock() + min(ttl / 4, 30.0)
                self._warnings.append(f"{exc.message}; will retry")
                del self._warnings[:-WARNINGS_LIMIT]

    def current_header_value(self, name: str) -> str:
        """The header's value from the newest value held, never running a command (for the
        event loop; ``refresh_ahead`` keeps it fresh)."""
        entry = self._entry(name)
        return entry.credential.format.replace("{secret}", entry.values[-1])

    def header_value(self, name: str) -> str:
        """The header's value: the credential's ``format`` with ``{secret}`` replaced."""
        return self._entry(name).credential.format.replace("{secret}", self.value(name))

    def all_values(self, name: str) -> list[str]:
        """Every value credential ``name`` had during the run, oldest first."""
        return list(self._entry(name).values)

    def due(self, name: str) -> bool:
        """Would ``value(name)`` run a command now?"""
        entry = self._entry(name)
        now = self._clock()
        return entry.kind == "cmd" and now - entry.fetched >= entry.credential.cache_ttl and now >= entry.retry_at

    def take_warnings(self) -> list[str]:
        """The warnings since the last call (failed refreshes), for the log; never a secret."""
        warnings, self._warnings = self._warnings, []
        return warnings

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise KeyError(f"no credential named {name!r} in this store") from None

    def _refresh(self, entry: _Entry) -> None:
        now = self._clock()
        ttl = entry.credential.cache_ttl
        if now - entry.fetched < ttl:
            return  # another thread refreshed it meanwhile
        if now >= entry.retry_at:
            try:
                entry.record(fetch(entry.credential, self._env), now)
                return
            except CredentialError as exc:
                entry.failure = exc.message
                entry.retry_at = now + min(ttl / 4, 30.0)
                age = now - entry.fetched
                if age < 2 * ttl:
                    self._warnings.append(f"{exc.message}; still using the value obtained {age:.0f} s ago")
                    del self._warnings[:-WARNINGS_LIMIT]
        if now - entry.fetched >= 2 * ttl:
            raise CredentialError(
                f"{entry.failure}; the last value obtained is older than twice cache_ttl ({2 * ttl:g} s)",
                hint=_hint(entry.credential),
            )


def fetch(credential: Credential, env: Mapping[str, str]) -> str:
    """Read ``credential``'s secret from its source now; raises ``CredentialError``."""
    kind, _, spec = credential.value.partition(":")
    if kind == "env":
        secret = _from_env(credential, spec, env)
    elif kind == "file":
        secret = _from_file(credential, spec)
    elif kind == "cmd":
        secret = _from_command(credential, spec, env)
    else:
        raise _error(credential, f"unknown source kind {kind!r}", "write env:NAME, file:PATH or cmd:COMMAND")
    _check_secret(credential, secret)
    return secret


def _error(credential: Credential, what: str, hint: str) -> CredentialError:
    return CredentialError(f"credential {credential.name!r}: {what}", hint=hint)


def _hint(credential: Credential) -> str:
    where = f" in {credential.source}" if credential.source else ""
    kind, _, spec = credential.value.partition(":")
    if kind == "env":
        return f"set {spec} in the environment ringfence starts in, or change the credential's value{where}"
    if kind == "file":
        return f"check that {spec} exists and is readable, or change the credential's value{where}"
    return (f"run `{spec}` yourself to see what goes wrong (its output is not shown here, in case it holds "
            f"the secret), or change the credential's value{where}")


def _from_env(credential: Credential, name: str, env: Mapping[str, str]) -> str:
    secret = env.get(name)
    if secret is None:
        raise _error(credential, f"environment variable {name} is not set", _hint(credential))
    if not secret.strip():
        raise _error(credential, f"environment variable {name} is empty", _hint(credential))
    return secret.strip()


def _from_file(credential: Credential, path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.readline(OUTPUT_LIMIT + 1) if credential.file_lines == "first" else fh.read(OUTPUT_LIMIT + 1)
    except OSError as exc:
        raise _error(credential, f"file {path} not readable ({exc.strerror})", _hint(credential)) from None
    if len(data) > OUTPUT_LIMIT:
        raise _error(credential, f"file {path} is longer than {OUTPUT_LIMIT // 1024} KiB", _hint(credential))
    text = _decode(credential, data, f"file {path}")
    secret = text.strip() if credential.file_lines == "first" else text.rstrip("\r\n")
    if not secret:
        what = "has an empty first line" if credential.file_lines == "first" else "is empty"
        raise _error(credential, f"file {path} {what}", _hint(credential))
    return secret


def _decode(credential: Credential, data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _error(credential, f"{what} is not UTF-8 text", _hint(credential)) from None


def _check_secret(credential: Credential, secret: str) -> None:
    if not all(" " <= c <= "~" for c in secret):
        raise _error(
            credential,
            "the secret contains a line break, a control or a non-ASCII character, which cannot go in a header",
            _hint(credential) if credential.file_lines == "first" else 'use file_lines = "first"',
        )


def _from_command(credential: Credential, spec: str, env: Mapping[str, str]) -> str:
    import shlex
    import subprocess

    shown = f"command {spec!r}"
    argv = shlex.split(spec)
    cwd = os.path.dirname(credential.source) if os.path.isabs(credential.source) else None
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,  # its own process group: a timeout kills its children too
        )
    except FileNotFoundError:
        raise _error(credential, f"{shown}: {argv[0]} not found", _hint(credential)) from None
    except OSError as exc:
        raise _error(credential, f"{shown} could not start ({exc.strerror})", _hint(credential)) from None
    try:
        output, status = _collect(proc, shown, credential)
    finally:
        _reap(proc)
    if status != 0:
        how = f"exit status {status}" if status > 0 else f"signal {-status}"
        raise _error(credential, f"{shown} failed with {how}", _hint(credential))
    text = _decode(credential, output, f"the output of {shown}")
    if not text.strip():
        raise _error(credential, f"{shown} produced no output", _hint(credential))
    secret = text.split("\n", 1)[0].strip()
    if not secret:
        raise _error(credential, f"{shown} printed an empty first line", _hint(credential))
    return secret


def _collect(proc: subprocess.Popen[bytes], shown: str, credential: Credential) -> tuple[bytes, int]:
    """The command's stdout (at most OUTPUT_LIMIT bytes) and exit status, within the timeout.

    Stops reading once the command has exited and the pipe is drained, even if a daemon it
    started (an agent of some kind) still holds the pipe open."""
    import selectors

    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    deadline = time.monotonic() + COMMAND_TIMEOUT
    chunks: list[bytes] = []

    def take(data: bytes) -> None:
        chunks.append(data)
        if sum(map(len, chunks)) > OUTPUT_LIMIT:
            raise _error(credential, f"{shown} printed more than {OUTPUT_LIMIT // 1024} KiB", _hint(credential))

    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise _error(credential, f"{shown} did not finish within {COMMAND_TIMEOUT:g} s", _hint(credential))
            data = _read(fd) if selector.select(min(left, 0.05)) else None
            if data == b"":
                break  # end of output
            if data:
                take(data)
            elif proc.poll() is not None:
                while data := _read(fd):
                    take(data)
                break
    import subprocess

    try:
        status = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:  # closed its output but went on running
        raise _error(credential, f"{shown} did not finish within {COMMAND_TIMEOUT:g} s", _hint(credential)) from None
    return b"".join(chunks), status


def _read(fd: int) -> bytes | None:
    """What the pipe has now; b"" at its end, None when nothing is there yet."""
    try:
        return os.read(fd, 65536)
    except BlockingIOError:
        return None


def _reap(proc: subprocess.Popen[bytes]) -> None:
    import signal

    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()
