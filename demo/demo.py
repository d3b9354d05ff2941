"""`make demo`: run an untrusted script inside `ringfence run` and show what it could not do.

Starts a local origin server on 127.0.0.1, writes a demo policy that allows only it, plants
a fake SSH key in the agent's home, runs demo/untrusted.py in the sandbox, then prints a
table of expected vs actual outcomes and the audit records of the run.
"""

from __future__ import annotations

import http.server
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEMO_USER = "rfdemo"

EXPECTED = {
    "allowed request (127.0.0.1, through the proxy)": True,
    "request to a name not in the allowlist": False,
    "direct connection bypassing the proxy": False,
    "read the planted ~/.ssh key": False,
    "read the workspace's .env secret": False,
    "write ~/.bashrc": False,
    "write .git/hooks/pre-commit": False,
    "write a workspace file": True,
}


class Origin(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body = b"hello from the allowed origin\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def agent_account() -> pwd.struct_passwd:
    """As root the agent needs an unprivileged account: the demo makes one."""
    if os.getuid() != 0:
        return pwd.getpwuid(os.getuid())
    try:
        return pwd.getpwnam(DEMO_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", DEMO_USER], check=True)
        return pwd.getpwnam(DEMO_USER)


def plant_key(account: pwd.struct_passwd) -> tuple[Path, bool]:
    ssh = Path(account.pw_dir) / ".ssh"
    created = not ssh.exists()
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = ssh / "ringfence-demo-key"
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n(fake key planted by the ringfence demo)\n")
    key.chmod(0o600)
    if os.getuid() == 0:
        os.chown(ssh, account.pw_uid, account.pw_gid)
        os.chown(key, account.pw_uid, account.pw_gid)
    return key, created


def make_workspace(account: pwd.struct_passwd) -> Path:
    ws = Path(tempfile.mkdtemp(prefix="ringfence-demo-", dir="/tmp"))
    ws.chmod(0o755)
    subprocess.run(["git", "init", "-q", str(ws)], check=True)
    shutil.copy(HERE / "untrusted.py", ws / "untrusted.py")
    # a fake secret in the workspace itself: the run shows the agent an empty .env
    (ws / ".env").write_text("DB_PASSWORD=dem0-" + "Xq7rT2vLw9kP\n")
    if os.getuid() == 0:
        subprocess.run(["chown", "-R", f"{account.pw_uid}:{account.pw_gid}", str(ws)], check=True)
    return ws


def run_demo() -> int:
    account = agent_account()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Origin)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state = Path(tempfile.mkdtemp(prefix="ringfence-demo-state-"))
    audit = state / "audit.db"
    policy = state / "policy.toml"
    policy.write_text(f'[network]\nallow = ["127.0.0.1"]\n\n[audit]\npath = "{audit}"\n')
    ws = make_workspace(account)
    key, created = plant_key(account)
    user = ["--user", account.pw_name] if os.getuid() == 0 else []
    ringfence = [sys.executable, "-m", "ringfence"]
    print(f"ringfence demo: agent runs as {account.pw_name} in {ws}; origin on 127.0.0.1:{port}\n")
    print(f"$ ringfence run --policy {policy} --workspace {ws} -- python3 untrusted.py {port}\n")
    try:
        proc = subprocess.run(
            [*ringfence, "run", "--policy", str(policy), "--workspace", str(ws), *user, "--",
             "/usr/bin/python3", "untrusted.py", str(port)],
            capture_output=True, text=True, cwd=ws, timeout=120,
        )
        results = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        failures = print_table(results)
        if proc.returncode != 0:
            print(f"\nringfence run exited with {proc.returncode}:\n{proc.stderr}")
            return 1
        print(f"\n{proc.stderr.strip()}\n\n$ ringfence log --audit {audit}")
        log = subprocess.run([*ringfence, "log", "--audit", str(audit)], capture_output=True, text=True)
        print(log.stdout or log.stderr)
        print("demo passed: every expectation held" if not failures else f"demo FAILED: {failures} unexpected")
        return 1 if failures else 0
    finally:
        server.shutdown()
        key.unlink(missing_ok=True)
        if created:
            shutil.rmtree(key.parent, ignore_errors=True)
        shutil.rmtree(ws, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)


def print_table(results: list[dict[str, object]]) -> int:
    failures = 0
    print(f"{'attempt':48} {'expected':10} {'outcome':10} result")
    print("-" * 100)
    seen = {r["step"]: r for r in results}
    for step, expected in EXPECTED.items():
        r = seen.get(step)
        if r is None:
            print(f"{step:48} {'-':10} {'missing':10} FAIL")
            failures += 1
            continue
        ok = r["succeeded"] is expected
        failures += not ok
        want = "succeeds" if expected else "fails"
        got = "succeeded" if r["succeeded"] else "failed"
        print(f"{step:48} {want:10} {got:10} {'ok  ' if ok else 'FAIL'} {r['detail']}")
    return failures


if __name__ == "__main__":
    sys.exit(run_demo())
