"""Helpers for the proxy tests: an in-memory audit sink and in-process origin servers."""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ringfence.audit.record import ConnectionRecord
from ringfence.proxy import ProxyHandle


class ListSink:
    """An audit sink that keeps records in memory (thread-safe; never blocks for long)."""

    def __init__(self) -> None:
        self.records: list[ConnectionRecord] = []
        self._lock = threading.Lock()

    def record(self, rec: ConnectionRecord) -> None:
        with self._lock:
            self.records.append(rec)

    def snapshot(self) -> list[ConnectionRecord]:
        with self._lock:
            return list(self.records)


@dataclass
class RunningProxy:
    port: int
    sink: ListSink
    handle: ProxyHandle
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"


def listening_tcp() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def big_payload(size: int) -> bytes:
    block = hashlib.sha256(str(size).encode()).digest() * 2048  # 64 KiB of varied bytes
    return (block * (size // len(block) + 1))[:size]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: OriginServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.requestline, dict(self.headers.items())))
        path = self.path.split("?", 1)[0]
        if path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n")
        elif path == "/close":
            body = big_payload(self.server.close_size)
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            body = b"hello from " + path.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "keep-alive")
            self.send_header("Keep-Alive", "timeout=5")
            self.end_headers()
            self.wfile.write(body)

    def do_POST(self) -> None:
        self.server.seen.append((self.requestline, dict(self.headers.items())))
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        answer = f"{len(body)} {hashlib.sha256(body).hexdigest()}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _read_chunked(self) -> bytes:
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0], 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()


class OriginServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, dict[str, str]]] = []
        self.close_size = 8 * 1024 * 1024 + 5

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class BlastOrigin:
    """Accepts, writes ``size`` bytes at once and closes at once: the half-close tail test."""

    def __init__(self, size: int) -> None:
        self.payload = big_payload(size)
        self.sock = listening_tcp()
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._blast, args=(conn,), daemon=True).start()

    def _blast(self, conn: socket.socket) -> None:
        with conn:
            conn.sendall(self.payload)

    def close(self) -> None:
        self.sock.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connecting gets ECONNREFUSED)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port

