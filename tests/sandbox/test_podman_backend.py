"""`ringfence run --backend podman`: the guide's hardened container, for real (rootful podman
with runc on a debootstrap root file system), joined to ringfence's own network namespace so
the proxy outside is its only way out. The escape suite of the bubblewrap backend, in short:
files, identity, capabilities, network bypass, AF_UNIX, limits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Ringfence
from tests.support.fixtures import ROOTFS
from tests.support.origin import Origin

SECRET = "Zq8" + "rT2vLw9XkP4s"


@pytest.fixture(params=["podman", "gvisor", "docker"])
def podman(request: pytest.FixtureRequest, rf: Ringfence, container_rootfs: Path) -> Ringfence:
    if request.param == "gvisor" and shutil.which("runsc") is None:
        pytest.skip("needs gVisor's runsc (make test installs it)")
    rf.backend = request.param  # type: ignore[attr-defined]
    if request.param == "docker":  # the docker plan, run by podman's docker-compatible command line
        rf.env = request.getfixturevalue("docker_cli")  # type: ignore[attr-defined]
        image = request.getfixturevalue("container_image")
        rf.write_policy(f'[container]\nimage = "{image}"\npids = 64\nmemory = "256M"\n')
    else:
        rf.write_policy(f'[container]\nrootfs = "{container_rootfs}"\npids = 64\nmemory = "256M"\n')
    (rf.workspace / ".env").write_text(f"DB_PASSWORD={SECRET}\n")
    os.chown(rf.workspace / ".env", rf.agent.uid, rf.agent.gid)
    return rf


def _run(rf: Ringfence, code: str, *flags: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    backend = getattr(rf, "backend", "podman")
    argv = rf.run_args("--backend", backend, *flags) + ["--", "python3", "-u", "-c", code]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=rf.workspace,
                          env=getattr(rf, "env", None))


PROBE = r"""
import json, os, socket
out = {"uid": os.getuid(), "cwd": os.getcwd(), "env_file": open(".env").read(),
       "caps": open("/proc/self/status").read().split("CapEff:")[1].split()[0],
       "home": os.environ["HOME"], "secret_in_env": any("Zq8" in v for v in os.environ.values())}
open("agent-output.txt", "w").write("the agent's work\n")
for name, path in (("root", "/etc/agent"), ("bashrc", ".bashrc"), ("hooks", ".git/hooks/pre-commit")):
    try:
        open(path, "a").write("x")
        out[name] = "written"
    except OSError as exc:
        out[name] = exc.strerror
try:
    socket.socket(socket.AF_UNIX)
    out["unix"] = "ok"
except OSError as exc:
    out["unix"] = exc.strerror
