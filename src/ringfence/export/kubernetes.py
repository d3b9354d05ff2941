"""``ringfence export kubernetes``: agents on a cluster, with ringfence's proxy as their only egress.

Manifests (one YAML stream), all from the merged policy:

- ``ConfigMap/ringfence-proxy-policy``: the proxy's policy (``ringfence.export.compose.
  proxy_policy``) and the CA files of ``upstream_ca``.
- ``Deployment/ringfence-proxy`` (several replicas) and ``Service/ringfence-proxy``: the
  proxy, the only holder of the credentials, its audit records JSON lines on stdout
  (``--audit-stdout``) for the cluster's log pipeline. They come from the ``Secret`` named
  ``ringfence-credentials``, which is referenced, never emitted (the header says how to
  create it): ``env:`` sources as environment variables of the proxy, ``file:`` sources as
  files mounted into it. No agent pod mounts it.
- ``NetworkPolicy/ringfence-agent``: agent pods get no ingress and egress only to the proxy
  pods (TCP 3128) and kube-dns; ``NetworkPolicy/ringfence-proxy``: the proxy takes
  connections only from agent pods.
- The agent, twice: ``SandboxTemplate`` of kubernetes-sigs/agent-sandbox
  (``extensions.agents.x-k8s.io/v1beta1``, with the same network policy), and a plain
  ``Deployment/ringfence-agent`` for clusters without it. Both: ``runtimeClassName: gvisor``,
  no service-account token, non-root, no privilege escalation, read-only root, every
  capability dropped, ``RuntimeDefault`` seccomp, memory and CPU limits, ``emptyDir`` with
  size limits for ``/tmp``, the home and ``/workspace``, and the proxy variables.
"""

from __future__ import annotations

import os

from ringfence.errors import UsageError
from ringfence.export.compose import CA_DIR, PROXY_PORT, SECRETS_DIR, proxy_policy

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy

PROXY = "ringfence-proxy"
AGENT = "ringfence-agent"
SECRET = "ringfence-credentials"
_NAME_LABEL = "app.kubernetes.io/name"


def manifests(policy: Policy, header: str, *, namespace: str = "ringfence",
              proxy_replicas: int = 2) -> tuple[list[dict[str, Any]], str]:
    """(the objects, the command that creates the credentials' Secret)."""
    container = policy.container
    if not container.image:
        raise UsageError("no image for the agent", hint='set [container] image = "..." in the policy')
    if not container.proxy_image:
        raise UsageError("no image for the proxy", hint='set [container] proxy_image = "..." (ringfence installed)')
    policy_text, mounts, env_names = proxy_policy(policy, header)
    ca_files: dict[str, str] = {}  # ConfigMap key -> the CA file it holds
    for n, (path, inside) in enumerate(m for m in mounts if m[1].startswith(CA_DIR)):
        ca_files[f"ca-{n}.pem"] = path
        policy_text = policy_text.replace(inside, f"{CA_DIR}/ca-{n}.pem")
    file_credentials = [inside.rsplit("/", 1)[1] for _path, inside in mounts if inside.startswith(SECRETS_DIR)]
    meta = {"namespace": namespace}
    config: dict[str, Any] = {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "ringfence-proxy-policy", **meta},
        "data": {"policy.toml": policy_text, **{key: _read(path) for key, path in ca_files.items()}},
    }
    create_secret = " ".join(
        [f"kubectl -n {namespace} create secret generic {SECRET}",
         *(f"--from-literal={name}=\"${name}\"" for name in env_names),
         *(f"--from-file={name}=PATH" for name in file_credentials)])
    proxy_container: dict[str, Any] = {
        "name": "proxy",
        "image": container.proxy_image,
        "imagePullPolicy": "IfNotPresent",
        "args": ["ringfence", "proxy", "--policy", "/etc/ringfence/policy.toml", "--listen", f"tcp:0.0.0.0:{PROXY_PORT}",
                 "--audit-stdout"],
        "ports": [{"name": "proxy", "containerPort": PROXY_PORT, "protocol": "TCP"}],
        "securityContext": _container_security(),
        "resources": {"limits": {"memory": "512Mi", "cpu": "1"}, "requests": {"memory": "128Mi", "cpu": "100m"}},
        "volumeMounts": [
            {"name": "policy", "mountPath": "/etc/ringfence/policy.toml", "subPath": "policy.toml", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "policy", "configMap": {"name": "ringfence-proxy-policy"}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    if ca_files:
        proxy_container["volumeMounts"].append({"name": "upstream-ca", "mountPath": CA_DIR, "readOnly": True})
        volumes.append({"name": "upstream-ca", "configMap": {
            "name": "ringfence-proxy-policy", "items": [{"key": key, "path": key} for key in ca_files]}})
    if env_names:
        proxy_container["env"] = [{"name": name, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": name}}}
                                  for name in env_names]
    if file_credentials:
        proxy_container["volumeMounts"].append({"name": "credentials", "mountPath": SECRETS_DIR, "readOnly": True})
        volumes.append({"name": "credentials", "secret": {
            "secretName": SECRET, "defaultMode": 0o400, "items": [{"key": n, "path": n} for n in file_credentials]}})
    proxy_pod = {
        "automountServiceAccountToken": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [proxy_container],
        "volumes": volumes,
    }
    proxy = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": PROXY, **meta, "labels": {_NAME_LABEL: PROXY}},
        "spec": {"replicas": proxy_replicas, "selector": {"matchLabels": {_NAME_LABEL: PROXY}},
                 "template": {"metadata": {"labels": {_NAME_LABEL: PROXY}}, "spec": proxy_pod}},
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": PROXY, **meta},
        "spec": {"selector": {_NAME_LABEL: PROXY},
                 "ports": [{"name": "proxy", "port": PROXY_PORT, "targetPort": "proxy", "protocol": "TCP"}]},
    }
    egress = _agent_egress()
    agent_policy = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": AGENT, **meta},
        "spec": {"podSelector": {"matchLabels": {_NAME_LABEL: AGENT}}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [], "egress": egress},
    }
    proxy_policy_object = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": PROXY, **meta},
        "spec": {"podSelector": {"matchLabels": {_NAME_LABEL: PROXY}}, "policyTypes": ["Ingress"],
                 "ingress": [{"from": [{"podSelector": {"matchLabels": {_NAME_LABEL: AGENT}}}],
                              "ports": [{"protocol": "TCP", "port": PROXY_PORT}]}]},
    }
    pod = _agent_pod(policy)
    template = {
        "apiVersion": "extensions.agents.x-k8s.io/v1beta1", "kind": "SandboxTemplate",
        "metadata": {"name": AGENT, **meta},
        "spec": {"podTemplate": {"metadata": {"labels": {_NAME_LABEL: AGENT}}, "spec": pod},
                 "networkPolicy": {"ingress": [], "egress": egress}, "networkPolicyManagement": "Managed",
                 "envVarsInjectionPolicy": "Disallowed"},
    }
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": AGENT, **meta, "labels": {_NAME_LABEL: AGENT}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {_NAME_LABEL: AGENT}},
                 "template": {"metadata": {"labels": {_NAME_LABEL: AGENT}}, "spec": pod}},
    }
    return [config, proxy, service, agent_policy, proxy_policy_object, template, deployment], create_secret


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]}, "privileged": False}


