"""A run's credentials, gateways and TLS termination, prepared outside the sandbox.

``Egress.prepare`` runs in the supervisor before the sandbox starts: it resolves every
secret (a missing one stops the run, naming the credential), makes the per-run
placeholders, writes the CA bundle the sandbox trusts, and computes the variables the
sandbox gets. The proxy process (forked from the supervisor, so it inherits the resolved
store) then builds its ``Inspector`` and TLS contexts from it. Nothing here ever puts a
secret into the sandbox's environment, its files, a message or ``--dry-run``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ringfence.errors import ProxyError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    from ringfence.credentials import SecretStore
    from ringfence.policy import Policy
    from ringfence.proxy.inspect import Inspector, Route

# Where the sandbox finds the CA bundle (system roots + ringfence's CA); /run is the
# sandbox's own tmpfs, so the bind creates it there.
BUNDLE_IN_SANDBOX = "/run/ringfence/ca-bundle.pem"

# Every variable common clients read for a CA bundle (issue 3 §3).
CA_BUNDLE_ENV = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
                 "PIP_CERT", "AWS_CA_BUNDLE")


@dataclass
class Egress:
    """What a run's proxy needs beyond the host rules, and what the sandbox sees of it."""

    policy: Policy
    state_dir: str
    store: SecretStore | None = None
    placeholders: dict[str, str] = field(default_factory=dict)  # credential name -> placeholder
    env: dict[str, str] = field(default_factory=dict)  # set inside the sandbox
    drop_env: frozenset[str] = frozenset()  # never passed in (they hold secrets)
    bundle: str | None = None  # the CA bundle on the host, bound read-only into the sandbox

    def __repr__(self) -> str:  # the store's secrets stay out of any repr
        return f"Egress(credentials={sorted(self.placeholders)}, bundle={self.bundle!r})"

    @classmethod
    def prepare(cls, policy: Policy, *, state_dir: str, environ: Mapping[str, str], port: int | None,
                resolve: bool = True) -> Egress | None:
        """None when the policy asks for nothing beyond host rules (the usual fast path).

        ``resolve=False`` (``--dry-run``) neither reads secrets nor runs ``cmd:`` sources nor
        touches the CA: placeholders are shown as ``<placeholder>``.
        """
        terminated = policy.terminated_hosts()
        if not policy.credentials and not policy.gateways and not terminated and not policy.request_rules():
            return None
        egress = cls(policy, state_dir)
        egress.drop_env = frozenset(_env_sources(policy))
        if resolve:
            from ringfence.credentials import SecretStore, make_placeholder

            egress.store = SecretStore.resolve(policy.credentials, environ)
            for credential in policy.credentials:
                egress.placeholders[credential.name] = make_placeholder(len(egress.store.value(credential.name)))
            _check_upstream_cas(policy.network.upstream_ca)
        else:
            egress.placeholders = {c.name: "<placeholder>" for c in policy.credentials}
        for credential in policy.credentials:
            if credential.placeholder_env:
                egress.env[credential.placeholder_env] = egress.placeholders[credential.name]
        if port is not None:
            for gateway in policy.gateways:
                if gateway.base_url_env:
                    egress.env[gateway.base_url_env] = f"http://127.0.0.1:{port}/{gateway.name}"
        if terminated:
            if resolve:
                from ringfence.tls import ensure_bundle

                egress.bundle = ensure_bundle(state_dir)
            else:
                egress.bundle = os.path.join(state_dir, "ca", "bundle.pem")
            egress.env.update({name: BUNDLE_IN_SANDBOX for name in CA_BUNDLE_ENV})
        return egress

    # ---- in the proxy process ----
    def inspector(self) -> Inspector:
        from ringfence.policy.hosts import HostRules
        from ringfence.proxy.inspect import Binding, Inspector

        policy = self.policy
        bindings = [Binding(c.name, HostRules.parse(c.hosts, ()), c.header, self.placeholders[c.name])
                    for c in policy.credentials]
        rules = policy.request_rules()
        requests = rates = None
        if rules:
            from ringfence.credentials import RequestPolicy

            requests = RequestPolicy(rules)
        if policy.network.rate:
            from ringfence.credentials import RateLimiter

            rates = RateLimiter(policy.network.rate)
        return Inspector(terminate=HostRules.parse(policy.terminated_hosts(), ()), bindings=bindings,
                         store=self.store, requests=requests, rates=rates, routes=_routes(policy))

    def start_refresher(self) -> None:
        """In the proxy process: refresh ``cmd:`` secrets ahead of their TTL on a thread of
        their own, so the event loop never runs a command."""
        store = self.store
        names = [c.name for c in self.policy.credentials if c.value.startswith("cmd:")]
        if store is None or not names:
            return
        import threading

        def refresh() -> None:
            import time

            while True:
                for credential in self.policy.credentials:
                    if credential.name in names:
                        store.refresh_ahead(credential.name, lead=min(credential.cache_ttl / 4, 60.0))
                time.sleep(1.0)

        threading.Thread(target=refresh, name="ringfence-secret-refresh", daemon=True).start()

    def tls(self) -> TlsContexts:
        return TlsContexts(self.state_dir, tuple(self.policy.network.upstream_ca))


class TlsContexts:
    """The proxy's ``TlsProvider``: the CA is loaded (or made) on the first terminated host."""

    def __init__(self, state_dir: str, upstream_ca: tuple[str, ...]) -> None:
        self.state_dir = state_dir
        self.upstream_ca = upstream_ca
        self._leaves: object = None
        self._upstream: ssl.SSLContext | None = None

    def leaf(self, host: str) -> ssl.SSLContext:
        from ringfence.tls import LeafCache, load_or_create

        if self._leaves is None:
            self._leaves = LeafCache(load_or_create(self.state_dir))
        assert isinstance(self._leaves, LeafCache)
        return self._leaves.context_for(host)

    def upstream(self) -> ssl.SSLContext:
        if self._upstream is None:
            from ringfence.tls import upstream_context

            self._upstream = upstream_context(self.upstream_ca)
        return self._upstream


def _env_sources(policy: Policy) -> list[str]:
    """Variables that hold a secret on the host (``env:NAME`` sources): never passed in."""
    return [c.value[4:] for c in policy.credentials if c.value.startswith("env:")]


def _check_upstream_cas(paths: tuple[str, ...] | list[str]) -> None:
    for path in paths:
        try:
            with open(path, "rb") as fh:
                fh.read(1)
        except OSError as exc:
            raise ProxyError(f"[network] upstream_ca: cannot read {path}: {exc.strerror}",
                             hint="fix the path in the policy, or remove it from upstream_ca") from None


def _routes(policy: Policy) -> dict[str, Route]:
    from urllib.parse import urlsplit

    from ringfence.proxy.inspect import Route

    routes: dict[str, Route] = {}
    for gateway in policy.gateways:
        parts = urlsplit(gateway.url)
        scheme = parts.scheme
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
        authority = parts.netloc
        routes[gateway.name] = Route(gateway.name, scheme, host, port, parts.path.rstrip("/"), authority)
    return routes


__all__ = ["BUNDLE_IN_SANDBOX", "CA_BUNDLE_ENV", "Egress", "TlsContexts"]
