"""``ringfence export envoy``: an Envoy bootstrap enforcing the policy's allowlist and injecting
its credentials, for a production egress gateway.

Agents speak plain HTTP to Envoy (``HTTP_PROXY=http://GATEWAY:3128``, or a base URL);
Envoy opens TLS to the upstream itself (a dynamic forward proxy cluster: SNI and certificate
checks from the request's host, the system CA store). What it enforces:

- Deny by default: one virtual host per allowed host rule (``*.example.com`` stays
  subdomains only, as in ringfence) and a catch-all that answers 403 naming the gateway.
  ``[network] deny`` rules get their own 403 virtual host, which Envoy prefers because an
  exact name beats a wildcard.
- One ``credential_injector`` filter per credential, off by default and switched on only
  on the routes of that credential's hosts; its secret comes from SDS (the environment
  variable or the file the policy names: the value never appears in the configuration).
  ``format`` must be the whole header value here: Envoy injects the secret as it is, so a
  ``Bearer {secret}`` format is an error (put ``Bearer ...`` in the secret instead).
- Every request is logged as a JSON line on stdout.

Not equivalent to ringfence's own proxy: no CONNECT tunnels or SOCKS (plain HTTP only),
no TLS termination of HTTPS the agent opens itself, no request rules (methods, paths, body
size), no rate limits, no leak guard, no response scrubbing, no placeholders, and no
anti-rebinding checks of resolved addresses. A ``cmd:`` credential cannot be exported.
"""

from __future__ import annotations

from ringfence.errors import UsageError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from typing import Any

    from ringfence.policy import Policy

PORT = 3128
_HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
_INJECTOR = "type.googleapis.com/envoy.extensions.filters.http.credential_injector.v3.CredentialInjector"
_GENERIC = "type.googleapis.com/envoy.extensions.http.injected_credentials.generic.v3.Generic"
_FILTER_CONFIG = "type.googleapis.com/envoy.config.route.v3.FilterConfig"
_DFP_FILTER = "type.googleapis.com/envoy.extensions.filters.http.dynamic_forward_proxy.v3.FilterConfig"
_DFP_CLUSTER = "type.googleapis.com/envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig"
_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
_HTTP_OPTIONS = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
_ROUTER = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
_STDOUT_LOG = "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"
SYSTEM_CA = "/etc/ssl/certs/ca-certificates.crt"


def _filter_name(credential: str) -> str:
    return f"envoy.filters.http.credential_injector.{credential}"


def _domains(rule: str) -> list[str]:
    """The Envoy ``domains`` of a ringfence host rule (a host, ``*.suffix``, ``host:port``)."""
    host, _, port = rule.rpartition(":") if rule.count(":") == 1 else (rule, "", "")
    return [rule] if port else [host, f"{host}:80", f"{host}:443"]


