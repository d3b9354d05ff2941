"""`ringfence export envoy`: the bootstrap's structure: one listener, filters in order, every
allowed host routed, everything else a 403, each credential injected only on its hosts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ringfence.errors import UsageError
from ringfence.export.envoy import bootstrap
from ringfence.policy import load_policy

POLICY = """\
[network]
allow = ["api.anthropic.com", "*.pythonhosted.org", "pypi.org", "api.github.com"]
deny = ["evil.pythonhosted.org"]

[[credentials]]
name = "anthropic"
hosts = ["api.anthropic.com"]
header = "x-api-key"
value = "env:ANTHROPIC_API_KEY"

[[credentials]]
name = "github"
hosts = ["api.github.com"]
header = "Authorization"
value = "file:/run/secrets/github-authorization"
"""


def _policy(tmp_path: Path, text: str = POLICY) -> object:
    (tmp_path / "ringfence.toml").write_text(text)
    return load_policy(policy_file=str(tmp_path / "ringfence.toml"), home=str(tmp_path),
                       managed=str(tmp_path / "none.toml"))


def test_the_structure(tmp_path: Path) -> None:
    config = bootstrap(_policy(tmp_path), "h")  # type: ignore[arg-type]
    (listener,) = config["static_resources"]["listeners"]
    assert listener["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 3128}
    (chain,) = listener["filter_chains"]
    (hcm,) = chain["filters"]
    manager = hcm["typed_config"]
    names = [f["name"] for f in manager["http_filters"]]
    assert names == ["envoy.filters.http.credential_injector.anthropic", "envoy.filters.http.credential_injector.github",
                     "envoy.filters.http.dynamic_forward_proxy", "envoy.filters.http.router"]  # the router is last
    assert all(f.get("disabled") is True for f in manager["http_filters"][:2])
    hosts = manager["route_config"]["virtual_hosts"]
    domains = {d: vh for vh in hosts for d in vh["domains"]}
    for host in ("api.anthropic.com", "*.pythonhosted.org", "pypi.org", "api.github.com"):
        assert domains[host]["routes"][0]["route"]["cluster"] == "dynamic_forward_proxy"
    assert "pythonhosted.org" not in domains  # *.suffix is subdomains only
    assert domains["evil.pythonhosted.org"]["routes"][0]["direct_response"]["status"] == 403
    catch_all = hosts[-1]
    assert catch_all["domains"] == ["*"] and catch_all["routes"][0]["direct_response"]["status"] == 403
    routed = [vh for vh in hosts if "route" in vh["routes"][0]]
    assert {d for vh in routed for d in vh["domains"]} == {
        "api.anthropic.com", "api.anthropic.com:80", "api.anthropic.com:443", "*.pythonhosted.org",
        "*.pythonhosted.org:80", "*.pythonhosted.org:443", "pypi.org", "pypi.org:80", "pypi.org:443",
        "api.github.com", "api.github.com:80", "api.github.com:443"}  # nothing else is reachable
    enabled = {vh["domains"][0]: sorted(vh["routes"][0].get("typed_per_filter_config", {})) for vh in routed}
    assert enabled["api.anthropic.com"] == ["envoy.filters.http.credential_injector.anthropic"]
    assert enabled["api.github.com"] == ["envoy.filters.http.credential_injector.github"]
    assert enabled["pypi.org"] == [] and enabled["*.pythonhosted.org"] == []
    secrets = {s["name"]: s["generic_secret"]["secret"] for s in config["static_resources"]["secrets"]}
    assert secrets == {"credential-anthropic": {"environment_variable": "ANTHROPIC_API_KEY"},
                       "credential-github": {"filename": "/run/secrets/github-authorization"}}
    (cluster,) = config["static_resources"]["clusters"]
    options = cluster["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert options["upstream_http_protocol_options"] == {"auto_sni": True, "auto_san_validation": True}
    assert manager["access_log"][0]["name"] == "envoy.access_loggers.stdout"


@pytest.mark.parametrize(("change", "message"), [
    ('value = "env:ANTHROPIC_API_KEY"', "comes from a command"),
    ('header = "x-api-key"', "injects the secret as it is"),
])
def test_what_envoy_cannot_do_is_refused(tmp_path: Path, change: str, message: str) -> None:
    replacement = {'value = "env:ANTHROPIC_API_KEY"': 'value = "cmd:vault read -field=key secret/anthropic"',
                   'header = "x-api-key"': 'header = "x-api-key"\nformat = "Key {secret}"'}[change]
    with pytest.raises(UsageError, match=message):
        bootstrap(_policy(tmp_path, POLICY.replace(change, replacement)), "h")  # type: ignore[arg-type]


def test_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "ringfence.toml").write_text(POLICY)
    proc = subprocess.run([sys.executable, "-m", "ringfence", "export", "envoy"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# ringfence ") and "Envoy bootstrap" in proc.stdout.splitlines()[0]
    assert yaml.safe_load(proc.stdout)["static_resources"]["listeners"][0]["name"] == "ringfence-egress"
