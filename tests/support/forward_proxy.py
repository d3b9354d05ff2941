"""A minimal recording forward proxy, to check what a client sends to a proxy (outside ringfence).

It takes `CONNECT host:port` (a tunnel) and absolute-form requests (`GET http://host:port/p`,
one per connection: the upstream is asked to close after its answer), records the method,
target and headers of each, and connects only to loopback addresses (403 otherwise): a
client that ignores the proxy, or a test that names a public host, reaches nothing.
"""

from __future__ import annotations

import ipaddress
import selectors
import socket
import socketserver
import threading
import urllib.parse
from dataclasses import dataclass
from typing import Self

MAX_HEAD = 64 * 1024
IDLE_TIMEOUT = 30.0
JOIN_TIMEOUT = 10.0


@dataclass(frozen=True)
class ProxiedRequest:
    method: str
    target: str  # as on the request line: host:port for CONNECT, a URL otherwise
    headers: tuple[tuple[str, str], ...]


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _ProxyServer

    def handle(self) -> None:
        client: socket.socket = self.request
        client.settimeout(IDLE_TIMEOUT)
        head, rest = _read_head(client)
        if head is None:
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = (lines[0].split(" ") + ["", ""])[:3]
        headers = tuple((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line))
        self.server.owner._record(ProxiedRequest(method, target, headers))
        host, port = _host_port(method, target)
        if host is None or not _is_loopback(host):
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host, port), timeout=IDLE_TIMEOUT)
        except OSError:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        with upstream:
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                upstream.sendall(_origin_form(method, target, headers) + rest)
                rest = b""
            if rest:
                upstream.sendall(rest)
            _relay(client, upstream)


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece or len(data) > MAX_HEAD:
            return None, b""
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _host_port(method: str, target: str) -> tuple[str | None, int]:
    if method == "CONNECT":
        parts = urllib.parse.urlsplit("//" + target)
    else:
        parts = urllib.parse.urlsplit(target)
    try:
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None, 0


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _origin_form(method: str, target: str, headers: tuple[tuple[str, str], ...]) -> bytes:
    parts = urllib.parse.urlsplit(target)
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    kept = [(k, v) for k, v in headers if k.lower() not in ("connection", "proxy-connection", "keep-alive")
            and not k.lower().startswith("proxy-")]
    lines = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in kept), "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _relay(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until both directions have ended (half-close passed on)."""
    peers = {a: b, b: a}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ, data=sock)
        open_reads = 2
        while open_reads:
            events = selector.select(IDLE_TIMEOUT)
            if not events:
                return
            for key, _ in events:
                source: socket.socket = key.data
                try:
                    data = source.recv(65536)
                except OSError:
                    return
                if data:
                    peers[source].sendall(data)
                    continue
                selector.unregister(source)
                open_reads -= 1
                try:
                    peers[source].shutdown(socket.SHUT_WR)
                except OSError:
                    pass


class _ProxyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: ForwardProxy, bind: str) -> None:
        self.owner = owner
        super().__init__((bind, 0), _ProxyHandler)


class ForwardProxy:
    """`proxy.url` is `http://127.0.0.1:PORT`; `proxy.requests` what clients asked it."""

    def __init__(self, bind: str = "127.0.0.1") -> None:
        self._requests: list[ProxiedRequest] = []
        self._lock = threading.Lock()
        self._server = _ProxyServer(self, bind)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[ProxiedRequest]:
        with self._lock:
            return list(self._requests)

    def _record(self, request: ProxiedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(JOIN_TIMEOUT)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
