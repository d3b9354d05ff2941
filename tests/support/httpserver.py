"""The threaded HTTP/1.1 server every test server here is built on, and what it records.

`TestServer` owns a `ThreadingHTTPServer` on loopback at port 0, plain or TLS. Each
connection gets a thread; TLS is set up in that thread (so a client that never completes a
handshake holds up no one), with the SNI the client sent recorded through an `sni_callback`.
Connections are kept alive (HTTP/1.1), request bodies may be chunked (RFC 9112 section 7.1,
trailers read and dropped), and responses can be streamed chunk by chunk, each chunk sent
when written (the writer is unbuffered), so a test can see whether something in between
buffers.

Every request is recorded, in arrival order, as a frozen `RecordedRequest` in a list the
test reads (`server.requests`, `server.last`, `server.clear()`). A subclass of
`RecordingHandler` decides the answers; `TestServer.handler` names it.
"""

from __future__ import annotations

import http.server
import itertools
import json
import socket
import socketserver
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from .pki import TestPki

IDLE_TIMEOUT = 30.0  # seconds a kept-alive connection may sit idle (or a handshake take)
MAX_BODY = 64 * 1024 * 1024  # largest request body a handler keeps in memory
MAX_CHUNK_LINE = 4096
JOIN_TIMEOUT = 10.0
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class BadRequest(Exception):
    """The client sent a body this server cannot parse (a malformed chunk, a bad length)."""


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # as sent on the request line, query included
    headers: tuple[tuple[str, str], ...]  # in order, names as sent, repeats kept
    body: bytes  # empty when the handler only counted the body (see body_size)
    body_size: int
    http_version: str
    tls: bool
    sni: str | None  # the server name the client asked for in its TLS ClientHello
    connection: int  # requests with the same number came over one (kept-alive) connection
    client: tuple[str, int]
    time: float = field(default_factory=time.time)

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def route(self) -> str:
        """The path without the query."""
        return urllib.parse.urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

    def contains(self, secret: str | bytes) -> bool:
        """Whether `secret` appears anywhere in the request line, headers or body."""
        raw = secret.encode() if isinstance(secret, str) else secret
        text = "\n".join([self.path, *(f"{k}: {v}" for k, v in self.headers)]).encode()
        return raw in text or raw in self.body

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "headers": [list(h) for h in self.headers],
                "body": self.body.decode("utf-8", "replace"), "body_size": self.body_size,
                "http_version": self.http_version, "tls": self.tls, "sni": self.sni,
                "connection": self.connection}


