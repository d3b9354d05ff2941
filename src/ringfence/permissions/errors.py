"""The permissions area's errors: a rule or a settings file that cannot be used.

The engine fails closed: one malformed rule anywhere and it is not built at all, so a
typo in a deny list can never silently allow what it was meant to stop.
"""

from __future__ import annotations

from ringfence.errors import ExitCode, RingfenceError


class PermissionsError(RingfenceError):
    """A permission rule or settings file is malformed; names the file, the key and the rule."""

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None, hint: str | None = None):
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.key = key


class RuleError(PermissionsError):
    """One rule's text is malformed: ``rule`` is the text, ``problem`` what is wrong with it.

    Raised by ``parse_rule``, which knows no file; the caller re-raises with ``at``.
    """

    def __init__(self, rule: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"rule {rule!r}: {problem}", hint=hint)
        self.rule = rule
        self.problem = problem

    def at(self, source: str, key: str) -> PermissionsError:
        """The same error, placed in the file ``source`` at ``key`` (``permissions.deny[2]``)."""
        return PermissionsError(f"rule {self.rule!r}: {self.problem}", source=source, key=key, hint=self.hint)
