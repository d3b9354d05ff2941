"""The real boundary: `ringfence run` under bubblewrap, and the escape attempts it must stop.

Every test starts a real sandbox. The suite runs as root (the agent then runs as the test
account) and again as that unprivileged account (see tests/run.sh).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import Agent, Ringfence

pytestmark = pytest.mark.boundary
PY = "/usr/bin/python3"  # reachable by every account (the venv's interpreter may not be)


def test_exit_status_and_output(rf: Ringfence) -> None:
    proc = rf.run("echo out; echo err >&2; exit 7")
    assert proc.returncode == 7, proc.stderr
    assert proc.stdout == "out\n"
    assert "err" in proc.stderr


def test_killed_by_signal_is_128_plus_n(rf: Ringfence) -> None:
    assert rf.run("kill -TERM $$").returncode == 128 + signal.SIGTERM


def test_runs_unprivileged_without_capabilities(rf: Ringfence, agent: Agent) -> None:
    proc = rf.run("id -u; grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status")
    lines = proc.stdout.split("\n")
    assert lines[0] == str(agent.uid) and agent.uid != 0
    assert "CapEff:\t0000000000000000" in proc.stdout
    assert "CapPrm:\t0000000000000000" in proc.stdout
    assert "NoNewPrivs:\t1" in proc.stdout
    assert "Seccomp:\t2" in proc.stdout


def test_workspace_writable_rest_read_only(rf: Ringfence, agent: Agent) -> None:
    proc = rf.run(
        "echo data > notes.txt && echo ok-workspace;"
        "echo x > /etc/rf-test 2>/dev/null || echo no-etc;"
        f"echo x > {agent.home}/rf-test 2>/dev/null || echo no-home;"
        "echo x > /tmp/t && echo ok-tmp"
    )
    assert proc.stdout.split() == ["ok-workspace", "no-etc", "no-home", "ok-tmp"], proc.stderr
    assert (rf.workspace / "notes.txt").read_text() == "data\n"
    assert not (agent.home / "rf-test").exists()


def test_private_tmp_is_empty_and_not_the_hosts(rf: Ringfence, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"rf-host-marker-{os.getpid()}"
    marker.write_text("host")
    try:
        proc = rf.run(f"test -e {marker} && echo visible || echo hidden; echo x > /tmp/inside")
        assert proc.stdout.strip() == "hidden"
        assert not Path("/tmp/inside").exists()
    finally:
        marker.unlink()


@pytest.mark.parametrize(
    "target",
    [".bashrc", ".git/hooks/pre-commit", ".git/config", ".envrc", ".mcp.json", ".vscode/settings.json",
     ".claude/commands/evil.md", ".gitmodules", "sub/deep/.git/hooks/post-checkout"],
)
def test_protected_names_cannot_be_written(rf: Ringfence, target: str) -> None:
    ws = rf.workspace
    (ws / "sub/deep/.git/hooks").mkdir(parents=True)
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", f"{rf.agent.uid}:{rf.agent.gid}", str(ws)], check=True)
    proc = rf.run(f"mkdir -p $(dirname {target}) 2>/dev/null; echo evil > {target} && echo WROTE")
    assert "WROTE" not in proc.stdout, proc.stderr
    assert not (ws / target).exists() or (ws / target).read_text() == ""


def test_protected_items_cannot_be_renamed_away(rf: Ringfence) -> None:
    (rf.workspace / ".git/hooks").mkdir(parents=True)
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", f"{rf.agent.uid}:{rf.agent.gid}", str(rf.workspace)], check=True)
    proc = rf.run("mv .git .git-old 2>&1; mkdir -p .git/hooks 2>/dev/null; echo evil > .git/hooks/pre-commit && echo WROTE")
    assert "WROTE" not in proc.stdout
    assert (rf.workspace / ".git").is_dir() and not (rf.workspace / ".git-old").exists()


def test_placeholders_are_removed_after_the_run(rf: Ringfence) -> None:
    (rf.workspace / "keep.txt").write_text("keep")
    before = sorted(p.name for p in rf.workspace.iterdir())
    proc = rf.run("ls -a > /dev/null")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in rf.workspace.iterdir()) == before


def test_existing_protected_files_stay_readable(rf: Ringfence) -> None:
    (rf.workspace / ".envrc").write_text("export A=1\n")
    proc = rf.run("cat .envrc")
    assert proc.stdout == "export A=1\n"


def test_policy_file_cannot_be_edited(rf: Ringfence) -> None:
    policy = rf.workspace / "ringfence.toml"
    policy.write_text('[network]\nallow = ["pypi.org"]\n')
    if os.getuid() == 0:
        os.chown(policy, rf.agent.uid, rf.agent.gid)
    argv = rf.argv("run", "--workspace", str(rf.workspace), *(["--user", rf.agent.name] if os.getuid() == 0 else []),
                   "--", "/bin/sh", "-c", 'echo \'allow = ["*.com"]\' >> ringfence.toml && echo WROTE')
    env = dict(os.environ, XDG_STATE_HOME=str(rf.audit.parent))
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=rf.workspace, timeout=60, env=env)
    assert "WROTE" not in proc.stdout
    assert policy.read_text() == '[network]\nallow = ["pypi.org"]\n'


def test_deny_read_and_symlinks_out_of_the_workspace(rf: Ringfence, tmp_path: Path, state_dir: Path) -> None:
    secret_dir = state_dir / "keys"
    secret_dir.mkdir()
    (secret_dir / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    secret_file = state_dir / "token.txt"
    secret_file.write_text("tok-123")
    os.chmod(state_dir, 0o755)
    for p in (secret_dir, secret_dir / "id_rsa", secret_file):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    (rf.workspace / "link-key").symlink_to(secret_dir / "id_rsa")
    (rf.workspace / "link-dir").symlink_to(secret_dir)
    rf.write_policy(f'[filesystem]\ndeny_read = ["{secret_dir}", "{secret_file}"]\n')
    proc = rf.run(f"cat link-key; cat link-dir/id_rsa; ls {secret_dir}; cat {secret_file}; echo end")
    assert "BEGIN" not in proc.stdout and "tok-123" not in proc.stdout
    assert proc.stdout.strip() == "end"
    assert (secret_dir / "id_rsa").read_text().startswith("-----BEGIN")  # the host file is untouched


def test_builtin_credential_stores_are_hidden(rf: Ringfence, agent: Agent) -> None:
    """The agent's own ~/.ssh (readable by it without ringfence) is empty inside."""
    ssh = agent.home / ".ssh"
    if not agent.home.is_dir():
        pytest.skip(f"the test account has no home folder ({agent.home})")
    created = not ssh.exists()
    key = ssh / "rf_test_key"
    try:
        ssh.mkdir(mode=0o700, exist_ok=True)
        key.write_text("PRIVATE-KEY-MATERIAL")
        if os.getuid() == 0:
            os.chown(ssh, agent.uid, agent.gid)
            os.chown(key, agent.uid, agent.gid)
        proc = rf.run(f"cat {key} 2>&1; ls -A {ssh} | wc -l; echo x > {ssh}/new 2>/dev/null || echo ro")
        assert "PRIVATE-KEY-MATERIAL" not in proc.stdout
        assert proc.stdout.split()[-2:] == ["0", "ro"]
    finally:
        key.unlink(missing_ok=True)
        if created:
            ssh.rmdir()


