"""``ringfence export compose --out DIR``: the agent as a hardened Compose service whose only
way out is ringfence's proxy, itself a service.

Three files, all from the merged policy:

- ``compose.yaml``: the ``agent`` service (the guide's hardened container: every capability
  dropped, no new privileges, ringfence's seccomp profile, a read-only root, ``noexec,nosuid``
  tmpfs for ``/tmp`` and the home, memory/CPU/process limits, a non-root user, private IPC,
  the workspace read-only unless the policy makes it writable) on the ``sandbox`` network,
  which is ``internal`` (no gateway: nothing leaves it but through the proxy); the ``proxy``
  service (``ringfence proxy``, non-root) on ``sandbox`` and ``egress``, holding the
  credentials; its audit records go to its standard output (``--audit-stdout``), which the
  engine's logs keep. The agent's proxy variables point at ``http://proxy:3128``.
- ``ringfence-proxy.toml``: the proxy's policy: the network rules, credentials, gateways and
  request rules of the merged policy, with paths as the proxy's container sees them.
  ``env:`` credentials are passed to the proxy service by name (never by value); ``file:``
  sources and ``upstream_ca`` files are mounted read-only into it; a ``cmd:`` source runs on
  a host and cannot be exported (an error naming the credential).
- ``ringfence-seccomp.json``: ``ringfence export seccomp``'s profile.
"""

from __future__ import annotations

import json
import os

from ringfence.errors import UsageError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy

PROXY_PORT = 3128
AUDIT_PATH = "/var/lib/ringfence/audit.db"
SECRETS_DIR = "/run/ringfence/secrets"
CA_DIR = "/etc/ringfence/upstream-ca"
_PERIODS = {1.0: "s", 60.0: "min", 3600.0: "h", 86400.0: "day"}


def _toml(value: object) -> str:
    """A TOML value: strings as basic strings (JSON's escapes are TOML's), lists, numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def proxy_policy(policy: Policy, header: str) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(the proxy's policy as TOML, [(host file, path in the proxy)] to mount read-only,
    [environment variable names the proxy needs])."""
    mounts: list[tuple[str, str]] = []
    env: list[str] = []
    lines = [f"# {header}", "", "[network]"]
    network = policy.network
    lines.append(f"allow = {_toml(list(network.allow) if network.enabled else [])}")
    for key in ("deny", "inspect"):
        if getattr(network, key):
            lines.append(f"{key} = {_toml(list(getattr(network, key)))}")
    if network.upstream_ca:
        inside = []
        for n, path in enumerate(network.upstream_ca):
            target = f"{CA_DIR}/{n}-{os.path.basename(path)}"
            mounts.append((path, target))
            inside.append(target)
        lines.append(f"upstream_ca = {_toml(inside)}")
    if network.rate:
        rates = ", ".join(f"{_toml(host)} = {_toml(_rate_text(count, period))}" for host, count, period in network.rate)
        lines.append(f"rate = {{ {rates} }}")
    lines += ["", "[audit]", f"path = {_toml(AUDIT_PATH)}"]
    for credential in policy.credentials:
        kind, _, rest = credential.value.partition(":")
        if kind == "cmd":
            raise UsageError(f'credential "{credential.name}" comes from a command (cmd:), which runs on this '
                             "host and cannot be exported to a proxy container",
                             hint="give the proxy service the secret as env:NAME or file:PATH")
        value = credential.value
        if kind == "env":
            env.append(rest)
        elif kind == "file":
            target = f"{SECRETS_DIR}/{credential.name}"
            mounts.append((rest, target))
            value = f"file:{target}"
        lines += ["", "[[credentials]]", f"name = {_toml(credential.name)}", f"hosts = {_toml(list(credential.hosts))}",
                  f"header = {_toml(credential.header)}", f"value = {_toml(value)}"]
        if credential.format != "{secret}":
            lines.append(f"format = {_toml(credential.format)}")
        for key in ("placeholder_env", "methods", "paths"):
            if getattr(credential, key):
                item = getattr(credential, key)
                lines.append(f"{key} = {_toml(list(item) if isinstance(item, tuple) else item)}")
        if credential.max_body:
            lines.append(f"max_body = {credential.max_body}")
        if kind == "file" and credential.file_lines != "first":
            lines.append(f"file_lines = {_toml(credential.file_lines)}")
    for gateway in policy.gateways:
        lines += ["", "[[upstreams]]", f"name = {_toml(gateway.name)}", f"url = {_toml(gateway.url)}"]
        if gateway.credential:
            lines.append(f"credential = {_toml(gateway.credential)}")
        if gateway.base_url_env:
            lines.append(f"base_url_env = {_toml(gateway.base_url_env)}")
    for rule in policy.requests:
        lines += ["", "[[requests]]", f"hosts = {_toml(list(rule.hosts))}"]
        if rule.methods:
            lines.append(f"methods = {_toml(list(rule.methods))}")
        if rule.paths:
            lines.append(f"paths = {_toml(list(rule.paths))}")
        if rule.max_body:
            lines.append(f"max_body = {rule.max_body}")
    return "\n".join(lines) + "\n", mounts, env