@dataclass(frozen=True)
class _Connection:
    serial: int
    tls: bool
    sni: str | None


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Reads bodies (chunked or not), records requests, and sends plain or streamed answers.

    Subclasses implement `respond()`; it must consume the request body (`receive()` or
    `iter_body()` then `record()`) before answering, so that the connection stays usable.
    """

    protocol_version = "HTTP/1.1"
    server: _Server

    def respond(self) -> None:
        raise NotImplementedError

    @property
    def owner(self) -> Any:
        """The TestServer this handler answers for (its settings, its routes)."""
        return self.server.owner

    def _dispatch(self) -> None:
        try:
            self.respond()
        except BadRequest as error:
            self.close_connection = True
            self.send_bytes(400, f"bad request: {error}\n".encode())

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch  # noqa: N815

    # ---- the request body ----------------------------------------------------------------

    def iter_body(self) -> Iterator[bytes]:
        """The request body, piece by piece, whatever its framing (RFC 9112 section 6.3)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            yield from self._iter_chunked()
            return
        length = self.headers.get("Content-Length")
        if length is None:
            return
        if not length.strip().isdigit():
            raise BadRequest(f"Content-Length {length!r}")
        remaining = int(length)
        while remaining:
            piece = self.rfile.read(min(remaining, 1 << 16))
            if not piece:
                raise BadRequest("the body ended early")
            remaining -= len(piece)
            yield piece

    def _iter_chunked(self) -> Iterator[bytes]:
        while True:
            line = self.rfile.readline(MAX_CHUNK_LINE)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadRequest(f"chunk size line {line!r}") from None
            if size == 0:
                break
            remaining = size
            while remaining:
                piece = self.rfile.read(min(remaining, 1 << 16))
                if not piece:
                    raise BadRequest("a chunk ended early")
                remaining -= len(piece)
                yield piece
            if self.rfile.readline(MAX_CHUNK_LINE).strip():
                raise BadRequest("no CRLF after a chunk")
        while self.rfile.readline(MAX_CHUNK_LINE).strip():  # trailer fields, then the empty line
            pass

    def receive(self, limit: int = MAX_BODY) -> RecordedRequest:
        """Read the whole body (at most `limit` bytes) and record the request."""
        parts, size = [], 0
        for piece in self.iter_body():
            size += len(piece)
            if size > limit:
                raise BadRequest(f"body larger than {limit} bytes")
            parts.append(piece)
        return self.record(b"".join(parts), size)

    def record(self, body: bytes, size: int) -> RecordedRequest:
        info = self.server.current_connection()
        request = RecordedRequest(
            method=self.command, path=self.path, headers=tuple(self.headers.items()), body=body,
            body_size=size, http_version=self.request_version, tls=info.tls, sni=info.sni,
            connection=info.serial, client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        self.server.owner._append(request)
        return request

    # ---- answers -------------------------------------------------------------------------

    def send_head(self, status: int, headers: list[tuple[str, str]]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()

    def send_bytes(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None,
                   content_type: str = "text/plain; charset=utf-8") -> None:
        head = [("Content-Type", content_type), *(headers or [])]
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            head.append(("Content-Length", str(len(body))))
        self.send_head(status, head)
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def send_json(self, status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_bytes(status, json.dumps(value).encode() + b"\n", headers, "application/json")

    def start_stream(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Begin a response whose body follows in `write_chunk()` calls (chunked on HTTP/1.1)."""
        if self.request_version == "HTTP/1.0":  # no chunked coding: the body ends at close
            self.close_connection = True
            self.send_head(status, [*headers, ("Connection", "close")])
        else:
            self.send_head(status, [*headers, ("Transfer-Encoding", "chunked")])

    def write_chunk(self, data: bytes) -> None:
        """Send `data` now, as one chunk (empty data is skipped: it would end the body)."""
        if not data or self.command == "HEAD":
            return
        if self.request_version == "HTTP/1.0":
            self.wfile.write(data)
        else:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        if self.request_version != "HTTP/1.0" and self.command != "HEAD":
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, owner: TestServer, bind: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET
        self.owner = owner
        self.tls = tls
        self._serials = itertools.count(1)
        self._local = threading.local()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if tls is not None:
            tls.sni_callback = self._remember_sni
        super().__init__((bind, port), owner.handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks the resolver for a FQDN (socket.getfqdn): not needed here
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])

    def _remember_sni(self, _sock: Any, server_name: str | None, _context: ssl.SSLContext) -> None:
        self._local.sni = server_name  # the handshake runs in the connection's own thread

    def current_connection(self) -> _Connection:
        return self._local.connection  # type: ignore[no-any-return]

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(IDLE_TIMEOUT)
        self._local.sni = None
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (OSError, ssl.SSLError) as error:
                self.owner._tls_error(error)
                return
        self._local.connection = _Connection(next(self._serials), self.tls is not None, self._local.sni)
        with self._open_lock:
            self._open.add(request)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._open_lock:
                self._open.discard(request)
            if self.tls is not None:
                request.close()

    def close_open_connections(self) -> None:
        with self._open_lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, ssl.SSLError)):
            return  # a client that went away, or a proxy that cut a connection: a test's business
        if error is not None:
            self.owner.errors.append(error)
        traceback.print_exc()


class TestServer:
    """A server on loopback at a kernel-chosen port, running in threads, recording requests."""

    __test__ = False  # not a pytest test class, despite the name
    handler: ClassVar[type[RecordingHandler]]

    def __init__(self, pki: TestPki | None = None, *, bind: str = "127.0.0.1", port: int = 0) -> None:
        self.pki = pki
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Condition()
        self.tls_errors: list[BaseException] = []
        self.errors: list[BaseException] = []
        self._httpd = _Server(self, bind, port, pki.server_context() if pki else None)
        self._thread: threading.Thread | None = None

    # ---- where it is ---------------------------------------------------------------------

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self.pki else "http"

    @property
    def netloc(self) -> str:
        """host:port, with brackets around an IPv6 address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash: `https://127.0.0.1:PORT`."""
        return f"{self.scheme}://{self.netloc}"

    # ---- what it received ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError(f"{type(self).__name__} at {self.url} has received no request")
            return self._requests[-1]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Wait until at least `count` requests are recorded; returns them (maybe fewer)."""
        with self._lock:
            self._lock.wait_for(lambda: len(self._requests) >= count, timeout)
            return list(self._requests)

    def _append(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)
            self._lock.notify_all()

    def _tls_error(self, error: BaseException) -> None:
        with self._lock:
            self.tls_errors.append(error)

    # ---- life ----------------------------------------------------------------------------

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self!r} is already started")
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__}-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(JOIN_TIMEOUT)
            self._thread = None
        self._httpd.close_open_connections()
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"
