"""An origin server for the end-to-end tests: plain or TLS, on 127.0.0.1 (or .2, .3, ::1).

Routes (any method; a HEAD gets the head only):

- `/echo`: JSON of what arrived: method, path, headers (a list of [name, value]), body as
  text, body_size, http_version, tls, sni, connection.
- `/reflect`: every request header back as `x-reflect-<name>: value`, and as `name: value`
  lines in a chunked body sent 3 bytes a chunk, so a value is split across chunk boundaries.
- `/sse?n=5&delay=0.2`: n server-sent events, `delay` seconds apart, each sent on its own
  (chunked); an event's data is `{"i": index, "sent": unix time}`.
- `/status/NNN`: status NNN (`?location=URL` adds a Location header).
- `/bytes/N`: N bytes of `expected_bytes(N)`, with Content-Length.
- `/big-upload`: reads the body without keeping it; JSON `{"size": N, "sha256": hex}`.
- `/delay/S`: waits S seconds (at most 30), then `ok`.
- a path given to `route()`: the `Reply` (or what the callable returns) given there.
- anything else: 200 `ok`.

`Origin(pki)` serves TLS with the test PKI's server certificate; `Origin()` plain HTTP;
`Origin(pki, bind="127.0.0.2")` a second "host" on loopback.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .httpserver import BadRequest, RecordedRequest, RecordingHandler, TestServer
from .pki import TestPki

REFLECT_PREFIX = "x-reflect-"
REFLECT_CHUNK = 3  # bytes per chunk of /reflect's body
MAX_EVENTS = 1000
MAX_DELAY = 30.0
_BLOCK = random.Random(20261122).randbytes(1 << 20)


def expected_bytes(size: int) -> bytes:
    """What `/bytes/<size>` sends: a fixed pseudo-random 1 MiB block, repeated and cut."""
    whole, rest = divmod(size, len(_BLOCK))
    return _BLOCK * whole + _BLOCK[:rest]


def reflect_body(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> bytes:
    """What `/reflect` sends as its body for these request headers."""
    return "".join(f"{name}: {value}\n" for name, value in headers).encode("latin-1")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadRequest(f"not a number: {text!r}") from None
    if not value >= 0:  # also refuses NaN
        raise BadRequest(f"not a non-negative number: {text!r}")
    return value


@dataclass(frozen=True)
class Reply:
    """A canned answer for `Origin.route()`."""

    status: int = 200
    body: bytes = b"ok\n"
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    content_type: str = "text/plain; charset=utf-8"


Route = Reply | Callable[[RecordedRequest], Reply]


class _OriginHandler(RecordingHandler):
    owner: Origin

    def respond(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == "/big-upload":
            self._big_upload()
            return
        request = self.receive()
        custom = self.owner.routes.get(route)
        if custom is not None:
            reply = custom(request) if callable(custom) else custom
            self.send_bytes(reply.status, reply.body, list(reply.headers), reply.content_type)
        elif route == "/echo":
            self.send_json(200, request.to_json())
        elif route == "/reflect":
            self._reflect(request)
        elif route == "/sse":
            self._sse(request)
        elif route.startswith("/status/") and route[8:].isdigit() and len(route) == 11:
            self._status(request, int(route[8:]))
        elif route.startswith("/bytes/") and route[7:].isdigit():
            self._bytes(int(route[7:]))
        elif route.startswith("/delay/"):
            time.sleep(min(_number(route[7:]), MAX_DELAY))
            self.send_bytes(200, b"ok\n")
        else:
            self.send_bytes(200, b"ok\n")

    def _reflect(self, request: RecordedRequest) -> None:
        headers = [(REFLECT_PREFIX + name.lower(), value) for name, value in request.headers]
        self.start_stream(200, [("Content-Type", "text/plain; charset=latin-1"), *headers])
        body = reflect_body(request.headers)
        for start in range(0, len(body), REFLECT_CHUNK):
            self.write_chunk(body[start : start + REFLECT_CHUNK])
        self.end_stream()

    def _sse(self, request: RecordedRequest) -> None:
        count = min(int(_number(request.query.get("n", ["5"])[0])), MAX_EVENTS)
        delay = min(_number(request.query.get("delay", ["0.2"])[0]), MAX_DELAY)
        self.start_stream(200, [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")])
        for index in range(count):
            if index:
                time.sleep(delay)
            data = json.dumps({"i": index, "sent": time.time()})
            self.write_chunk(f"id: {index}\nevent: tick\ndata: {data}\n\n".encode())
        self.end_stream()

    def _status(self, request: RecordedRequest, status: int) -> None:
        location = request.query.get("location")
        headers = [("Location", location[0])] if location else []
        self.send_bytes(status, f"status {status}\n".encode(), headers)

    def _bytes(self, size: int) -> None:
        self.send_head(200, [("Content-Type", "application/octet-stream"), ("Content-Length", str(size))])
        if self.command == "HEAD":
            return
        view = memoryview(_BLOCK)
        remaining = size
        while remaining:
            piece = min(remaining, len(_BLOCK))
            self.wfile.write(view[:piece])
            remaining -= piece

    def _big_upload(self) -> None:
        digest, size = hashlib.sha256(), 0
        for piece in self.iter_body():
            digest.update(piece)
            size += len(piece)
        self.record(b"", size)
        self.send_json(200, {"size": size, "sha256": digest.hexdigest()})


class Origin(TestServer):
    """An origin at `origin.url`; `origin.requests` is what it received, in order."""

    handler = _OriginHandler

    def __init__(self, pki: TestPki | None = None, *, bind: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(pki, bind=bind, port=port)
        self.routes: dict[str, Route] = {}

    def route(self, path: str, reply: Route) -> None:
        """Answer `path` (without query) with `reply`, or with what `reply(request)` returns."""
        self.routes[path] = reply
