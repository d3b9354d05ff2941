"""ringfence._forked: a function in a forked child, its value or its error back through a pipe."""

from __future__ import annotations

import os
import signal

import pytest

from ringfence._forked import Forked
from ringfence.errors import ExitCode, PolicyError, SandboxError


def _value(n: int) -> tuple[int, str, bytes]:
    return n * 2, f"pid {os.getpid()}", b"x" * 200_000  # more than a pipe holds at once


def _policy_error() -> None:
    raise PolicyError("bad key", source="/p.toml", key="workspace.mask", expected="true or false")


def _crash() -> None:
    raise ZeroDivisionError("boom")


def _killed() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def test_the_value_comes_back_from_another_process() -> None:
    doubled, where, blob = Forked(_value, 21).result()
    assert doubled == 42 and where != f"pid {os.getpid()}" and len(blob) == 200_000


def test_a_ringfence_error_keeps_its_class_message_and_exit_code() -> None:
    with pytest.raises(PolicyError) as caught:
        Forked(_policy_error).result()
    assert "bad key" in str(caught.value) and caught.value.exit_code == ExitCode.USAGE


def test_any_other_exception_fails_closed_as_a_setup_error() -> None:
    with pytest.raises(SandboxError, match="ZeroDivisionError: boom"):
        Forked(_crash).result()


def test_a_child_that_dies_without_an_answer_fails_closed() -> None:
    with pytest.raises(SandboxError, match="the scan failed: its process stopped with signal 9"):
        Forked(_killed, failure="the scan failed").result()


def test_abandon_reaps_the_child() -> None:
    job = Forked(_value, 1)
    pid = job._pid
    job.abandon()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