out["ssh"] = os.path.exists(os.path.expanduser("~/.ssh")) or os.path.exists("/root/.ssh")
print(json.dumps(out))
"""


def test_identity_files_and_capabilities(podman: Ringfence) -> None:
    rf = podman
    (rf.workspace / ".git").mkdir()
    os.chown(rf.workspace / ".git", rf.agent.uid, rf.agent.gid)
    proc = _run(rf, PROBE, "--no-network")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["uid"] == rf.agent.uid and seen["cwd"] == str(rf.workspace) and seen["home"] == "/home/agent"
    assert seen["env_file"] == "" and not seen["secret_in_env"]  # the workspace's .env is masked
    assert seen["caps"] == "0000000000000000"
    # gVisor checks permissions before the read-only mount: EACCES for a directory root owns
    expected_root = ("Read-only file system", "Permission denied") if rf.backend == "gvisor" else (  # type: ignore[attr-defined]
        "Read-only file system",)
    assert seen["root"] in expected_root and seen["unix"] == "Operation not permitted"
    assert seen["bashrc"] != "written" and seen["hooks"] != "written" and seen["ssh"] is False
    assert (rf.workspace / "agent-output.txt").read_text() == "the agent's work\n"
    assert not (rf.workspace / ".bashrc").exists()  # the placeholder went with the run
    assert SECRET in (rf.workspace / ".env").read_text()


def test_the_proxy_is_the_only_way_out(podman: Ringfence, http_origin: Origin) -> None:
    rf = podman
    port = int(http_origin.url.rsplit(":", 1)[1].rstrip("/"))
    code = (
        "import socket, urllib.request, json\n"
        f"ok = urllib.request.urlopen('http://127.0.0.1:{port}/').status\n"
        "try:\n    urllib.request.urlopen('http://example.com/', timeout=5); other = 200\n"
        "except Exception as exc: other = getattr(exc, 'code', str(exc))\n"
        "s = socket.socket(); s.settimeout(3)\n"
        f"try:\n    s.connect(('127.0.0.1', {port})); direct = 'connected'\n"
        "except OSError as exc: direct = exc.strerror\n"
        "print(json.dumps([ok, other, direct]))\n"
    )
    proc = _run(rf, code, "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [200, 403, "Connection refused"]
    log = rf.cli("log", "--audit", str(rf.audit), "--json")
    decisions = [json.loads(line)["decision"] for line in log.stdout.splitlines()]
    assert "allow" in decisions and "deny" in decisions
    runs = rf.cli("log", "--runs", "--json", "--audit", str(rf.audit))
    run = json.loads(runs.stdout.splitlines()[-1])
    assert run["backend"] == rf.backend and run["degraded"] == [] and run["exit_status"] == 0  # type: ignore[attr-defined]
    assert run["run_id"] == json.loads(log.stdout.splitlines()[-1])["run_id"]


def test_a_fork_bomb_and_a_memory_hog_are_contained(podman: Ringfence) -> None:
    rf = podman
    bomb = (
        "import os, time\npids = []\n"
        "try:\n    for _ in range(1000):\n        pid = os.fork()\n"
        "        if pid == 0:\n            time.sleep(2); os._exit(0)\n        pids.append(pid)\n"
        "except OSError as exc: print('stopped', len(pids), exc.strerror)\n"
        "for pid in pids: os.waitpid(pid, 0)\n"
    )
    proc = _run(rf, bomb, "--no-network")
    if rf.backend == "gvisor" and proc.returncode == 137:  # type: ignore[attr-defined]
        pass  # gVisor: the forks outgrow the memory limit first, which ends the whole sandbox
    else:
        assert proc.returncode == 0, proc.stderr
        stopped = proc.stdout.split()
        assert stopped[0] == "stopped" and int(stopped[1]) < 64
    hog = _run(rf, "x = []\nwhile True: x.append(bytearray(50 << 20))\n", "--no-network")
    assert hog.returncode == 137  # killed by the memory limit (128 + SIGKILL)


def test_the_exit_status_and_the_dry_run(podman: Ringfence) -> None:
    rf = podman
    assert _run(rf, "raise SystemExit(7)", "--no-network").returncode == 7
    plan = subprocess.run(rf.run_args("--backend", rf.backend, "--dry-run") + ["--", "true"],  # type: ignore[attr-defined]
                          capture_output=True, text=True, cwd=rf.workspace)
    assert plan.returncode == 0, plan.stderr
    argv = json.loads(plan.stdout)["argv"]
    joined = " ".join(argv)
    gvisor = rf.backend == "gvisor"  # type: ignore[attr-defined]
    for flag in ("--cap-drop ALL", "--security-opt no-new-privileges", "--read-only", "--memory 268435456",
                 "--ipc private", f"--user {rf.agent.uid}:{rf.agent.gid}", "--ulimit nproc=64",
                 "--security-opt seccomp=$RUNTIME/seccomp.json"):
        assert flag in joined, flag
    if rf.backend == "docker":  # type: ignore[attr-defined]
        # docker cannot join ringfence's namespace: no network, the bridge to the proxy's socket
        assert argv[:2] == ["docker", "run"] and "--network none" in joined and "--rootfs" not in joined
        assert "--runtime" not in joined and "--read-only-tmpfs" not in joined and "--pids-limit 64" in joined
        for name in ("bridge.py", "proxy.sock", "seccomp.bpf"):
            assert f"$RUNTIME/{name}:/run/ringfence/{name}:ro" in joined, name
        tail = argv[argv.index("--pull"):]
        assert tail[:3] == ["--pull", "never", "localhost/ringfence-test-rootfs:latest"]
        assert tail[3:] == ["/run/ringfence/bridge.py", "3128", "/run/ringfence/proxy.sock",
                            "/run/ringfence/seccomp.bpf", "--", "true"]
        assert argv[argv.index("--entrypoint") + 1] == "python3"
        assert any("--userns-remap" in note for note in json.loads(plan.stdout)["notes"])
    elif gvisor:
        assert "--runtime runsc --runtime-flag platform=ptrace --runtime-flag network=host" in joined
        assert "--runtime-flag oci-seccomp" in joined and "--pids-limit 1088" in joined
    else:
        assert "--runtime runc" in joined and "--pids-limit 64" in joined
    assert "/tmp:rw,noexec,nosuid" in joined and SECRET not in plan.stdout
    # ringfence's own plan meets its own linter's baseline: only the writable workspace (the
    # policy's choice) is worth a warning
    import shlex

    lint = subprocess.run(rf.argv("lint", "-"), input=shlex.join(a.replace("$RUNTIME", "/run/rf") for a in argv),
                          capture_output=True, text=True, timeout=60)
    rules = {line.split()[1] for line in lint.stdout.splitlines() if line.startswith(("warning", "error"))}
    assert rules == {"RF-LINT-CODE-RW"}, lint.stdout + lint.stderr


def test_without_a_root_file_system_nothing_runs(rf: Ringfence, container_rootfs: Path) -> None:
    rf.write_policy("")
    proc = _run(rf, "print('ran')", "--no-network")
    assert proc.returncode == 3 and "ran" not in proc.stdout
    assert "[container] image" in proc.stderr


def _rootless(rf: Ringfence) -> Path:
    if os.getuid() == 0:
        pytest.skip("runs when ringfence itself is unprivileged (tests/run.sh's second phase)")
    if shutil.which("podman") is None or not (ROOTFS / "usr/bin/python3").exists():
        pytest.skip("needs podman and the root file system the root phase makes (tests/run.sh)")
    rf.write_policy(f'[container]\nrootfs = "{ROOTFS}"\npids = 64\n')
    (rf.workspace / ".env").write_text(f"DB_PASSWORD={SECRET}\n")
    return ROOTFS


@pytest.mark.boundary
def test_rootless_podman_names_what_it_cannot_do_and_runs_only_when_allowed(rf: Ringfence) -> None:
    _rootless(rf)
    refused = _run(rf, "print('ran')", "--no-network")
    assert refused.returncode == 3 and "ran" not in refused.stdout
    for gap in ("non-root user", "memory limit", "CPU limit", "pids limit"):
        assert gap in refused.stderr, gap
    assert "--allow-degraded" in refused.stderr
    gvisor = subprocess.run(rf.run_args("--backend", "gvisor", "--allow-degraded", "--no-network") + ["--", "true"],
                            capture_output=True, text=True, timeout=60, cwd=rf.workspace)
    assert gvisor.returncode == 3 and "rootful podman" in gvisor.stderr
    layered = subprocess.run(rf.run_args("--backend", "podman", "--allow-degraded", "--overlay", "--no-network")
                             + ["--", "true"], capture_output=True, text=True, timeout=60, cwd=rf.workspace)
    assert layered.returncode == 2 and "rootful podman or gVisor" in layered.stderr


@pytest.mark.boundary
def test_rootless_podman_with_allow_degraded(rf: Ringfence, http_origin: Origin) -> None:
    _rootless(rf)
    port = int(http_origin.url.rsplit(":", 1)[1].rstrip("/"))
    code = PROBE.replace("print(json.dumps(out))", (
        "import urllib.request\n"
        f"out['origin'] = urllib.request.urlopen('http://127.0.0.1:{port}/').status\n"
        "try:\n    urllib.request.urlopen('http://example.com/', timeout=5); out['other'] = 200\n"
        "except Exception as exc: out['other'] = getattr(exc, 'code', str(exc))\n"
        "s = socket.socket(); s.settimeout(3)\n"
        f"try:\n    s.connect(('127.0.0.1', {port})); out['direct'] = 'connected'\n"
        "except OSError as exc: out['direct'] = exc.strerror\n"
        "print(json.dumps(out))\n"))
    proc = _run(rf, code, "--allow-degraded", "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    named = [line for line in proc.stderr.splitlines() if line.startswith("ringfence: degraded")]
    assert len(named) == 4 and any("memory limit" in line for line in named), proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["uid"] == 0 and seen["caps"] == "0000000000000000"  # podman's uid 0: ourselves, no capabilities
    assert seen["env_file"] == "" and not seen["secret_in_env"] and seen["unix"] == "Operation not permitted"
    assert seen["root"] in ("Read-only file system", "Permission denied") and seen["bashrc"] != "written"
    assert (seen["origin"], seen["other"], seen["direct"]) == (200, 403, "Connection refused")
    written = rf.workspace / "agent-output.txt"
    assert written.read_text() == "the agent's work\n" and written.stat().st_uid == os.getuid()
    assert SECRET in (rf.workspace / ".env").read_text() and SECRET not in proc.stdout + proc.stderr
    # the audit log keeps what the run ran without, and `log --runs` shows it
    runs = rf.cli("log", "--runs", "--json", "--audit", str(rf.audit))
    last = json.loads(runs.stdout.splitlines()[-1])
    assert last["backend"] == "podman" and len(last["degraded"]) == 4 and last["exit_status"] == 0
    table = rf.cli("log", "--runs", "--audit", str(rf.audit)).stdout
    assert "yes (4)" in table and "without: the memory limit" in table
    only = rf.cli("log", "--runs", "--degraded", "--json", "--audit", str(rf.audit)).stdout.splitlines()
    assert only and all(json.loads(line)["degraded"] for line in only)


def test_a_terminal_reaches_the_agent(podman: Ringfence) -> None:
    """With a terminal on stdin and stdout the container gets one (``--tty``), and what is
    typed reaches the agent."""
    import pty
    import select
    import time

    rf = podman
    code = "import os, sys; line = sys.stdin.readline(); print('TTY', os.isatty(0), os.isatty(1), line.strip().upper())"
    argv = rf.run_args("--backend", rf.backend, "--no-network") + ["--", "python3", "-c", code]  # type: ignore[attr-defined]
    env = getattr(rf, "env", None) or dict(os.environ)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.chdir(rf.workspace)
        os.execvpe(argv[0], argv, env)
    out = b""
    os.write(fd, b"typed here\n")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, out
    assert b"TTY True True TYPED HERE" in out, out


def test_the_write_layer_with_a_container(podman: Ringfence) -> None:
    """--overlay: podman runs in the mount namespace where ringfence mounted the layer, so
    the agent's writes land in the layer and the workspace stays as it was until applied."""
    rf = podman
    (rf.workspace / "a.txt").write_text("hello\n")
    os.chown(rf.workspace / "a.txt", rf.agent.uid, rf.agent.gid)
    env = {**(getattr(rf, "env", None) or os.environ), "RINGFENCE_STATE_DIR": str(rf.audit.parent / "state")}
    argv = rf.run_args("--backend", rf.backend, "--no-network", "--overlay") + [  # type: ignore[attr-defined]
        "--", "sh", "-c", "echo changed > a.txt && echo new > new.txt && cat a.txt"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=rf.workspace, env=env)
    if rf.backend == "docker":  # type: ignore[attr-defined]
        assert proc.returncode == 2 and "rootful podman or gVisor" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "changed" and "wait in layer 'default'" in proc.stderr
    assert (rf.workspace / "a.txt").read_text() == "hello\n" and not (rf.workspace / "new.txt").exists()
    changes = subprocess.run(rf.argv("changes", "--json", "--workspace", str(rf.workspace)), capture_output=True,
                             text=True, timeout=60, cwd=rf.workspace, env=env)
    listed = {entry["path"]: entry["kind"] for entry in json.loads(changes.stdout)["changes"]}
    assert listed.get("a.txt") == "M" and listed.get("new.txt") == "A", changes.stdout
    mounts = open("/proc/self/mountinfo").read()
    assert str(rf.workspace) not in mounts  # the layer was never mounted where the host sees it