def bootstrap(policy: Policy, header: str) -> dict[str, Any]:
    network = policy.network
    if not network.enabled:
        raise UsageError("the policy allows no network (--no-network): there is nothing for Envoy to forward")
    by_host: dict[str, list[str]] = {}
    secrets: list[dict[str, Any]] = []
    injectors: list[dict[str, Any]] = []
    for credential in policy.credentials:
        kind, _, source = credential.value.partition(":")
        if kind == "cmd":
            raise UsageError(f'credential "{credential.name}" comes from a command (cmd:), which Envoy cannot run',
                             hint="give the gateway the secret as env:NAME or file:PATH")
        if credential.format != "{secret}":
            raise UsageError(f'credential "{credential.name}" has format {credential.format!r}; Envoy injects the '
                             "secret as it is", hint="drop format and keep the whole header value in the secret")
        data = {"environment_variable": source} if kind == "env" else {"filename": source}
        secrets.append({"name": f"credential-{credential.name}", "generic_secret": {"secret": data}})
        injectors.append({
            "name": _filter_name(credential.name),
            "disabled": True,  # switched on per route, for this credential's hosts only
            "typed_config": {
                "@type": _INJECTOR, "overwrite": True, "allow_request_without_credential": False,
                "credential": {"name": "envoy.http.injected_credentials.generic", "typed_config": {
                    "@type": _GENERIC, "header": credential.header,
                    "credential": {"name": f"credential-{credential.name}"}}},
            },
        })
        for host in credential.hosts:
            by_host.setdefault(host, []).append(credential.name)
    virtual_hosts = [{
        "name": f"denied-{n}", "domains": _domains(rule),
        "routes": [_refusal(f"{rule} is denied by the policy")]} for n, rule in enumerate(network.deny)]
    for n, rule in enumerate(network.allow):
        route: dict[str, Any] = {"match": {"prefix": "/"}, "route": {"cluster": "dynamic_forward_proxy"}}
        enabled = sorted({c for host, names in by_host.items() if host == rule for c in names})
        if enabled:
            route["typed_per_filter_config"] = {_filter_name(c): {"@type": _FILTER_CONFIG, "disabled": False}
                                                for c in enabled}
        virtual_hosts.append({"name": f"allowed-{n}", "domains": _domains(rule), "routes": [route]})
    virtual_hosts.append({"name": "not-allowed", "domains": ["*"],
                          "routes": [_refusal("not in the policy's [network] allow")]})
    manager = {
        "@type": _HCM,
        "stat_prefix": "ringfence_egress",
        "codec_type": "AUTO",
        "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {
            "@type": _STDOUT_LOG, "log_format": {"json_format": {
                "time": "%START_TIME%", "authority": "%REQ(:AUTHORITY)%", "method": "%REQ(:METHOD)%",
                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "status": "%RESPONSE_CODE%",
                "route": "%ROUTE_NAME%", "virtual_host": "%VIRTUAL_CLUSTER_NAME%",
                "bytes_sent": "%BYTES_SENT%", "bytes_received": "%BYTES_RECEIVED%", "duration_ms": "%DURATION%",
            }}}}],
        "route_config": {"name": "allowlist", "virtual_hosts": virtual_hosts},
        "http_filters": [
            *injectors,
            {"name": "envoy.filters.http.dynamic_forward_proxy", "typed_config": {
                "@type": _DFP_FILTER, "dns_cache_config": _dns_cache()}},
            {"name": "envoy.filters.http.router", "typed_config": {"@type": _ROUTER}},
        ],
    }
    return {
        "node": {"id": "ringfence-egress", "cluster": "ringfence"},
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9901}}},
        "static_resources": {
            "listeners": [{
                "name": "ringfence-egress",
                "address": {"socket_address": {"address": "0.0.0.0", "port_value": PORT}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                                                "typed_config": manager}]}],
            }],
            "clusters": [{
                "name": "dynamic_forward_proxy",
                "lb_policy": "CLUSTER_PROVIDED",
                "cluster_type": {"name": "envoy.clusters.dynamic_forward_proxy", "typed_config": {
                    "@type": _DFP_CLUSTER, "dns_cache_config": _dns_cache()}},
                "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                    "@type": _HTTP_OPTIONS, "upstream_http_protocol_options": {
                        "auto_sni": True, "auto_san_validation": True},
                    "explicit_http_config": {"http_protocol_options": {}}}},
                "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": {
                    "@type": _TLS, "common_tls_context": {"validation_context": {
                        "trusted_ca": {"filename": SYSTEM_CA}}}}},
            }],
            "secrets": secrets,
        },
        "layered_runtime": {"layers": [{"name": "static", "static_layer": {"ringfence": header}}]},
    }


def _refusal(why: str) -> dict[str, Any]:
    return {"match": {"prefix": "/"}, "direct_response": {
        "status": 403, "body": {"inline_string": f"ringfence (envoy gateway): {why}\n"}}}


def _dns_cache() -> dict[str, Any]:
    return {"name": "ringfence_dns_cache", "dns_lookup_family": "V4_PREFERRED"}
