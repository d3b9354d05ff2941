"""`ringfence run --overlay`: every write lands in a layer; `changes`, `apply`, `discard`.

Real runs: the agent writes, deletes, renames, changes modes and makes links inside the
sandbox; the real workspace stays as it was until a person applies the layer.
"""

from __future__ import annotations

import fcntl
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Ringfence

pytestmark = pytest.mark.boundary

AGENT_WORK = (
    "echo changed > a.txt; rm b.txt; echo new > new.txt; mv sub/c.txt sub/d.txt; "
    "mkdir -p made/deep; echo z > made/deep/z.txt; ln -s a.txt link; chmod 755 tool.sh; "
    "printf 'x\\0yz' > blob.bin"
)


@pytest.fixture
def project(rf: Ringfence) -> Ringfence:
    files = {"a.txt": "hello\n", "b.txt": "keep\n", "sub/c.txt": "old name\n", "tool.sh": "echo hi\n"}
    for relpath, text in files.items():
        path = rf.workspace / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    (rf.workspace / "blob.bin").write_bytes(b"x\0y")
    if os.getuid() == 0:
        for path in (rf.workspace / "sub", *rf.workspace.rglob("*")):
            os.chown(path, rf.agent.uid, rf.agent.gid)
    return rf


def _env(rf: Ringfence) -> dict[str, str]:
    return {**os.environ, "RINGFENCE_STATE_DIR": str(rf.audit.parent / "state")}


