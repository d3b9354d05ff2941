"""TLS termination: ringfence's CA, leaf certificates per host, and sans-IO TLS sessions.

- ``ca``: the CA in ``<state>/ca/`` (created on first use, ``rotate``-able) and the trust
  bundle (system roots + the CA) a sandbox gets;
- ``leaf``: server contexts presenting a leaf per host (``LeafCache``) and the client
  context for upstreams (``upstream_context``);
- ``session``: ``TlsSession``, TLS over memory buffers for the proxy's own transports.

Names load on first use: ``ensure_bundle`` on the start-up path of ``ringfence run`` must
not import ``ssl`` or ``cryptography``.
"""

from __future__ import annotations

from ringfence.tls.errors import TlsError, TlsSessionError

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from ringfence.tls.ca import (
        CertificateAuthority,
        ca_cert_path,
        ensure_bundle,
        load_or_create,
        rotate,
    )
    from ringfence.tls.leaf import LeafCache, upstream_context
    from ringfence.tls.session import TlsSession

__all__ = [
    "CertificateAuthority",
    "LeafCache",
    "TlsError",
    "TlsSession",
    "TlsSessionError",
    "ca_cert_path",
    "ensure_bundle",
    "load_or_create",
    "rotate",
    "upstream_context",
]

_LAZY = {
    "CertificateAuthority": "ca",
    "ca_cert_path": "ca",
    "ensure_bundle": "ca",
    "load_or_create": "ca",
    "rotate": "ca",
    "LeafCache": "leaf",
    "upstream_context": "leaf",
    "TlsSession": "session",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())
