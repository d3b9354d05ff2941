"""`ringfence lint`: gaps of docker/podman run lines, compose files and manifests against the guide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ringfence.export.lint import LintError, lint_text, sensitive

GUIDE = """\
docker run \\
  --cap-drop ALL \\
  --security-opt no-new-privileges \\
  --security-opt seccomp=/path/to/seccomp-profile.json \\
  --read-only \\
  --tmpfs /tmp:rw,noexec,nosuid,size=100m \\
  --tmpfs /home/agent:rw,noexec,nosuid,size=500m \\
  --network none \\
  --memory 2g \\
  --cpus 2 \\
  --pids-limit 100 \\
  --user 1000:1000 \\
  -v /path/to/code:/workspace:ro \\
  -v /var/run/proxy.sock:/var/run/proxy.sock:ro \\
  agent-image
"""

NAIVE = """\
#!/bin/sh
# how people start an agent
podman run -it --privileged -v ~/.ssh:/root/.ssh -v /var/run/docker.sock:/var/run/docker.sock \\
  -v "$PWD":/work ubuntu bash
"""


def rules(text: str) -> dict[str, str]:
    return {g.rule: g.severity for g in lint_text(text)[1]}


def test_the_guides_hardened_command_has_only_the_extra_hardening_left() -> None:
    kind, gaps = lint_text(GUIDE)
    assert kind == "docker"
    assert [(g.rule, g.severity) for g in gaps] == [("RF-LINT-IPC", "warning")]
    assert gaps[0].where == "line 1" and gaps[0].fix == "--ipc private"
    assert rules(GUIDE.replace("  agent-image", "  --ipc private agent-image")) == {}


def test_every_gap_of_a_naive_command_with_reason_and_fix() -> None:
    kind, gaps = lint_text(NAIVE)
    found = {g.rule: g for g in gaps}
    assert kind == "docker"
    assert {"RF-LINT-CAPS", "RF-LINT-PRIVILEGED", "RF-LINT-NEW-PRIVS", "RF-LINT-SECCOMP", "RF-LINT-READ-ONLY",
            "RF-LINT-NETWORK", "RF-LINT-MEMORY", "RF-LINT-CPUS", "RF-LINT-PIDS", "RF-LINT-USER", "RF-LINT-IPC",
            "RF-LINT-SENSITIVE-MOUNT", "RF-LINT-CODE-RW"} == set(found)
    mounts = [g.what for g in gaps if g.rule == "RF-LINT-SENSITIVE-MOUNT"]
    assert any("~/.ssh (SSH keys)" in m for m in mounts) and any("docker.sock" in m for m in mounts)
    assert all(g.where == "line 3" and g.why and g.fix for g in gaps)
    assert found["RF-LINT-NETWORK"].severity == "error" and found["RF-LINT-CPUS"].severity == "warning"


@pytest.mark.parametrize(("extra", "rule"), [
    ("--network host", "RF-LINT-HOST-NS"), ("--pid=host", "RF-LINT-HOST-NS"),
    ("--security-opt seccomp=unconfined", "RF-LINT-UNCONFINED"), ("--cap-add SYS_ADMIN", "RF-LINT-CAP-ADD"),
    ("--tmpfs /scratch:rw,size=1g", "RF-LINT-TMPFS"), ("--device /dev/kvm", "RF-LINT-DEVICE"),
    ("--user root", "RF-LINT-USER"), ("-v /:/host:ro", "RF-LINT-SENSITIVE-MOUNT"),
    ("--mount type=bind,source=/home/me/.aws,target=/aws,readonly", "RF-LINT-SENSITIVE-MOUNT"),
    ("-v /srv/code:/workspace", "RF-LINT-CODE-RW"),
])
def test_each_weakening_of_the_guides_command_is_named(extra: str, rule: str) -> None:
    text = GUIDE.replace("  agent-image", f"  --ipc private {extra} agent-image")
    assert rule in rules(text)


def test_several_commands_and_comments_in_a_script() -> None:
    text = "set -e\n# docker run --privileged x (a comment)\necho hi\n" + GUIDE + "\ndocker run --rm alpine true\n"
    gaps = lint_text(text)[1]
    assert {g.where for g in gaps} == {"line 4", "line 20"}


COMPOSE_HARDENED = """\
services:
  agent:
    image: agent-image
    user: "1000:1000"
    read_only: true
    cap_drop: [ALL]
    security_opt: ["no-new-privileges:true", "seccomp=./rf-seccomp.json"]
    ipc: private
    mem_limit: 2g
    cpus: 2
    pids_limit: 100
    tmpfs: ["/tmp:rw,noexec,nosuid,size=100m"]
    volumes: ["./src:/workspace:ro"]
    networks: [sandbox]
  proxy:
    image: ringfence-proxy
    command: ringfence proxy --listen tcp:0.0.0.0:3128
    networks: [sandbox, outside]