def test_symlink_to_home_dotfile_gives_nothing(rf: Ringfence, agent: Agent) -> None:
    (rf.workspace / "rc").symlink_to(agent.home / ".bashrc")
    proc = rf.run("echo evil >> rc && echo WROTE")
    assert "WROTE" not in proc.stdout


def test_only_listed_environment_passes(rf: Ringfence) -> None:
    env = dict(os.environ, AWS_SECRET_ACCESS_KEY="AKIAsecretvalue", LANG="C.UTF-8")
    proc = rf.run("env", env=env)
    assert "AKIAsecretvalue" not in proc.stdout
    assert "LANG=C.UTF-8" in proc.stdout
    assert "RINGFENCE=1" in proc.stdout


def test_proc_shows_only_the_sandbox(rf: Ringfence) -> None:
    proc = rf.run(f"ls /proc | grep -E '^[0-9]+$' | sort -n | tr '\\n' ' '; cat /proc/{os.getpid()}/environ 2>&1 | head -c 100")
    pids = [int(p) for p in proc.stdout.split() if p.isdigit()]
    assert max(pids) < 50, proc.stdout  # a fresh pid namespace: only a handful of low pids
    assert "PATH=" not in proc.stdout


def test_nested_user_namespace_refused(rf: Ringfence) -> None:
    proc = rf.run("unshare -r true && echo NESTED || echo refused")
    assert proc.stdout.strip() == "refused"