def _rate_text(count: int, period: float) -> str:
    """``(120, 60.0)`` -> ``"120/min"``, as the policy wrote it (every unit it accepts is here)."""
    return f"{count}/{_PERIODS[period]}"


def _owner(path: str) -> str:
    """The workspace owner's ids, as the agent's user; never root (as ringfence run)."""
    info = os.stat(path)
    if info.st_uid == 0:
        raise UsageError(f"the workspace {path} is owned by root, and an agent never runs as root",
                         hint='set [container] user = "UID:GID" (an unprivileged account)')
    return f"{info.st_uid}:{info.st_gid}"


def compose(policy: Policy, header: str, *, seccomp_file: str, proxy_policy_file: str,
            proxy_mounts: list[tuple[str, str]], proxy_env: list[str], proxy_host: str = "proxy") -> dict[str, Any]:
    """The compose document (a dict, for YAML)."""
    container = policy.container
    if not container.image:
        raise UsageError("no image for the agent's service", hint='set [container] image = "..." in the policy')
    if not container.proxy_image:
        raise UsageError("no image for the proxy's service",
                         hint='set [container] proxy_image = "..." (an image with ringfence installed)')
    workspace = policy.sandbox.workspace
    writable = any(workspace == p or workspace.startswith(p.rstrip("/") + "/") for p in policy.filesystem.allow_write)
    proxy_url = f"http://{proxy_host}:{PROXY_PORT}"
    proxy_env_vars = {name: proxy_url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    hardening: dict[str, Any] = {
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "ipc": "private",
    }
    agent: dict[str, Any] = {
        "image": container.image,
        "pull_policy": "never",
        "user": container.user or _owner(workspace),
        **hardening,
        "security_opt": ["no-new-privileges:true", f"seccomp={seccomp_file}"],
        "mem_limit": container.memory,
        "cpus": container.cpus,
        "pids_limit": container.pids,
        "tmpfs": [f"/tmp:rw,noexec,nosuid,size={policy.sandbox.tmp_size}",
                  f"{container.home}:rw,noexec,nosuid,size={container.home_size}"],
        "volumes": [f"{workspace}:/workspace{'' if writable else ':ro'}"],
        "working_dir": "/workspace",
        "environment": {**proxy_env_vars, "NO_PROXY": "", "no_proxy": "", "HOME": container.home},
        "networks": ["sandbox"],
        "depends_on": ["proxy"],
    }
    proxy: dict[str, Any] = {
        "image": container.proxy_image,
        "pull_policy": "never",
        "user": "65532:65532",
        "command": ["ringfence", "proxy", "--policy", "/etc/ringfence/policy.toml",
                    "--listen", f"tcp:0.0.0.0:{PROXY_PORT}", "--audit-stdout"],  # the engine's logs keep them
        **hardening,
        "mem_limit": 512 << 20,
        "pids_limit": 256,
        "tmpfs": ["/tmp:rw,noexec,nosuid,size=64m"],
        "volumes": [f"{proxy_policy_file}:/etc/ringfence/policy.toml:ro",
                    *(f"{host}:{inside}:ro" for host, inside in proxy_mounts)],
        "networks": ["sandbox", "egress"],
    }
    if proxy_env:
        proxy["environment"] = list(proxy_env)  # passed through by name: the values stay on the host
    return {
        "name": "ringfence",
        "services": {"agent": agent, "proxy": proxy},
        "networks": {"sandbox": {"internal": True}, "egress": {}},
        "x-ringfence": header,
    }


def write_bundle(policy: Policy, folder: str, header: str, arch: str, engine: str = "compose") -> list[str]:
    """compose.yaml (or, for ``engine`` docker or podman, run.sh), ringfence-proxy.toml and
    ringfence-seccomp.json in ``folder`` (made if missing; each file written beside and
    renamed). Returns their paths."""
    import yaml

    from ringfence.export.seccomp import profile

    os.makedirs(folder, exist_ok=True)
    folder = os.path.abspath(folder)
    proxy_text, mounts, env = proxy_policy(policy, header)
    files = {
        "ringfence-seccomp.json": json.dumps(profile(policy, arch, header), indent=2) + "\n",
        "ringfence-proxy.toml": proxy_text,
    }
    document = compose(policy, header, seccomp_file=os.path.join(folder, "ringfence-seccomp.json"),
                       proxy_policy_file=os.path.join(folder, "ringfence-proxy.toml"),
                       proxy_mounts=mounts, proxy_env=env,
                       proxy_host="proxy" if engine == "compose" else "ringfence-proxy")
    if engine == "compose":
        files["compose.yaml"] = f"# {header}\n" + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    else:
        files["run.sh"] = run_script(document, engine, header)
    from ringfence._files import write_atomic

    written = []
    for name, text in files.items():
        path = os.path.join(folder, name)
        write_atomic(path, text)
        written.append(path)
    return written


def run_script(document: dict[str, Any], engine: str, header: str) -> str:
    """The compose document as a POSIX shell script of ``docker``/``podman`` commands: the
    internal network, the proxy container (stopped when the agent ends), then the agent in the
    foreground with the script's arguments as its command."""
    import shlex

    agent, proxy = document["services"]["agent"], document["services"]["proxy"]
    q = shlex.quote

    def hardening(service: dict[str, Any]) -> list[str]:
        flags = ["--cap-drop", "ALL", "--read-only", "--ipc", service["ipc"]]
        for option in service["security_opt"]:
            flags += ["--security-opt", option.replace("no-new-privileges:true", "no-new-privileges")]
        flags += ["--memory", str(service["mem_limit"]), "--pids-limit", str(service["pids_limit"])]
        if "cpus" in service:
            flags += ["--cpus", f"{service['cpus']:g}"]
        for spec in service["tmpfs"]:
            flags += ["--tmpfs", spec]
        for spec in service["volumes"]:
            flags += ["--volume", spec]
        return flags

    def lines_of(flags: list[str]) -> str:
        """``--flag value`` pairs on lines of their own, for a person reading the script."""
        out, words = [], [q(a) for a in flags]
        while words:
            take = 2 if len(words) > 1 and words[0].startswith("--") and not words[1].startswith("--") else 1
            out.append(" ".join(words[:take]))
            words = words[take:]
        return " \\\n  ".join(out)

    proxy_flags = ["run", "--detach", "--rm", "--name", "ringfence-proxy", "--pull", "never",
                   "--network", "ringfence-egress", "--user", proxy["user"], *hardening(proxy)]
    for name in proxy.get("environment", []):
        proxy_flags += ["--env", name]  # by name: the value comes from this shell, never this file
    agent_flags = ["run", "--rm", "--interactive", "--name", "ringfence-agent", "--pull", "never",
                   "--network", "ringfence-sandbox", "--user", agent["user"], "--workdir", agent["working_dir"],
                   *hardening(agent)]
    for name, value in agent["environment"].items():
        agent_flags += ["--env", f"{name}={value}"]
    e = q(engine)
    command = " ".join(q(a) for a in proxy["command"])
    lines = [
        "#!/bin/sh",
        f"# {header}",
        "# The agent runs on an internal network (no gateway) whose only other member is ringfence's",
        "# proxy; the proxy alone reaches the outside and holds the credentials (its audit records:",
        f"# `{engine} logs ringfence-proxy`). Usage: sh run.sh [CMD...]",
        "set -eu",
        f"{e} network inspect ringfence-sandbox >/dev/null 2>&1 || {e} network create --internal ringfence-sandbox",
        f"{e} network inspect ringfence-egress >/dev/null 2>&1 || {e} network create ringfence-egress",
        f"{e} {lines_of(proxy_flags)} \\\n  {q(proxy['image'])} {command} >/dev/null",
        f"trap '{e} stop ringfence-proxy >/dev/null 2>&1 || true' EXIT",
        f"{e} network connect ringfence-sandbox ringfence-proxy",
        f"{e} {lines_of(agent_flags)} \\\n  {q(agent['image'])} \"$@\"",
    ]
    return "\n".join(lines) + "\n"