def test_a_signal_to_ringfence_reaches_the_agent(podman: Ringfence) -> None:
    """SIGTERM to ringfence reaches the command in the container (podman's --sig-proxy; under
    docker, the bridge as the container's first process passes it on), and its status is the run's."""
    import signal

    rf = podman
    code = ("import signal, sys, time\n"
            "def stop(*_):\n    print('got term', flush=True); sys.exit(3)\n"
            "signal.signal(signal.SIGTERM, stop)\nprint('ready', flush=True)\ntime.sleep(60)\n")
    # with the network on, so that under docker the bridge is the container's first process
    argv = rf.run_args("--backend", rf.backend, "--allow-domain", "example.com") + [  # type: ignore[attr-defined]
        "--", "python3", "-u", "-c", code]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=rf.workspace,
                            env=getattr(rf, "env", None))
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 3, err
    assert "got term" in out


def test_the_docker_bridge_keeps_no_connection_open(podman: Ringfence, http_origin: Origin) -> None:
    """Under docker the bridge relays every connection to the proxy's socket; after many, it
    holds no more descriptors than before (it lives as long as the agent)."""
    rf = podman
    if rf.backend != "docker":  # type: ignore[attr-defined]
        pytest.skip("the bridge is the docker back-end's")
    port = int(http_origin.url.rsplit(":", 1)[1].rstrip("/"))
    code = (
        "import os, urllib.request\n"
        "def fds(): return len(os.listdir('/proc/1/fd'))\n"
        f"urllib.request.urlopen('http://127.0.0.1:{port}/').read()\n"
        "before = fds()\n"
        f"statuses = {{urllib.request.urlopen('http://127.0.0.1:{port}/').status for _ in range(40)}}\n"
        "import time; time.sleep(0.5)\n"
        "print(before, fds(), sorted(statuses))\n"
    )
    proc = _run(rf, code, "--allow-domain", "127.0.0.1")
    assert proc.returncode == 0, proc.stderr
    before, after, statuses = proc.stdout.split(maxsplit=2)
    assert statuses.strip() == "[200]" and int(after) <= int(before), proc.stdout