def test_mount_refused_and_setuid_gives_nothing(rf: Ringfence) -> None:
    # /bin/mount is setuid root on Debian: with no_new_privs it runs as the agent.
    proc = rf.run("mount -t tmpfs none /mnt 2>&1 && echo MOUNTED; "
                  f"{PY} -c 'import ctypes; print(\"rc\", ctypes.CDLL(None).mount(b\"x\", b\"/mnt\", b\"tmpfs\", 0, None))'")
    assert "MOUNTED" not in proc.stdout
    assert "rc -1" in proc.stdout


def test_raw_sockets_and_outside_udp_dns_fail(rf: Ringfence) -> None:
    script = (
        "import socket, errno\n"
        "try:\n socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print('RAW')\n"
        "except OSError as e: print('raw', errno.errorcode[e.errno])\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n s.sendto(b'\\x00' * 12, ('8.8.8.8', 53)); print('SENT')\n"
        "except OSError as e: print('udp', errno.errorcode[e.errno])\n"
        "try:\n socket.getaddrinfo('example.com', 443); print('RESOLVED')\n"
        "except OSError as e: print('dns failed')\n"
    )
    proc = rf.run(f"{PY} {rf.script(script)}")
    assert "RAW" not in proc.stdout and "SENT" not in proc.stdout and "RESOLVED" not in proc.stdout
    assert "udp ENETUNREACH" in proc.stdout, proc.stdout + proc.stderr
    assert "dns failed" in proc.stdout


def test_direct_connection_to_a_host_listener_fails(rf: Ringfence) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    try:
        proc = rf.run(f"curl -s -m 5 http://127.0.0.1:{port}/ ; echo rc=$?", "--no-network")
        assert "rc=7" in proc.stdout  # connection refused: the sandbox's loopback is its own
    finally:
        server.close()


def _abstract_listener() -> tuple[socket.socket, str]:
    name = f"rf-test-{os.getpid()}-{time.monotonic_ns()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind("\0" + name)
    server.listen(1)
    return server, name


UNIX_PROBE = (
    "import socket, sys, errno\n"
    "for target in sys.argv[1:]:\n"
    "  try:\n"
    "    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "    s.connect(target.replace('@', '\\0', 1)); print('CONNECTED', target)\n"
    "  except OSError as e: print('refused', errno.errorcode.get(e.errno, e.errno))\n"
    "a, b = socket.socketpair(); a.send(b'x'); print('socketpair', b.recv(1).decode())\n"
)


@pytest.mark.parametrize("mode", ["none", "sandbox"])
def test_host_unix_sockets_unreachable(rf: Ringfence, mode: str) -> None:
    abstract, name = _abstract_listener()
    path_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock_path = rf.workspace / "host.sock"
    path_sock.bind(str(sock_path))
    os.chmod(sock_path, 0o777)
    path_sock.listen(1)
    tmp_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp_path = f"/tmp/rf-host-{os.getpid()}.sock"
    tmp_sock.bind(tmp_path)
    os.chmod(tmp_path, 0o777)
    tmp_sock.listen(1)
    try:
        rf.write_policy(f'[network]\nunix_sockets = "{mode}"\n')
        proc = rf.run(f"{PY} {rf.script(UNIX_PROBE)} @{name} {sock_path} {tmp_path} /run/dbus/system_bus_socket")
        assert "CONNECTED" not in proc.stdout, proc.stdout
        assert proc.stdout.count("refused") == 4, proc.stdout + proc.stderr
        assert "socketpair x" in proc.stdout  # Claude Code's Bash tool needs socketpair()
        if mode == "none":
            assert "refused EPERM" in proc.stdout
    finally:
        for s in (abstract, path_sock, tmp_sock):
            s.close()
        os.unlink(tmp_path)


