"""The credentials area's error: a secret could not be obtained."""

from __future__ import annotations

from ringfence.errors import ExitCode, RingfenceError


class CredentialError(RingfenceError):
    """A credential's secret could not be resolved or refreshed.

    The message names the credential and its source (the variable, the file, the command)
    and never holds the secret or anything a command printed.
    """

    exit_code = ExitCode.SETUP