def test_the_pause_process_is_believed_only_from_a_folder_of_our_own(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The pid rootless podman leaves in its runtime folder sends the helper into a user
    namespace: it is read only from a folder that is ours and nobody else may write."""
    import time

    from ringfence.sandbox import podman as planner

    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare")
    other = subprocess.Popen(["unshare", "--user", "sleep", "30"])  # ours, in a user namespace of its own
    try:
        for _ in range(100):
            if os.readlink(f"/proc/{other.pid}/ns/user") != os.readlink("/proc/self/ns/user"):
                break
            time.sleep(0.02)
        folder = tmp_path / "run"
        (folder / "libpod/tmp").mkdir(parents=True)
        (folder / "libpod/tmp/pause.pid").write_text(str(other.pid))
        for path in (folder, folder / "libpod", folder / "libpod/tmp"):
            path.chmod(0o700)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
        found = planner._find_pause()
        assert found == other.pid
        (folder / "libpod/tmp").chmod(0o777)  # anyone could have planted the pid
        assert planner._find_pause() != other.pid
        (folder / "libpod/tmp").chmod(0o700)
        (folder / "libpod/tmp/pause.pid").write_text(str(os.getpid()))  # our own namespace: not podman's
        assert planner._find_pause() != os.getpid()
    finally:
        other.kill()
        other.wait()