def _agent_egress() -> list[dict[str, Any]]:
    dns = [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    return [
        {"to": [{"podSelector": {"matchLabels": {_NAME_LABEL: PROXY}}}],
         "ports": [{"protocol": "TCP", "port": PROXY_PORT}]},
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}], "ports": dns},
    ]


def _agent_pod(policy: Policy) -> dict[str, Any]:
    container = policy.container
    uid, gid = (int(part) for part in (container.user or "1000:1000").split(":"))
    if uid == 0:
        raise UsageError("the agent would run as root", hint='set [container] user = "UID:GID" (not 0)')
    proxy_url = f"http://{PROXY}:{PROXY_PORT}"
    env = [{"name": name, "value": proxy_url} for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")]
    env += [{"name": "NO_PROXY", "value": ""}, {"name": "HOME", "value": container.home}]
    return {
        "runtimeClassName": "gvisor",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": gid,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [{
            "name": "agent",
            "image": container.image,
            "imagePullPolicy": "IfNotPresent",
            "workingDir": "/workspace",
            "env": env,
            "securityContext": _container_security(),
            "resources": {"limits": {"memory": str(container.memory), "cpu": f"{container.cpus:g}"},
                          "requests": {"memory": str(min(container.memory, 256 << 20)), "cpu": "100m"}},
            "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "home", "mountPath": container.home},
                             {"name": "workspace", "mountPath": "/workspace"}],
        }],
        "volumes": [
            {"name": "tmp", "emptyDir": {"sizeLimit": _quantity(policy.sandbox.tmp_size)}},
            {"name": "home", "emptyDir": {"sizeLimit": _quantity(container.home_size)}},
            {"name": "workspace", "emptyDir": {"sizeLimit": "10Gi"}},
        ],
    }


def _quantity(size: int) -> str:
    for unit, factor in (("Gi", 1 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)):
        if size % factor == 0:
            return f"{size // factor}{unit}"
    return str(size)


def write(objects: list[dict[str, Any]], header: str, create_secret: str, path: str | None) -> str:
    import yaml

    lines = [f"# {header}", "# credentials: create the Secret first (values never appear here):",
             f"#   {create_secret}", "# the agent's code arrives in its image or an init container: /workspace is empty"]
    text = "\n".join(lines) + "\n" + yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
    if path:
        from ringfence._files import write_atomic

        write_atomic(path, text)
    return text
