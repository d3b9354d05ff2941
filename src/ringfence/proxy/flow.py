"""One agent connection as a sans-IO state machine: events in, commands out.

The server feeds what happened (``client_data``, ``upstream_connected``, ``upstream_data``,
``client_eof`` ...) and executes the commands that come back (``SendClient``,
``OpenUpstream``, ``StartTunnel``, ``Record`` ...). Nothing here touches a socket, so every
path, including refusals and protocol errors, is testable by feeding bytes.

Rules this module keeps:

- the first byte decides the protocol: 0x05 is SOCKS5 (RFC 1928), anything else HTTP/1.1;
- each HTTP request is decided on its own, even on a kept-alive connection, and exactly one
  ``Record`` is emitted per decision (refusals at once; tunnels when they end);
- requests are handled one at a time: bytes of a pipelined next request wait (bounded,
  then the client is paused) until the current response is complete;
- a record never carries a query string or a header value;
- every buffer is bounded by ``Limits`` and ``max_pending``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from ringfence.audit.record import ConnectionRecord, Decision
from ringfence.policy.hosts import HostRuleError
from ringfence.proxy import http1
from ringfence.proxy.http1 import BodyFramer, Framing, HttpError, Request
from ringfence.proxy.policy import Decider, Outcome
from ringfence.proxy.socks5 import ConnectRequested, Reply, Socks5Negotiation, SocksError, reply


# ---- commands (imperatives) ----
@dataclass(slots=True)
class SendClient:
    data: bytes


@dataclass(slots=True)
class SendUpstream:
    data: bytes


@dataclass(slots=True)
class OpenUpstream:
    """Resolve (names only), vet with ``Decider.vet`` (names only), then connect."""

    outcome: Outcome
    literal: bool


@dataclass(slots=True)
class CloseUpstream:
    pass


@dataclass(slots=True)
class StartTunnel:
    """Relay opaque bytes both ways from now on; ``data`` goes upstream first."""

    data: bytes


@dataclass(slots=True)
class CloseClient:
    """Close the agent's connection after what was sent; ``abort`` drops it at once."""

    abort: bool = False


@dataclass(slots=True)
class PauseClient:
    pass


@dataclass(slots=True)
class ResumeClient:
    pass


@dataclass(slots=True)
class Record:
    record: ConnectionRecord


Command = (
    SendClient | SendUpstream | OpenUpstream | CloseUpstream | StartTunnel | CloseClient | PauseClient | ResumeClient
    | Record
)


@dataclass(frozen=True)
class Context:
    """What every flow of one server shares."""

    decider: Decider
    run_id: str
    command: str = ""
    limits: http1.Limits = http1.DEFAULT_LIMITS
    max_pending: int = 256 * 1024  # agent bytes held while waiting for an upstream


_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"  # RFC 9110 §9.3.6
_NO_BODY = BodyFramer(Framing.NONE)  # stateless (always done), so one instance serves every flow


class Mode(Enum):
    SNIFF = "sniff"
    HTTP = "http"
    SOCKS = "socks"
    TUNNEL = "tunnel"
    CLOSED = "closed"


class Side(Enum):
    """Where one direction of the current HTTP exchange is (h11-style, one per direction)."""

    IDLE = "idle"
    HEAD = "head"
    CONNECTING = "connecting"
    BODY = "body"
    DONE = "done"


class Upstream(Enum):
    NONE = "none"
    CONNECTING = "connecting"
    OPEN = "open"


