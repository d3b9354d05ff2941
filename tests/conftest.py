"""Fixtures shared by the whole suite: the agent account and `ringfence` as a subprocess.

The boundary tests run the real `ringfence run` (real bubblewrap, namespaces, seccomp).
When the suite runs as root, the agent runs as the unprivileged account RINGFENCE_TEST_USER
(default `rftest`, created by `.ci/run` / `tests/run.sh`); when it runs as that account,
ringfence itself is unprivileged. `tests/run.sh` does both.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEST_USER = os.environ.get("RINGFENCE_TEST_USER", "rftest")


@dataclass(frozen=True)
class Agent:
    name: str
    uid: int
    gid: int
    home: Path


@pytest.fixture(scope="session")
def agent() -> Agent:
    """The account the sandboxed command runs as."""
    if os.getuid() != 0:
        entry = pwd.getpwuid(os.getuid())
    else:
        try:
            entry = pwd.getpwnam(TEST_USER)
        except KeyError:
            pytest.skip(f"running as root needs the unprivileged account {TEST_USER!r} (tests/run.sh creates it)")
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (make test installs it)")
    return Agent(entry.pw_name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))


@pytest.fixture
def workspace(agent: Agent) -> Iterator[Path]:
    """A folder the agent owns and can reach (pytest's tmp_path is private to the runner)."""
    path = Path(tempfile.mkdtemp(prefix="rf-ws-", dir="/tmp"))
    os.chmod(path, 0o755)
    os.chown(path, agent.uid, agent.gid) if os.getuid() == 0 else None
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """Outside the workspace: the audit database of a test run."""
    path = Path(tempfile.mkdtemp(prefix="rf-state-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Ringfence:
    """Runs `python -m ringfence ...` the way a person would."""

    def __init__(self, agent: Agent, workspace: Path, state_dir: Path) -> None:
        self.agent = agent
        self.workspace = workspace
        self.audit = state_dir / "audit.db"
        self.policy = state_dir / "policy.toml"
        self.policy_text = ""
        self.write_policy("")

    def write_policy(self, text: str) -> None:
        self.policy_text = text
        self.policy.write_text(f'{text}\n[audit]\npath = "{self.audit}"\n')

    def script(self, text: str, name: str = "probe.py") -> Path:
        """Put a script into the workspace (the sandbox passes no environment to carry it)."""
        path = self.workspace / name
        path.write_text(text)
        path.chmod(0o644)
        return path

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "ringfence", *args]

    def run_args(self, *flags: str) -> list[str]:
        extra = ["--user", self.agent.name] if os.getuid() == 0 else []
        return self.argv("run", "--policy", str(self.policy), "--workspace", str(self.workspace), *extra, *flags)

    def run(self, script: str, *flags: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
        argv = self.run_args(*flags) + ["--", "/bin/sh", "-c", script]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=self.workspace, **kw)  # type: ignore[call-overload, no-any-return]

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), capture_output=True, text=True, timeout=timeout,
                              cwd=self.workspace)


@pytest.fixture
def rf(agent: Agent, workspace: Path, state_dir: Path) -> Ringfence:
    return Ringfence(agent, workspace, state_dir)
from tests.support.fixtures import *  # noqa: F403,E402 - pytest finds fixtures by module attribute
