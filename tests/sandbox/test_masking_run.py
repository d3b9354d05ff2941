"""Masking inside `ringfence run`, end to end: credential files appear empty, secrets in other
files appear as a placeholder, the files on disk never change, the values join the proxy's
leak guard, and --no-mask / [workspace] turn it off or narrow it."""

from __future__ import annotations

import http.server
import json
import marshal
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Ringfence

pytestmark = pytest.mark.boundary

PASSWORD = "Zq8" + "rT2vLw9XkP4s"
DATABASE_URL = "postgres://app:" + PASSWORD + "@db.internal:5432/app"
SETTINGS = f'import os\n\nDATABASE_URL = "{DATABASE_URL}"\nDEBUG = True\n'
DOTENV = f"DB_PASSWORD={PASSWORD}\nDEBUG=1\n"


@pytest.fixture
def planted(rf: Ringfence) -> Ringfence:
    (rf.workspace / "config").mkdir()
    for relpath, text in (("config/settings.py", SETTINGS), (".env", DOTENV), ("README.md", "# project\n")):
        path = rf.workspace / relpath
        path.write_text(text)
        path.chmod(0o644)
    if os.getuid() == 0:
        for path in (rf.workspace / "config", *rf.workspace.rglob("*")):
            os.chown(path, rf.agent.uid, rf.agent.gid)
    rf.write_policy("")
    return rf


def _env(rf: Ringfence) -> dict[str, str]:
    return {**os.environ, "RINGFENCE_STATE_DIR": str(rf.audit.parent / "state")}


def test_credential_files_appear_empty_and_secrets_masked(planted: Ringfence) -> None:
    rf = planted
    proc = rf.run("echo env=$(wc -c < .env); cat config/settings.py; cat README.md", "--no-network", env=_env(rf))
    assert proc.returncode == 0, proc.stderr
    assert "env=0" in proc.stdout
    assert 'DATABASE_URL = "RINGFENCE-MASKED"' in proc.stdout or "RINGFENCE-MASKED" in proc.stdout
    assert "DEBUG = True" in proc.stdout and "# project" in proc.stdout  # the rest is as it was
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "credential file" in proc.stderr and "ringfence scan" in proc.stderr
    assert (rf.workspace / ".env").read_text() == DOTENV  # never modified on disk
    assert (rf.workspace / "config/settings.py").read_text() == SETTINGS


def test_masked_files_are_read_only_inside(planted: Ringfence) -> None:
    rf = planted
    proc = rf.run("echo X=1 >> .env && echo WROTE-ENV; echo '# x' >> config/settings.py && echo WROTE-PY; "
                  "rm -f .env && echo REMOVED; echo ok > notes.txt && echo WROTE-NOTES", "--no-network", env=_env(rf))
    assert "WROTE-ENV" not in proc.stdout and "WROTE-PY" not in proc.stdout and "REMOVED" not in proc.stdout
    assert "WROTE-NOTES" in proc.stdout  # the workspace itself stays writable
    assert (rf.workspace / ".env").read_text() == DOTENV


def test_no_mask_shows_the_files_as_they_are(planted: Ringfence) -> None:
    rf = planted
    proc = rf.run("cat .env config/settings.py", "--no-network", "--no-mask", env=_env(rf))
    assert proc.returncode == 0, proc.stderr
    assert PASSWORD in proc.stdout
    assert "ringfence scan" not in proc.stderr


def test_the_policy_turns_masking_off_or_narrows_it(planted: Ringfence) -> None:
    rf = planted
    rf.write_policy("[workspace]\nmask = false\n")
    assert PASSWORD in rf.run("cat .env", "--no-network", env=_env(rf)).stdout
    rf.write_policy('[workspace]\nexclude = ["config/"]\n')
    proc = rf.run("echo env=$(wc -c < .env); cat config/settings.py", "--no-network", env=_env(rf))
    assert "env=0" in proc.stdout  # a credential file is masked whatever exclude says
    assert DATABASE_URL in proc.stdout  # the excluded folder is not


def test_dry_run_shows_the_masks_never_the_values(planted: Ringfence) -> None:
    rf = planted
    proc = subprocess_run(rf, "--dry-run", "--no-network")
    assert proc.returncode == 0, proc.stderr
    mounts = json.loads(proc.stdout)["mounts"]
    kinds = {(m["kind"], m["dest"]) for m in mounts}
    assert ("empty-file", str(rf.workspace / ".env")) in kinds
    assert ("masked-copy", str(rf.workspace / "config/settings.py")) in kinds
    assert PASSWORD not in proc.stdout + proc.stderr