networks:
  sandbox: {internal: true}
  outside: {}
"""


def test_compose() -> None:
    kind, gaps = lint_text(COMPOSE_HARDENED)
    assert kind == "compose" and gaps == []
    naive = "services:\n  agent:\n    image: x\n    network_mode: host\n    volumes:\n      - ~/.kube:/root/.kube\n"
    found = {g.rule for g in lint_text(naive)[1]}
    assert {"RF-LINT-HOST-NS", "RF-LINT-SENSITIVE-MOUNT", "RF-LINT-CAPS", "RF-LINT-USER", "RF-LINT-READ-ONLY"} <= found
    assert all(g.where == "services.agent" for g in lint_text(naive)[1])


K8S_HARDENED = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: agent}
spec:
  template:
    spec:
      runtimeClassName: gvisor
      automountServiceAccountToken: false
      securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
      containers:
        - name: agent
          image: agent-image
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          resources: {limits: {memory: 2Gi, cpu: "2"}}
---
apiVersion: v1
kind: Service
metadata: {name: proxy}
"""


def test_kubernetes() -> None:
    kind, gaps = lint_text(K8S_HARDENED)
    assert kind == "kubernetes" and gaps == []
    naive = """\
apiVersion: agents.x-k8s.io/v1alpha1
kind: Sandbox
metadata: {name: agent}
spec:
  podTemplate:
    spec:
      hostNetwork: true
      containers:
        - name: agent
          image: x
          securityContext: {privileged: true, runAsUser: 0}
          volumeMounts: [{name: sock, mountPath: /var/run/docker.sock}]
      volumes: [{name: sock, hostPath: {path: /var/run/docker.sock}}]
"""
    found = {g.rule for g in lint_text(naive)[1]}
    assert {"RF-LINT-SA-TOKEN", "RF-LINT-HOST-NS", "RF-LINT-PRIVILEGED", "RF-LINT-USER", "RF-LINT-SENSITIVE-MOUNT",
            "RF-LINT-RUNTIME", "RF-LINT-MEMORY", "RF-LINT-CAPS", "RF-LINT-NEW-PRIVS"} <= found


def test_sensitive_paths() -> None:
    for path in ("~/.ssh", "/home/dev/.aws/credentials", "/var/run/docker.sock", "/run/podman/podman.sock",
                 "$HOME/.config/gcloud", "/", "/etc", "/root/.kube/config", "~/.git-credentials"):
        assert sensitive(path), path
    for path in ("/srv/code", "/home/dev/project", "./src", "/var/run/proxy.sock"):
        assert sensitive(path) is None, path


def test_what_is_not_a_configuration_is_a_clear_error() -> None:
    with pytest.raises(LintError, match="no `docker run`"):
        lint_text("echo hello\n")
    with pytest.raises(LintError, match=r"not valid YAML \(line 3, column 1\)"):
        lint_text("services:\n  agent: [unclosed\n")


def test_the_command_line(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "ringfence", "lint"]
    (tmp_path / "good.sh").write_text(GUIDE.replace("  agent-image", "  --ipc private agent-image"))
    (tmp_path / "bad.sh").write_text(NAIVE)
    good = subprocess.run([*run, str(tmp_path / "good.sh")], capture_output=True, text=True)
    assert good.returncode == 0 and "meets the guide's baseline" in good.stderr
    bad = subprocess.run([*run, str(tmp_path / "bad.sh"), "--json"], capture_output=True, text=True)
    assert bad.returncode == 1 and json.loads(bad.stdout)["format"] == "docker"
    piped = subprocess.run([*run, "-"], input=NAIVE, capture_output=True, text=True)
    assert piped.returncode == 1 and "RF-LINT-PRIVILEGED" in piped.stdout and "fix: remove --privileged" in piped.stdout
    missing = subprocess.run([*run, str(tmp_path / "nope.sh")], capture_output=True, text=True)
    assert missing.returncode == 2 and "cannot read" in missing.stderr


@pytest.mark.parametrize("engine", [
    "podman --runtime runsc --runtime-flag platform=ptrace --runtime-flag network=none --runtime-flag oci-seccomp",
    "docker -H tcp://10.0.0.5:2376 --tlsverify container",
    "podman --log-level=warn --root /var/lib/other",
])
def test_the_engines_own_options_before_run_are_skipped(engine: str) -> None:
    """However many global options come before ``run`` (gVisor needs several), the run's own
    options are what is read: the guide's command stays clean, and a naive one is flagged."""
    hardened = GUIDE.replace("docker run", f"{engine} run", 1)
    assert hardened != GUIDE
    assert rules(hardened) == rules(GUIDE)
    assert "RF-LINT-PRIVILEGED" in rules(f"{engine} run --privileged ubuntu bash")
