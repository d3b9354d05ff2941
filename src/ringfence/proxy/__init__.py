"""The egress proxy: the sandbox's only way out.

One listening socket serves HTTP/1.1 forward proxying, CONNECT tunnels and SOCKS5 (the
first byte tells them apart). Every destination is decided by the ``[network]`` host rules
and vetted against DNS rebinding; every decision becomes one ``ConnectionRecord``.

The core (``http1``, ``socks5``, ``policy``, ``flow``) is sans-IO; only ``server`` uses
asyncio, and it is imported on first use of a name that needs it, so importing this package
stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ringfence.proxy.config import AuditSink, ProxyConfig

if TYPE_CHECKING:
    from ringfence.proxy.server import ProxyHandle, ProxyServer, serve_forever, start_in_thread

__all__ = ["AuditSink", "ProxyConfig", "ProxyHandle", "ProxyServer", "serve_forever", "start_in_thread"]

_LAZY = {"ProxyHandle", "ProxyServer", "serve_forever", "start_in_thread"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ringfence.proxy import server

        return getattr(server, name)
    raise AttributeError(f"module 'ringfence.proxy' has no attribute {name!r}")