def subprocess_run(rf: Ringfence, *flags: str) -> object:
    import subprocess

    return subprocess.run(rf.run_args(*flags) + ["--", "true"], capture_output=True, text=True, timeout=60,
                          cwd=rf.workspace, env=_env(rf))


def test_a_second_run_reads_only_what_changed(planted: Ringfence) -> None:
    """The scan cache: a clean file unchanged since the last scan is not read again; a
    changed one is, so a secret added between runs is masked."""
    rf = planted
    assert rf.run("true", "--no-network", env=_env(rf)).returncode == 0
    cache = list((rf.audit.parent / "state" / "scan-cache").glob("*.cache"))
    assert len(cache) == 1
    known = marshal.loads(cache[0].read_bytes())
    assert "README.md" in known["clean"][""] and ".env" not in known["clean"][""]  # by folder, then name
    assert {".env", "config/settings.py"} <= set(known["found"])
    assert PASSWORD.encode() not in cache[0].read_bytes()  # where each secret is, never its value
    masked = list((rf.audit.parent / "state" / "scan-cache" / "masked").rglob("*"))
    assert [p for p in masked if p.is_file()], "the masked copies are kept for the next run"
    assert all(PASSWORD not in p.read_text() for p in masked if p.is_file())
    readme = rf.workspace / "README.md"
    readme.write_text(f"connect with {DATABASE_URL}\n")
    proc = rf.run("cat README.md", "--no-network", env=_env(rf))
    assert PASSWORD not in proc.stdout and "RINGFENCE-MASKED" in proc.stdout


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        type(self).seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origin() -> Iterator[http.server.ThreadingHTTPServer]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_workspace_secret_is_refused_by_the_leak_guard(planted: Ringfence,
                                                         origin: http.server.ThreadingHTTPServer) -> None:
    """The agent cannot read it, but it could have typed it (or found it elsewhere): a
    request carrying a value the scan found never leaves."""
    rf = planted
    port = origin.server_address[1]
    script = rf.script(
        f"curl -s -o /dev/null -w 'plain=%{{http_code}}\\n' http://127.0.0.1:{port}/ok\n"
        f"curl -s -o /dev/null -w 'leak=%{{http_code}}\\n' 'http://127.0.0.1:{port}/x?p={PASSWORD}'\n",
        name="probe.sh")
    proc = rf.run(f"sh {script}", "--allow-domain", "127.0.0.1", env=_env(rf))
    assert "plain=200" in proc.stdout, proc.stdout + proc.stderr
    assert "leak=403" in proc.stdout, proc.stdout + proc.stderr
    assert _Recorder.seen == ["/ok"]
    refused = rf.cli("log", "--denied", "--json", "--audit", str(rf.audit))
    assert "a secret found in the workspace" in refused.stdout and PASSWORD not in refused.stdout


def test_a_small_workspace_the_cache_knows_is_scanned_in_process_and_changes_are_seen(
        planted: Ringfence, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first run's scan leaves a cache; the next runs scan a workspace this small in the
    run's own process (no fork), and a secret added in between is masked all the same."""
    rf = planted
    first = rf.run("cat config/settings.py", "--no-network", env=_env(rf))
    assert first.returncode == 0 and "RINGFENCE-MASKED" in first.stdout, first.stderr
    token = "Wp7" + "nQ4xKs9LmT2v"
    (rf.workspace / "deploy.py").write_text(f'QUEUE_URL = "amqp://svc:{token}@mq.internal:5672/jobs"\n')
    os.chmod(rf.workspace / "deploy.py", 0o644)
    second = rf.run("cat deploy.py", "--no-network", env=_env(rf))
    assert second.returncode == 0, second.stderr
    assert token not in second.stdout + second.stderr and "RINGFENCE-MASKED" in second.stdout

    import ringfence._forked
    from ringfence.cli import run as run_cli
    from ringfence.policy.load import Overrides, load_policy

    monkeypatch.setenv("RINGFENCE_STATE_DIR", str(rf.audit.parent / "state"))
    monkeypatch.setattr(ringfence._forked, "Forked", None)  # a fork would fail: none is made
    policy = load_policy(policy_file=rf.policy, overrides=Overrides(workspace=str(rf.workspace)), cwd=rf.workspace)
    masks = run_cli._Masking(policy).result()
    assert masks is not None
    assert any(path.endswith("/.env") for path in masks.empty)
    assert {p.rsplit("/", 1)[-1] for p in masks.rewritten} >= {"settings.py", "deploy.py"}
