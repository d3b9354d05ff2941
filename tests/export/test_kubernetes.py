"""`ringfence export kubernetes`: every manifest validated offline against the Kubernetes
schemas (kubernetes-validate) and agent-sandbox's CRDs, and its security fields asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from ringfence.export.kubernetes import manifests
from ringfence.export.lint import lint_kubernetes
from ringfence.policy import load_policy

CRDS = Path(__file__).resolve().parents[3] / "shared" / "reference" / "agent-sandbox-crds"
K8S_VERSION = "1.33.0"

POLICY = """\
[container]
image = "ghcr.io/acme/agent:1"
proxy_image = "ghcr.io/acme/ringfence:1"
user = "1000:1000"
memory = "2G"
cpus = 2

[network]
allow = ["api.anthropic.com", "pypi.org"]
upstream_ca = ["corp-ca.pem"]

[[credentials]]
name = "anthropic"
hosts = ["api.anthropic.com"]
header = "x-api-key"
value = "env:ANTHROPIC_API_KEY"

[[credentials]]
name = "github"
hosts = ["api.github.com"]
header = "Authorization"
format = "Bearer {secret}"
value = "file:gh-token"
"""


@pytest.fixture
def objects(tmp_path: Path) -> tuple[list[dict], str]:
    (tmp_path / "gh-token").write_text("not-a-real-token\n")
    (tmp_path / "corp-ca.pem").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (tmp_path / "ringfence.toml").write_text(POLICY)
    policy = load_policy(policy_file=str(tmp_path / "ringfence.toml"), home=str(tmp_path),
                         managed=str(tmp_path / "none.toml"))
    return manifests(policy, "header", namespace="agents")


def _crd_schema(filename: str, version: str) -> dict:
    crd = yaml.safe_load((CRDS / filename).read_text())
    return next(v["schema"]["openAPIV3Schema"] for v in crd["spec"]["versions"] if v["name"] == version)


def test_every_manifest_is_valid(objects: tuple[list[dict], str]) -> None:
    items, _ = objects
    kinds = [o["kind"] for o in items]
    assert kinds == ["ConfigMap", "Deployment", "Service", "NetworkPolicy", "NetworkPolicy", "SandboxTemplate",
                     "Deployment"]
    for obj in items:
        if obj["kind"] == "SandboxTemplate":
            jsonschema.validate(obj, _crd_schema("extensions.agents.x-k8s.io_sandboxtemplates.yaml", "v1beta1"))
            pod_schema = _crd_schema("agents.x-k8s.io_sandboxes.yaml", "v1beta1")
            sandbox = {"apiVersion": "agents.x-k8s.io/v1beta1", "kind": "Sandbox", "metadata": {"name": "a"},
                       "spec": {"podTemplate": obj["spec"]["podTemplate"]}}
            jsonschema.validate(sandbox, pod_schema)  # the same pod template makes a Sandbox
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
    bad = dict(items[1], spec={**items[1]["spec"], "replicas": "two"})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)  # the validator does catch errors


def test_the_agent_pod_is_locked_down(objects: tuple[list[dict], str]) -> None:
    items, _ = objects
    template, deployment = items[5], items[6]
    for pod in (template["spec"]["podTemplate"]["spec"], deployment["spec"]["template"]["spec"]):
        assert pod["runtimeClassName"] == "gvisor" and pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] == 1000
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        (agent,) = pod["containers"]
        context = agent["securityContext"]
        assert context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]} and context["privileged"] is False
        assert agent["resources"]["limits"] == {"memory": str(2 << 30), "cpu": "2"}
        env = {e["name"]: e.get("value") for e in agent["env"]}
        assert env["HTTPS_PROXY"] == "http://ringfence-proxy:3128" and "ANTHROPIC_API_KEY" not in env
        assert all("emptyDir" in v and v["emptyDir"]["sizeLimit"] for v in pod["volumes"])
        assert not any("secret" in v or "hostPath" in v for v in pod["volumes"])
    assert [g for g in lint_kubernetes([template, deployment]) if g.severity == "error"] == []


def test_the_network_allows_only_the_proxy_and_dns(objects: tuple[list[dict], str]) -> None:
    items, _ = objects
    agent_policy, proxy_policy, template = items[3], items[4], items[5]
    assert agent_policy["spec"]["policyTypes"] == ["Ingress", "Egress"] and agent_policy["spec"]["ingress"] == []
    to_proxy, to_dns = agent_policy["spec"]["egress"]
    assert to_proxy["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ringfence-proxy"}}}]
    assert to_proxy["ports"] == [{"protocol": "TCP", "port": 3128}]
    assert {p["port"] for p in to_dns["ports"]} == {53}
    assert template["spec"]["networkPolicy"]["egress"] == agent_policy["spec"]["egress"]
    assert proxy_policy["spec"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "ringfence-agent"}}}]


def test_credentials_stay_in_the_proxy(objects: tuple[list[dict], str]) -> None:
    items, create_secret = objects
    config, proxy = items[0], items[1]
    text = yaml.safe_dump_all(items)
    assert "not-a-real-token" not in text
    pod = proxy["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["env"] == [{"name": "ANTHROPIC_API_KEY",
                                 "valueFrom": {"secretKeyRef": {"name": "ringfence-credentials", "key": "ANTHROPIC_API_KEY"}}}]
    secret_volume = next(v for v in pod["volumes"] if "secret" in v)
    assert secret_volume["secret"]["items"] == [{"key": "github", "path": "github"}]
    assert 'value = "file:/run/ringfence/secrets/github"' in config["data"]["policy.toml"]
    assert 'upstream_ca = ["/etc/ringfence/upstream-ca/ca-0.pem"]' in config["data"]["policy.toml"]
    assert config["data"]["ca-0.pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert proxy["spec"]["replicas"] == 2 and container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["args"][-1] == "--audit-stdout"  # records go to the cluster's log pipeline
    assert "create secret generic ringfence-credentials" in create_secret and "--from-file=github=PATH" in create_secret


def test_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "ringfence.toml").write_text(POLICY.replace('upstream_ca = ["corp-ca.pem"]\n', "").replace(
        'value = "file:gh-token"', 'value = "env:GH_TOKEN"'))
    proc = subprocess.run([sys.executable, "-m", "ringfence", "export", "kubernetes", "--namespace", "team-a"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# ringfence ") and "kubectl -n team-a create secret" in proc.stdout
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(docs) == 7 and all(d["metadata"]["namespace"] == "team-a" for d in docs)