def _cli(rf: Ringfence, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(rf.argv(*args, "--workspace", str(rf.workspace)), capture_output=True, text=True,
                          timeout=60, cwd=rf.workspace, env=_env(rf))


def _snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            out[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(info.st_mode):
            out[rel] = ("dir", stat.S_IMODE(info.st_mode))
        else:
            out[rel] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return out


def _run(rf: Ringfence, script: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return rf.run(script, "--no-network", "--overlay", *flags, env=_env(rf))


def test_writes_land_in_the_layer_and_the_workspace_is_untouched(project: Ringfence) -> None:
    rf = project
    before = _snapshot(rf.workspace)
    proc = _run(rf, AGENT_WORK + "; cat a.txt; ls")
    assert proc.returncode == 0, proc.stderr
    assert "changed" in proc.stdout and "new.txt" in proc.stdout and "b.txt" not in proc.stdout
    assert _snapshot(rf.workspace) == before
    assert "change(s) wait in layer 'default'" in proc.stderr and "ringfence apply" in proc.stderr

    listed = _cli(rf, "changes", "--json")
    assert listed.returncode == 1, listed.stderr  # like `ringfence scan`: 1 when there is something
    changes = {(c["kind"], c["path"]): c for c in json.loads(listed.stdout)["changes"]}
    assert set(changes) == {("M", "a.txt"), ("D", "b.txt"), ("A", "new.txt"), ("R", "sub/d.txt"), ("A", "made"),
                            ("A", "made/deep"), ("A", "made/deep/z.txt"), ("A", "link"), ("M", "tool.sh"),
                            ("M", "blob.bin")}
    assert changes[("R", "sub/d.txt")]["old"] == "sub/c.txt"
    assert changes[("M", "tool.sh")]["detail"] == "mode 644 -> 755"
    assert changes[("A", "new.txt")]["size"] == 4 and changes[("A", "link")]["detail"] == "a.txt"

    table = _cli(rf, "changes").stdout
    assert "R          9  sub/c.txt -> sub/d.txt" in table and "D             b.txt" in table
    diff = _cli(rf, "changes", "--diff").stdout
    assert "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-hello\n+changed\n" in diff
    assert "Binary files a/blob.bin and b/blob.bin differ (3 -> 4 bytes)" in diff
    assert "rename from sub/c.txt\nrename to sub/d.txt" in diff


def test_apply_makes_the_workspace_what_the_agent_saw(project: Ringfence) -> None:
    rf = project
    assert _run(rf, AGENT_WORK).returncode == 0
    assert _run(rf, "echo again >> new.txt").returncode == 0  # a second run continues the same layer
    applied = _cli(rf, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "the layer is empty and was removed" in applied.stderr
    assert set(_snapshot(rf.workspace)) == {"a.txt", "blob.bin", "link", "made", "made/deep", "made/deep/z.txt",
                                            "new.txt", "sub", "sub/d.txt", "tool.sh"}
    assert (rf.workspace / "new.txt").read_text() == "new\nagain\n"
    assert stat.S_IMODE((rf.workspace / "tool.sh").stat().st_mode) == 0o755
    assert (rf.workspace / "a.txt").read_text() == "changed\n" and not (rf.workspace / "b.txt").exists()
    assert os.readlink(rf.workspace / "link") == "a.txt"
    assert (rf.workspace / "blob.bin").read_bytes() == b"x\0yz"
    for path in rf.workspace.rglob("*"):  # the agent's files stay the agent's, even when root applies
        assert path.lstat().st_uid == rf.agent.uid, path
    assert _cli(rf, "changes").returncode == 2  # no layer any more


def test_apply_some_paths_leaves_the_rest_in_the_layer(project: Ringfence) -> None:
    rf = project
    assert _run(rf, AGENT_WORK).returncode == 0
    applied = _cli(rf, "apply", str(rf.workspace / "a.txt"), "made")
    assert applied.returncode == 0, applied.stderr
    assert (rf.workspace / "a.txt").read_text() == "changed\n"
    assert (rf.workspace / "made/deep/z.txt").read_text() == "z\n"
    assert (rf.workspace / "b.txt").exists() and not (rf.workspace / "new.txt").exists()
    left = {(c["kind"], c["path"]) for c in json.loads(_cli(rf, "changes", "--json").stdout)["changes"]}
    assert ("M", "a.txt") not in left and ("A", "made/deep/z.txt") not in left
    assert ("D", "b.txt") in left and ("A", "new.txt") in left
    nothing = _cli(rf, "apply", "no/such/path")
    assert nothing.returncode == 2 and "no change in the layer under no/such/path" in nothing.stderr


def test_a_file_changed_outside_since_the_run_began_is_refused(project: Ringfence) -> None:
    rf = project
    assert _run(rf, AGENT_WORK).returncode == 0
    (rf.workspace / "a.txt").write_text("the person's own edit\n")
    refused = _cli(rf, "apply")
    assert refused.returncode == 2
    assert "changed in" in refused.stderr and "a.txt" in refused.stderr and "nothing applied" in refused.stderr
    assert (rf.workspace / "b.txt").exists() and not (rf.workspace / "new.txt").exists()  # nothing at all
    forced = _cli(rf, "apply", "--force")
    assert forced.returncode == 0, forced.stderr
    assert (rf.workspace / "a.txt").read_text() == "changed\n"


def test_an_interrupted_apply_can_be_run_again(project: Ringfence) -> None:
    """A file already in place (the apply stopped after renaming it) is recognised, not a conflict."""
    rf = project
    assert _run(rf, AGENT_WORK).returncode == 0
    (rf.workspace / "a.txt").write_text("changed\n")  # as the interrupted apply left it
    (rf.workspace / "b.txt").unlink()
    again = _cli(rf, "apply")
    assert again.returncode == 0, again.stderr
    assert "(2 already in place)" in again.stderr
    assert (rf.workspace / "new.txt").read_text() == "new\n"


def test_discard_drops_the_layer(project: Ringfence) -> None:
    rf = project
    before = _snapshot(rf.workspace)
    assert _run(rf, AGENT_WORK).returncode == 0
    dropped = _cli(rf, "discard")
    assert dropped.returncode == 0 and "discarded" in dropped.stderr
    assert _snapshot(rf.workspace) == before
    assert not list((rf.audit.parent / "state" / "layers").glob("*/default"))
    assert _cli(rf, "discard").returncode == 2


def test_named_layers_are_separate(project: Ringfence) -> None:
    rf = project
    assert _run(rf, "echo one > one.txt", "--layer", "first").returncode == 0
    assert _run(rf, "echo two > two.txt; ls", "--layer", "second").stdout.count("one.txt") == 0
    first = {c["path"] for c in json.loads(_cli(rf, "changes", "--json", "--layer", "first").stdout)["changes"]}
    second = {c["path"] for c in json.loads(_cli(rf, "changes", "--json", "--layer", "second").stdout)["changes"]}
    assert first == {"one.txt"} and second == {"two.txt"}
    missing = _cli(rf, "changes")
    assert missing.returncode == 2 and "its layers: first, second" in missing.stderr


def test_a_layer_in_use_is_refused(project: Ringfence) -> None:
    rf = project
    assert _run(rf, "echo one > one.txt").returncode == 0
    lock = next((rf.audit.parent / "state" / "layers").glob("*/default/lock"))
    with open(lock) as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        busy = _cli(rf, "apply")
        again = _run(rf, "true")
    assert busy.returncode == 2 and "is in use by a run" in busy.stderr
    assert again.returncode == 2 and "is in use by a run" in again.stderr
    assert not (rf.workspace / "one.txt").exists()


def test_set_id_bits_never_reach_the_workspace(project: Ringfence) -> None:
    rf = project
    assert _run(rf, "cp tool.sh suid.sh; chmod 4755 suid.sh; ls -l suid.sh").returncode == 0
    assert _cli(rf, "apply").returncode == 0
    assert stat.S_IMODE((rf.workspace / "suid.sh").stat().st_mode) == 0o755


def test_masking_and_protection_still_hold_over_the_layer(project: Ringfence) -> None:
    rf = project
    secret = "Zq8" + "rT2vLw9XkP4s"
    (rf.workspace / ".env").write_text(f"DB_PASSWORD={secret}\n")
    if os.getuid() == 0:
        os.chown(rf.workspace / ".env", rf.agent.uid, rf.agent.gid)
    proc = _run(rf, "wc -c < .env; echo x >> .env || echo ENV-RO; mkdir -p .git/hooks 2>/dev/null; "
                    "echo evil > .bashrc || echo RC-RO")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "0" and "ENV-RO" in proc.stdout and "RC-RO" in proc.stdout
    assert secret not in proc.stdout + proc.stderr


def test_dry_run_names_the_layer_and_makes_nothing(project: Ringfence) -> None:
    rf = project
    proc = rf.run("true", "--dry-run", "--overlay", "--layer", "review", env=_env(rf))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["overlay"]["layer"] == "review"
    assert not (rf.audit.parent / "state" / "layers").exists()


def test_a_bad_layer_name_is_a_usage_error(project: Ringfence) -> None:
    proc = _run(project, "true", "--layer", "../x")
    assert proc.returncode == 2 and "bad layer name" in proc.stderr


def test_a_folder_deleted_and_made_again_and_a_moved_folder(rf: Ringfence) -> None:
    """rm -rf then mkdir gives an opaque folder in the layer; mv of a folder is a copy."""
    for relpath in ("d/one", "d/sub/two", "e/three", "keep/k"):
        path = rf.workspace / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(relpath + "\n")
    if os.getuid() == 0:
        for path in rf.workspace.rglob("*"):
            os.chown(path, rf.agent.uid, rf.agent.gid)
    assert _run(rf, "rm -rf d; mkdir -p d/sub; echo new > d/sub/fresh; mv e moved").returncode == 0
    listed = {(c["kind"], c["path"]) for c in json.loads(_cli(rf, "changes", "--json").stdout)["changes"]}
    assert listed == {("D", "d/one"), ("D", "d/sub/two"), ("A", "d/sub/fresh"), ("D", "e"), ("A", "moved"),
                      ("A", "moved/three")}
    applied = _cli(rf, "apply")
    assert applied.returncode == 0, applied.stderr
    assert "the layer is empty and was removed" in applied.stderr
    assert set(_snapshot(rf.workspace)) == {"d", "d/sub", "d/sub/fresh", "moved", "moved/three", "keep", "keep/k"}


def test_credential_files_can_be_absent_with_the_overlay(project: Ringfence) -> None:
    rf = project
    (rf.workspace / "deploy").mkdir()
    for relpath in (".env", "deploy/id_rsa"):
        (rf.workspace / relpath).write_text("DB_PASSWORD=Zq8" + "rT2vLw9XkP4s\n")
    (rf.workspace / "deploy" / "notes.md").write_text("notes\n")
    if os.getuid() == 0:
        for path in rf.workspace.rglob("*"):
            os.chown(path, rf.agent.uid, rf.agent.gid)
    rf.write_policy('[workspace]\ncredential_files = "absent"\n')
    refused = rf.run("true", "--no-network", env=_env(rf))
    assert refused.returncode == 2 and "needs --overlay" in refused.stderr
    proc = _run(rf, "ls -a; ls -a deploy; cat .env || echo NO-ENV; echo mine > deploy/new.txt")
    assert proc.returncode == 0, proc.stderr
    listed = proc.stdout.split()
    assert ".env" not in listed and "id_rsa" not in listed and "notes.md" in listed and "NO-ENV" in listed
    assert "2 credential files hidden" in proc.stderr
    changes = {(c["kind"], c["path"]) for c in json.loads(_cli(rf, "changes", "--json").stdout)["changes"]}
    assert changes == {("A", "deploy/new.txt")}  # hidden is not deleted
    assert _cli(rf, "apply").returncode == 0
    assert (rf.workspace / ".env").exists() and (rf.workspace / "deploy/id_rsa").exists()


def test_a_later_run_counts_untouched_files_from_its_own_start(project: Ringfence) -> None:
    """The person edits a file between two runs of one layer; the second run's change to it
    is based on that edit, so applying it is no conflict. A file the first run changed is."""
    rf = project
    assert _run(rf, "echo first > a.txt").returncode == 0
    (rf.workspace / "tool.sh").write_text("echo edited by the person\n")
    (rf.workspace / "a.txt").write_text("the person's edit\n")
    assert _run(rf, "echo 'echo and by the agent' >> tool.sh").returncode == 0
    refused = _cli(rf, "apply")
    assert refused.returncode == 2 and "a.txt" in refused.stderr and "tool.sh" not in refused.stderr
    assert _cli(rf, "apply", "tool.sh").returncode == 0
    assert (rf.workspace / "tool.sh").read_text() == "echo edited by the person\necho and by the agent\n"
