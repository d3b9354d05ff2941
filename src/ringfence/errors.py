"""The error tree and the exit codes the command line maps it to.

Every message says what failed, where, and what to do next. Only ``cli`` turns an
error into an exit status; the rest of the code raises.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of ``ringfence`` itself (``run`` otherwise returns the command's status)."""

    OK = 0
    FINDINGS = 1  # a query found something (``log --denied`` with records, ...)
    USAGE = 2  # bad arguments or a bad policy: nothing ran
    SETUP = 3  # the boundary, proxy or audit log could not be set up: nothing ran
    ASK = 4  # ``check``: the decision is to ask a person


class RingfenceError(Exception):
    """Root of every error ringfence raises on purpose."""

    exit_code = ExitCode.SETUP

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  fix: {self.hint}"
        return self.message


class UsageError(RingfenceError):
    """The command line is wrong: nothing ran."""

    exit_code = ExitCode.USAGE


class PolicyError(RingfenceError):
    """A policy file, layer or flag is malformed; names the file, the key and the expected form."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        key: str | None = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = source or "policy"
        if key:
            where = f"{where}: {key}"
        text = f"{where}: {message}"
        if expected:
            text = f"{text} (expected {expected})"
        super().__init__(text, hint=hint)
        self.source = source
        self.key = key
        self.expected = expected


class SandboxError(RingfenceError):
    """The isolation boundary could not be set up as asked."""


class ProxyError(RingfenceError):
    """The egress proxy could not be set up as asked."""


class AuditError(RingfenceError):
    """The audit log could not be opened or written."""