def test_sandbox_mode_allows_unix_sockets_created_inside(rf: Ringfence) -> None:
    rf.write_policy('[network]\nunix_sockets = "sandbox"\n')
    script = (
        "import socket\n"
        "srv = socket.socket(socket.AF_UNIX); srv.bind('/tmp/in.sock'); srv.listen(1)\n"
        "c = socket.socket(socket.AF_UNIX); c.connect('/tmp/in.sock'); print('inside ok')\n"
    )
    proc = rf.run(f"{PY} {rf.script(script)}")
    assert proc.stdout.strip() == "inside ok", proc.stderr


def test_tiocsti_cannot_inject_into_the_terminal(rf: Ringfence) -> None:
    """CVE-2017-5226: a sandboxed process pushing keystrokes into the caller's terminal."""
    script = (
        "import fcntl, termios, errno\n"
        "try:\n fcntl.ioctl(0, termios.TIOCSTI, b'X'); print('INJECTED')\n"
        "except OSError as e: print('tiocsti', errno.errorcode[e.errno])\n"
    )
    output = _on_a_terminal([sys.executable, *rf.run_args()[1:], "--", PY, "-c", script], rf.workspace)
    assert b"INJECTED" not in output
    assert b"tiocsti EPERM" in output, output


def _started(rf: Ringfence, script: str, *flags: str, **popen: object) -> subprocess.Popen[str]:
    """Start `ringfence run` on ``script`` and wait until it prints ``started``."""
    argv = rf.run_args(*flags) + ["--", "/bin/sh", "-c", script]
    popen.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, cwd=rf.workspace, **popen)  # type: ignore[call-overload]
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    return proc  # type: ignore[no-any-return]


def test_sigterm_reaches_the_agent_and_everything_is_cleaned_up(rf: Ringfence) -> None:
    marker = rf.workspace / "got-term"
    script = f"trap 'echo term > {marker}; exit 3' TERM; echo started; while :; do sleep 0.1; done"
    tmpdir = Path(tempfile.mkdtemp(prefix="rf-tmpdir-"))  # this run's own TMPDIR: its runtime folder alone
    tmpdir.chmod(0o755)
    proc = _started(rf, script, env={**os.environ, "TMPDIR": str(tmpdir)})
    assert list(tmpdir.glob("ringfence-*")), "the run keeps its runtime folder under TMPDIR while it runs"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    assert marker.read_text() == "term\n"
    leftovers = subprocess.run(["pgrep", "-f", "got-term"], capture_output=True, text=True).stdout.split()
    assert [p for p in leftovers if int(p) != os.getpid()] == []
    assert list(tmpdir.iterdir()) == []
    tmpdir.rmdir()


def test_sigint_is_forwarded_not_fatal(rf: Ringfence) -> None:
    script = "trap 'echo got-int; exit 0' INT; echo started; while :; do sleep 0.1; done"
    proc = _started(rf, script)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "got-int" in out


def test_bad_policy_runs_nothing(rf: Ringfence) -> None:
    rf.write_policy('[network]\nallow = ["*"]\n')
    proc = rf.run(f"touch {rf.workspace}/ran")
    assert proc.returncode == 2
    assert str(rf.policy) in proc.stderr and "network.allow" in proc.stderr
    assert not (rf.workspace / "ran").exists()


def test_unwritable_audit_log_runs_nothing(rf: Ringfence) -> None:
    rf.policy.write_text('[audit]\npath = "/proc/version/audit.db"\n')
    proc = rf.run(f"touch {rf.workspace}/ran")
    assert proc.returncode == 3, proc.stderr
    assert "audit" in proc.stderr.lower()
    assert not (rf.workspace / "ran").exists()


def test_missing_workspace_runs_nothing(rf: Ringfence) -> None:
    argv = rf.argv("run", "--policy", str(rf.policy), "--workspace", "/nonexistent/ws", "--", "true")
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert "/nonexistent/ws" in proc.stderr and "fix:" in proc.stderr