@dataclass(slots=True)
class _Exchange:
    """The HTTP request in flight: what the record will say about it."""

    request: Request
    outcome: Outcome
    started: float
    wall: float
    keep_alive: bool
    status: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class Flow:
    """The state machine of one agent connection. See the module docstring."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.mode = Mode.SNIFF
        self.request_side = Side.HEAD
        self.response_side = Side.IDLE
        self.upstream = Upstream.NONE
        self.upstream_key: tuple[str, int] | None = None
        self.upstream_reusable = False
        self.client_closed = False
        self.paused = False
        self._buf = bytearray()
        self._resp_buf = bytearray()
        self._pending_head = b""
        self._exchange: _Exchange | None = None
        self._req_framer = _NO_BODY
        self._resp_framer = _NO_BODY
        self._socks: Socks5Negotiation | None = None
        self._tunnel: tuple[str, Outcome, float, float] | None = None  # protocol, outcome, t0, wall

    # ---- events from the agent ----
    def client_data(self, data: bytes) -> list[Command]:
        if self.mode is Mode.HTTP and self.request_side is Side.BODY and not self._buf:
            return self._body_fast(data)
        if self.mode is Mode.SNIFF and data:
            self.mode = Mode.SOCKS if data[0] == 0x05 else Mode.HTTP
            if self.mode is Mode.SOCKS:
                self._socks = Socks5Negotiation()
        out: list[Command] = []
        if self.mode is Mode.HTTP:
            if not self._buf and self.request_side is Side.HEAD and self.response_side is Side.IDLE:
                data = self._head_fast(data, out)  # the usual case: a whole head in one read
            self._buf += data
            self._advance_request(out)
        elif self.mode is Mode.SOCKS:
            self._socks_data(data, out)
        self._flow_control(out)
        return out

    def client_eof(self) -> list[Command]:
        self.client_closed = True
        out: list[Command] = []
        if self.mode is Mode.HTTP and self._exchange is not None and self._req_framer.done:
            return out  # a client may half-close after its request (RFC 9112 §9.6); answer it, then close
        if self._tunnel is not None and self.mode is not Mode.TUNNEL:
            self._error(out, "the agent went away before the upstream connected", 0)
        if self.mode is Mode.HTTP and self.request_side is Side.BODY:
            self._error(out, "the agent closed the connection in the middle of a request body", 0)
        self._close_all(out)
        return out

    # ---- events from the upstream ----
    def upstream_connected(self) -> list[Command]:
        out: list[Command] = []
        if self.mode is Mode.CLOSED:
            return [CloseUpstream()]
        self.upstream = Upstream.OPEN
        if self._tunnel is not None:
            protocol = self._tunnel[0]
            greeting = reply(Reply.SUCCEEDED) if protocol == "socks5" else _ESTABLISHED
            out.append(SendClient(greeting))
            out.append(StartTunnel(bytes(self._buf)))
            self._buf.clear()
            self.mode = Mode.TUNNEL
            if self.paused:
                self.paused = False
                out.append(ResumeClient())
            return out
        out.append(SendUpstream(self._pending_head))
        self._pending_head = b""
        self.request_side = Side.DONE if self._req_framer.done else Side.BODY
        self._advance_request(out)
        self._flow_control(out)
        return out

    def upstream_refused(self, outcome: Outcome) -> list[Command]:
        """Vetting the resolved addresses refused the destination (anti-rebinding)."""
        out: list[Command] = []
        self.upstream = Upstream.NONE
        self._deny(out, outcome, close=True)
        return out

    def upstream_failed(self, reason: str, socks_code: Reply = Reply.HOST_UNREACHABLE) -> list[Command]:
        out: list[Command] = []
        self.upstream = Upstream.NONE
        self.upstream_key = None
        if self.mode is Mode.CLOSED:
            return out
        self._error(out, reason, 502, socks_code)
        self._close_all(out)
        return out

    def upstream_data(self, data: bytes) -> list[Command]:
        out: list[Command] = []
        if self.response_side is Side.HEAD and not self._resp_buf:
            data = self._response_head_fast(data, out)
        if not data:
            pass
        elif self.response_side is Side.BODY and not self._resp_buf:
            self._response_body(data, out)
        elif self.response_side in (Side.HEAD, Side.BODY):
            self._resp_buf += data
            self._advance_response(out)
        else:
            self.upstream_reusable = False  # bytes nobody asked for: never reuse this connection
            out.append(CloseUpstream())
            self._upstream_gone()
        self._flow_control(out)
        return out

    def upstream_eof(self) -> list[Command]:
        if self.mode is Mode.CLOSED:
            return []
        out: list[Command] = [CloseUpstream()]
        side = self.response_side
        self._upstream_gone()
        if side is Side.BODY and self._resp_framer.framing is Framing.UNTIL_CLOSE:
            self._resp_framer.eof()
            self.response_side = Side.DONE
            self._finish_exchange(out)
        elif side is Side.HEAD and self._exchange is not None and not self._resp_buf:
            self._error(out, "the upstream closed the connection without a response", 502)
            self._close_all(out)
        elif side in (Side.HEAD, Side.BODY):
            self._error(out, "the upstream closed the connection in the middle of a response", 0)
            self._close_all(out, abort=True)
        return out

    def tunnel_ended(self, bytes_up: int, bytes_down: int) -> list[Command]:
        if self._tunnel is None:
            return []
        protocol, outcome, started, wall = self._tunnel
        self._tunnel = None
        self.mode = Mode.CLOSED
        rec = self._record(protocol, outcome.host, outcome.port, Decision.ALLOW, outcome.rule, wall)
        return [Record(_with(rec, bytes_up=bytes_up, bytes_down=bytes_down, duration_ms=_ms(started)))]

    # ---- HTTP request side ----
    def _advance_request(self, out: list[Command]) -> None:
        while self.mode is Mode.HTTP:
            if self.request_side is Side.HEAD:
                if self.response_side is not Side.IDLE or not self._read_head(out):
                    return
            elif self.request_side is Side.BODY and self._buf:
                data = bytes(self._buf)
                self._buf.clear()
                self._request_body(data, out)
            else:
                return

    def _head_fast(self, data: bytes, out: list[Command]) -> bytes:
        """Handle a complete head at the start of ``data`` without buffering; returns the rest."""
        end = data.find(b"\r\n\r\n")
        if end < 0 or end + 4 > self.ctx.limits.max_head:
            return data
        self._handle_head(data[: end + 4], out)
        return data[end + 4 :] if self.mode is Mode.HTTP else b""

    def _read_head(self, out: list[Command]) -> bool:
        try:
            end = http1.find_head_end(self._buf, self.ctx.limits.max_head)
        except HttpError as exc:
            self._bad_request(out, exc)
            return False
        if end < 0:
            return False
        head = bytes(self._buf[:end])
        del self._buf[:end]
        self._handle_head(head, out)
        return True

    def _handle_head(self, head: bytes, out: list[Command]) -> None:
        try:
            request = http1.parse_request(head, self.ctx.limits)
        except HttpError as exc:
            self._bad_request(out, exc)
            return
        if request.method == "CONNECT":
            self._connect(request, out)
        else:
            self._forward(request, out)

    def _body_fast(self, data: bytes) -> list[Command]:
        out: list[Command] = []
        self._request_body(data, out)
        self._flow_control(out)
        return out

    def _request_body(self, data: bytes, out: list[Command]) -> None:
        try:
            n = self._req_framer.feed(data)
        except HttpError as exc:
            self._error(out, exc.reason, 0)
            self._close_all(out, abort=True)
            return
        out.append(SendUpstream(data if n == len(data) else data[:n]))
        if self._exchange is not None:
            self._exchange.bytes_up += n
        if self._req_framer.done:
            self.request_side = Side.DONE
            if n < len(data):
                self._buf[:0] = data[n:]

    def _connect(self, request: Request, out: list[Command]) -> None:
        outcome = self._decide(request, "connect", out)
        if outcome is None:
            return
        if not outcome.allowed:
            self._deny(out, outcome, close=True, request=request, protocol="connect")
            return
        self._tunnel = ("connect", outcome, time.monotonic(), time.time())
        self.request_side = Side.CONNECTING
        self.upstream = Upstream.CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal))

    def _forward(self, request: Request, out: list[Command]) -> None:
        outcome = self._decide(request, "http", out)
        if outcome is None:
            return
        if not self._host_matches(request, outcome, out):
            return
        try:
            framing, length = http1.request_framing(request)
        except HttpError as exc:
            self._bad_request(out, exc)
            return
        self._req_framer = _NO_BODY if framing is Framing.NONE else BodyFramer(framing, length, self.ctx.limits)
        exchange = _Exchange(request, outcome, time.monotonic(), time.time(), http1.request_keeps_alive(request))
        if not outcome.allowed:
            self._exchange = exchange
            self._deny(out, outcome, close=framing is not Framing.NONE or not exchange.keep_alive, request=request)
            return
        self._exchange = exchange
        self.response_side = Side.HEAD
        head = _upstream_head(request)
        key = (outcome.host, outcome.port)
        if self.upstream is Upstream.OPEN and self.upstream_key == key and self.upstream_reusable:
            out.append(SendUpstream(head))
            self.request_side = Side.DONE if self._req_framer.done else Side.BODY
            return
        if self.upstream is not Upstream.NONE:
            out.append(CloseUpstream())
        self._pending_head = head
        self.upstream, self.upstream_key = Upstream.CONNECTING, key
        self.request_side = Side.CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal))

    def _decide(self, request: Request, protocol: str, out: list[Command]) -> Outcome | None:
        try:
            return self.ctx.decider.decide(request.host, request.port)
        except HostRuleError:
            self._bad_request(out, HttpError(400, "the request target names an invalid host"), request, protocol)
            return None

    def _host_matches(self, request: Request, outcome: Outcome, out: list[Command]) -> bool:
        # RFC 9112 §3.2.2 has a proxy replace Host with the target's authority; ringfence
        # refuses instead, because a disagreement is either a bug or an attempt to reach one
        # host while the policy looks at another (domain fronting through a shared origin).
        values = request.special.get(b"host", [])
        if not values or len(values) == 1 and values[0] == request.authority.encode("ascii"):
            return True  # absent, or byte-for-byte the target's authority (the usual case)
        try:
            if len(values) > 1:
                raise HttpError(400, "more than one Host header")
            host, port = http1.parse_authority(values[0].decode("ascii"), default_port=80)
            same = self.ctx.decider.decide(host, port)
        except (HttpError, HostRuleError, UnicodeDecodeError):
            self._bad_request(out, HttpError(400, "malformed Host header"), request, "http")
            return False
        if (same.host, same.port) == (outcome.host, outcome.port):
            return True
        where = f"{outcome.host}:{outcome.port}"
        reason = f"the Host header does not match the request target {where}"
        shown = values[0].decode("ascii")
        message = f"ringfence: refused: Host header {shown!r} does not match the request target ({where})\n"
        refused = Outcome(False, outcome.host, outcome.port, "", reason, message)
        self._deny(out, refused, close=True, request=request)
        return False

    # ---- HTTP response side ----
    def _response_head_fast(self, data: bytes, out: list[Command]) -> bytes:
        """Handle a complete response head at the start of ``data``; returns the rest."""
        end = data.find(b"\r\n\r\n")
        if end < 0 or end + 4 > self.ctx.limits.max_head:
            return data
        try:
            self._response_head(http1.parse_response(data[: end + 4], self.ctx.limits), out)
        except HttpError as exc:
            self._error(out, f"bad response from upstream: {exc.reason}", 502)
            self._close_all(out)
            return b""
        return data[end + 4 :]

    def _advance_response(self, out: list[Command]) -> None:
        while self.response_side is Side.HEAD:
            try:
                end = http1.find_head_end(self._resp_buf, self.ctx.limits.max_head)
                if end < 0:
                    return
                head = bytes(self._resp_buf[:end])
                del self._resp_buf[:end]
                self._response_head(http1.parse_response(head, self.ctx.limits), out)
            except HttpError as exc:
                self._error(out, f"bad response from upstream: {exc.reason}", 502)
                self._close_all(out)
                return
        if self.response_side is Side.BODY and self._resp_buf:
            data = bytes(self._resp_buf)
            self._resp_buf.clear()
            self._response_body(data, out)

    def _response_head(self, response: http1.Response, out: list[Command]) -> None:
        exchange = self._exchange
        assert exchange is not None, "a response head is read only for a request in flight"
        if 100 <= response.status < 200:
            if response.status == 101:
                raise HttpError(502, "upstream switched protocols, which this proxy does not relay")
            if exchange.request.version == b"HTTP/1.1":  # 1xx are not sent to HTTP/1.0 (RFC 9110 §15.2)
                out.append(SendClient(http1.serialize_head(response.line, http1.filter_headers(response))))
            return
        framing, length = http1.response_framing(response, exchange.request.method)
        self._resp_framer = _NO_BODY if framing is Framing.NONE else BodyFramer(framing, length, self.ctx.limits)
        until_close = framing is Framing.UNTIL_CLOSE
        exchange.status = response.status
        exchange.keep_alive = exchange.keep_alive and not until_close and not self.client_closed
        self.upstream_reusable = http1.response_keeps_alive(response) and not until_close
        extra = b"" if exchange.keep_alive else b"Connection: close\r\n"
        out.append(SendClient(http1.serialize_head(response.line, http1.filter_headers(response), extra)))
        self.response_side = Side.BODY
        if self._resp_framer.done:
            self.response_side = Side.DONE
            self._finish_exchange(out)

    def _response_body(self, data: bytes, out: list[Command]) -> None:
        try:
            n = self._resp_framer.feed(data)
        except HttpError as exc:
            self._error(out, f"bad response body from upstream: {exc.reason}", 0)
            self._close_all(out, abort=True)
            return
        out.append(SendClient(data if n == len(data) else data[:n]))
        if self._exchange is not None:
            self._exchange.bytes_down += n
        if n < len(data):
            self.upstream_reusable = False  # bytes after the response: the framing disagrees
        if self._resp_framer.done:
            self.response_side = Side.DONE
            self._finish_exchange(out)

    def _finish_exchange(self, out: list[Command]) -> None:
        exchange = self._exchange
        assert exchange is not None
        request = exchange.request
        outcome = exchange.outcome
        out.append(Record(ConnectionRecord(
            time=exchange.wall, run_id=self.ctx.run_id, command=self.ctx.command, protocol="http",
            host=outcome.host, port=outcome.port, decision=Decision.ALLOW, rule=outcome.rule,
            method=request.method, path=_path(request), status=exchange.status, bytes_up=exchange.bytes_up,
            bytes_down=exchange.bytes_down, duration_ms=_ms(exchange.started))))
        self._exchange = None
        if self.request_side is not Side.DONE or not exchange.keep_alive or self.client_closed:
            self._close_all(out)  # includes a response that ended before its request body
            return
        if not self.upstream_reusable and self.upstream is not Upstream.NONE:
            out.append(CloseUpstream())
            self._upstream_gone()
        self.request_side, self.response_side = Side.HEAD, Side.IDLE
        self._advance_request(out)

    def _upstream_gone(self) -> None:
        self.upstream = Upstream.NONE
        self.upstream_key = None
        self.upstream_reusable = False

    # ---- SOCKS5 ----
    def _socks_data(self, data: bytes, out: list[Command]) -> None:
        socks = self._socks
        assert socks is not None
        if self._tunnel is not None:
            self._buf += data
            return
        try:
            answer, requested = socks.receive(data)
        except SocksError as exc:
            if exc.reply:
                out.append(SendClient(exc.reply))
            rec = self._record("socks5", "", 0, Decision.DENY, "", time.time())
            out.append(Record(_with(rec, reason=exc.reason)))
            self._close_all(out)
            return
        if answer:
            out.append(SendClient(answer))
        if requested is not None:
            self._buf += socks.leftover
            self._socks_connect(requested, out)

    def _socks_connect(self, requested: ConnectRequested, out: list[Command]) -> None:
        try:
            outcome = self.ctx.decider.decide(requested.host, requested.port)
        except HostRuleError:
            out.append(SendClient(reply(Reply.GENERAL_FAILURE)))
            rec = self._record("socks5", "", requested.port, Decision.DENY, "", time.time())
            out.append(Record(_with(rec, reason="the SOCKS5 request names an invalid host")))
            self._close_all(out)
            return
        if not outcome.allowed:
            self._deny(out, outcome, close=True, protocol="socks5")
            return
        self._tunnel = ("socks5", outcome, time.monotonic(), time.time())
        self.upstream = Upstream.CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal))

    # ---- refusals, errors, records ----
    def _protocol(self) -> str:
        if self._tunnel is not None:
            return self._tunnel[0]
        return "socks5" if self.mode is Mode.SOCKS else "http"

    def _deny(self, out: list[Command], outcome: Outcome, *, close: bool,
              request: Request | None = None, protocol: str = "") -> None:
        protocol = protocol or self._protocol()
        rec = self._record(protocol, outcome.host, outcome.port, Decision.DENY, outcome.rule, time.time())
        exchange, self._exchange = self._exchange, None
        request = request or (exchange.request if exchange is not None else None)
        if protocol == "socks5":
            out.append(SendClient(reply(Reply.NOT_ALLOWED)))
            out.append(Record(_with(rec, reason=outcome.reason)))
            self._close_all(out)
            return
        status = 403
        if request is not None and protocol == "http":
            rec = _with(rec, method=request.method, path=_path(request))
        out.append(Record(_with(rec, reason=outcome.reason, status=status)))
        out.append(SendClient(http1.error_response(status, outcome.message, close=close)))
        if close:
            self._close_all(out)
        else:
            self.request_side, self.response_side = Side.HEAD, Side.IDLE

    def _bad_request(self, out: list[Command], exc: HttpError, request: Request | None = None,
                     protocol: str = "http") -> None:
        rec = self._record(protocol, request.host if request else "", request.port if request else 0,
                           Decision.ERROR, "", time.time())
        if request is not None and protocol == "http":
            rec = _with(rec, method=request.method, path=_path(request))
        out.append(Record(_with(rec, reason=exc.reason, status=exc.status)))
        out.append(SendClient(http1.error_response(exc.status, f"ringfence: bad request: {exc.reason}\n", close=True)))
        self._close_all(out)

    def _error(self, out: list[Command], reason: str, status: int,
               socks_code: Reply = Reply.HOST_UNREACHABLE) -> None:
        """An allowed destination that failed: ``status`` 0 means nothing can be sent any more."""
        protocol = self._protocol()
        exchange, self._exchange = self._exchange, None
        tunnel, self._tunnel = self._tunnel, None
        outcome = exchange.outcome if exchange else tunnel[1] if tunnel else None
        host, port, rule = (outcome.host, outcome.port, outcome.rule) if outcome else ("", 0, "")
        rec = self._record(protocol, host, port, Decision.ERROR, rule, exchange.wall if exchange else time.time())
        if exchange is not None:
            rec = _with(rec, method=exchange.request.method, path=_path(exchange.request),
                        bytes_up=exchange.bytes_up, bytes_down=exchange.bytes_down, duration_ms=_ms(exchange.started))
        if protocol == "socks5":
            if status:
                out.append(SendClient(reply(socks_code)))
        elif status:
            where = f"{host}:{port}" if host else "the upstream"
            body = f"ringfence: could not reach {where}: {reason}\n"
            out.append(SendClient(http1.error_response(status, body, close=True)))
        out.append(Record(_with(rec, reason=reason, status=status if protocol != "socks5" else 0)))

    def _record(
        self, protocol: str, host: str, port: int, decision: Decision, rule: str, wall: float
    ) -> ConnectionRecord:
        return ConnectionRecord(time=wall, run_id=self.ctx.run_id, command=self.ctx.command, protocol=protocol,
                                host=host, port=port, decision=decision, rule=rule)

    def _close_all(self, out: list[Command], abort: bool = False) -> None:
        if self.mode is Mode.CLOSED:
            return
        self.mode = Mode.CLOSED
        if self.upstream is not Upstream.NONE:
            out.append(CloseUpstream())
            self._upstream_gone()
        out.append(CloseClient(abort=abort))

    def _flow_control(self, out: list[Command]) -> None:
        over = len(self._buf) > self.ctx.max_pending
        if over and not self.paused:
            self.paused = True
            out.append(PauseClient())
        elif self.paused and not over and self.mode is not Mode.CLOSED:
            self.paused = False
            out.append(ResumeClient())


def _path(request: Request) -> str:
    return request.path.split("?", 1)[0]


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000.0, 3)


def _with(rec: ConnectionRecord, **changes: Any) -> ConnectionRecord:
    return replace(rec, **changes)


def _upstream_head(request: Request) -> bytes:
    line = f"{request.method} {request.path} ".encode("ascii") + request.version
    block = http1.filter_headers(request)
    if b"host" not in request.special:
        authority = request.target.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
        block = b"Host: " + authority.encode("ascii") + b"\r\n" + block
    return http1.serialize_head(line, block)