def test_dry_run_prints_the_plan_and_runs_nothing(rf: Ringfence) -> None:
    import json

    env = dict(os.environ, GITHUB_TOKEN="ghp_supersecretvalue")
    argv = rf.run_args("--dry-run") + ["--", "/bin/sh", "-c", f"touch {rf.workspace}/ran"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["backend"] == "bwrap"
    assert "--disable-userns" in plan["argv"]
    assert "HTTPS_PROXY" in plan["env"]
    assert any(s["syscall"] == "io_uring_setup" for s in plan["seccomp"])
    assert "ghp_supersecretvalue" not in proc.stdout
    assert not (rf.workspace / "ran").exists()
    assert not (rf.workspace / ".bashrc").exists()  # a dry run creates no placeholder either


def _on_a_terminal(argv: list[str], cwd: Path, send: bytes = b"", timeout: float = 30) -> bytes:
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.execv(argv[0], argv)
    if send:
        os.write(fd, send)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    os.waitpid(pid, 0)
    return output


def test_the_terminal_passes_through(rf: Ringfence) -> None:
    """An interactive agent gets the terminal: it is a tty, has a size, and reads typed input."""
    script = "[ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size; read line; echo got:$line"
    out = _on_a_terminal([sys.executable, *rf.run_args()[1:], "--", "/bin/sh", "-c", script], rf.workspace,
                         send=b"hello\n")
    assert b"is-a-tty" in out, out
    assert b"got:hello" in out, out


def test_a_dead_proxy_stops_the_run(rf: Ringfence) -> None:
    """Fail closed: if the proxy dies mid-run, the sandbox is stopped and the run fails (3)."""
    # the proxy starts on the first connection: make one
    script = "curl -s -o /dev/null http://blocked.example/; echo started; while :; do sleep 0.1; done"
    proc = _started(rf, script, "--allow-domain", "127.0.0.1")
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    proxies = [int(c) for c in children if "bwrap" not in os.readlink(f"/proc/{c}/exe")]
    assert len(proxies) == 1, children
    os.kill(proxies[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert "proxy exited unexpectedly" in err and "sandbox was stopped" in err


def test_placeholders_of_a_killed_run_are_removed_by_the_next(rf: Ringfence) -> None:
    before = sorted(p.name for p in rf.workspace.iterdir())
    env = dict(os.environ, XDG_STATE_HOME=str(rf.audit.parent / "state"))
    proc = _started(rf, "echo started; sleep 60", env=env, stderr=None)
    assert (rf.workspace / ".bashrc").exists()  # a placeholder, while the run lives
    proc.kill()  # no cleanup: the journal remembers what was made
    proc.wait(timeout=30)
    time.sleep(0.5)  # --die-with-parent ends the sandbox
    assert (rf.workspace / ".bashrc").exists()
    again = subprocess.run(rf.run_args() + ["--", "true"], capture_output=True, text=True, timeout=60,
                           cwd=rf.workspace, env=env)
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in rf.workspace.iterdir()) == before



def test_the_proxy_starts_only_when_the_agent_connects(rf: Ringfence) -> None:
    """No connection, no proxy process: a command that never uses the network pays nothing."""
    script = "echo started; read line; curl -s -o /dev/null -w '%{http_code}\\n' http://blocked.example/"
    proc = _started(rf, script, "--allow-domain", "127.0.0.1", stdin=subprocess.PIPE)
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    assert all("bwrap" in os.readlink(f"/proc/{c}/exe") for c in children), children
    out, _ = proc.communicate("go\n", timeout=60)
    assert out.strip() == "403"  # the proxy started on demand and answered
    assert proc.returncode == 0


def test_a_killed_supervisor_leaves_no_proxy_behind(rf: Ringfence) -> None:
    """SIGKILL of ringfence: the sandbox dies (--die-with-parent) and so does the proxy (PDEATHSIG)."""
    script = "curl -s -o /dev/null http://blocked.example/; echo started; sleep 60"
    proc = _started(rf, script, "--allow-domain", "127.0.0.1")
    children = [int(c) for c in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()]
    assert len(children) == 2  # bwrap and the proxy
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() for c in children):
        time.sleep(0.1)
    alive = [c for c in children if Path(f"/proc/{c}").exists() and
             Path(f"/proc/{c}/stat").read_text().split()[2] != "Z"]
    assert alive == []
