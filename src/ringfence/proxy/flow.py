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
from dataclasses import dataclass, fields, is_dataclass, replace
from enum import Enum
from typing import Any

from ringfence.audit.record import ConnectionRecord, Decision
from ringfence.policy.hosts import HostRuleError
from ringfence.proxy import http1
from ringfence.proxy.http1 import BodyFramer, Framing, HttpError, Request
from ringfence.proxy.inspect import Admitted, BodyFilter, Inspector, LeakFound, Refusal, Route, content_encoded
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
    """Resolve (names only), vet with ``Decider.vet`` (names only), then connect; with ``tls``,
    then do a verified TLS handshake for ``server_name`` before reporting ``upstream_connected``."""

    outcome: Outcome
    literal: bool
    tls: bool = False
    server_name: str = ""


@dataclass(slots=True)
class CloseUpstream:
    pass


@dataclass(slots=True)
class StartTls:
    """Terminate the agent's TLS for ``outcome``'s host (its ``200`` was sent first); ``data``
    are agent bytes that already arrived. The connection continues in a new ``Flow`` made
    with ``origin=outcome``, ``authority`` the CONNECT target as the agent wrote it."""

    outcome: Outcome
    authority: str
    data: bytes


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
    SendClient | SendUpstream | OpenUpstream | CloseUpstream | StartTunnel | StartTls | CloseClient | PauseClient
    | ResumeClient | Record
)


@dataclass(frozen=True)
class Context:
    """What every flow of one server shares."""

    decider: Decider
    run_id: str
    command: str = ""
    limits: http1.Limits = http1.DEFAULT_LIMITS
    max_pending: int = 256 * 1024  # agent bytes held while waiting for an upstream
    inspector: Inspector | None = None  # credentials, request rules, rates, leak guard, gateways
    gateway_port: int = 0  # the proxy's own port as the agent sees it: http://127.0.0.1:PORT/NAME/ is a gateway


_ESTABLISHED = b"HTTP/1.1 200 Connection established\r\n\r\n"  # RFC 9110 §9.3.6
_NO_BODY = BodyFramer(Framing.NONE)  # stateless (always done), so one instance serves every flow


class Mode(Enum):
    SNIFF = "sniff"
    HTTP = "http"
    SOCKS = "socks"
    TUNNEL = "tunnel"
    CLOSED = "closed"


# Looking up an Enum member costs ~100 ns on Python 3.11 (ten times a global) and the
# per-request path compares states a few dozen times, so it compares against these aliases.
_M_SNIFF = Mode.SNIFF
_M_HTTP = Mode.HTTP
_M_SOCKS = Mode.SOCKS
_M_TUNNEL = Mode.TUNNEL
_M_CLOSED = Mode.CLOSED


class Side(Enum):
    """Where one direction of the current HTTP exchange is (h11-style, one per direction)."""

    IDLE = "idle"
    HEAD = "head"
    CONNECTING = "connecting"
    BODY = "body"
    DONE = "done"


_S_IDLE = Side.IDLE
_S_HEAD = Side.HEAD
_S_CONNECTING = Side.CONNECTING
_S_BODY = Side.BODY
_S_DONE = Side.DONE


class Upstream(Enum):
    NONE = "none"
    CONNECTING = "connecting"
    OPEN = "open"


_U_NONE = Upstream.NONE
_U_CONNECTING = Upstream.CONNECTING
_U_OPEN = Upstream.OPEN
_F_NONE = Framing.NONE
_F_UNTIL_CLOSE = Framing.UNTIL_CLOSE


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
    protocol: str = "http"  # "http" (absolute-form), "https" (terminated), "gateway"
    admitted: Admitted | None = None  # what the inspection decided, when there is one


class Flow:
    """The state machine of one agent connection. See the module docstring."""

    def __init__(self, ctx: Context, origin: Outcome | None = None, authority: str = "", tls: bool = True) -> None:
        self.ctx = ctx
        self.origin = origin  # inside a terminated CONNECT: the target's decision
        self.authority = authority  # and the CONNECT target as the agent wrote it
        self.origin_tls = tls  # False: the agent spoke plain HTTP inside the CONNECT (Node does)
        self.mode = _M_SNIFF if origin is None else Mode.HTTP
        self.request_side = _S_HEAD
        self.response_side = _S_IDLE
        self.upstream = _U_NONE
        self.upstream_key: tuple[str, int, bool] | None = None  # host, port, TLS
        self.upstream_reusable = False
        self.client_closed = False
        self.paused = False
        self._buf = bytearray()
        self._resp_buf = bytearray()
        self._pending_head = b""
        self._exchange: _Exchange | None = None
        self._req_framer: BodyFramer | BodyFilter = _NO_BODY
        self._resp_framer: BodyFramer | BodyFilter = _NO_BODY
        self._socks: Socks5Negotiation | None = None
        self._tunnel: tuple[str, Outcome, float, float] | None = None  # protocol, outcome, t0, wall
        self._route_scheme = ""  # of the gateway request in flight

    # ---- events from the agent ----
    def client_data(self, data: bytes) -> list[Command]:
        if self.mode is _M_HTTP and self.request_side is _S_BODY and not self._buf:
            return self._body_fast(data)
        if self.mode is _M_SNIFF and data:
            self.mode = _M_SOCKS if data[0] == 0x05 else _M_HTTP
            if self.mode is _M_SOCKS:
                self._socks = Socks5Negotiation()
        out: list[Command] = []
        if self.mode is _M_HTTP:
            if not self._buf and self.request_side is _S_HEAD and self.response_side is _S_IDLE:
                end = data.find(b"\r\n\r\n")  # the usual case: a whole head in one read, not buffered
                if 0 <= end and end + 4 <= self.ctx.limits.max_head:
                    self._handle_head(data[: end + 4], out)
                    data = data[end + 4 :] if self.mode is _M_HTTP else b""
            if data:
                self._buf += data
                self._advance_request(out)
        elif self.mode is _M_SOCKS:
            self._socks_data(data, out)
        self._flow_control(out)
        return out

    def client_eof(self) -> list[Command]:
        self.client_closed = True
        out: list[Command] = []
        if self.mode is _M_HTTP and self._exchange is not None and self._req_framer.done:
            return out  # a client may half-close after its request (RFC 9112 §9.6); answer it, then close
        if self._tunnel is not None and self.mode is not _M_TUNNEL:
            self._error(out, "the agent went away before the upstream connected", 0)
        if self.mode is _M_HTTP and self.request_side is _S_BODY:
            self._error(out, "the agent closed the connection in the middle of a request body", 0)
        self._close_all(out)
        return out

    # ---- events from the upstream ----
    def upstream_connected(self) -> list[Command]:
        out: list[Command] = []
        if self.mode is _M_CLOSED:
            return [CloseUpstream()]
        self.upstream = _U_OPEN
        if self._tunnel is not None:
            protocol = self._tunnel[0]
            greeting = reply(Reply.SUCCEEDED) if protocol == "socks5" else _ESTABLISHED
            out.append(SendClient(greeting))
            out.append(StartTunnel(bytes(self._buf)))
            self._buf.clear()
            self.mode = _M_TUNNEL
            if self.paused:
                self.paused = False
                out.append(ResumeClient())
            return out
        out.append(SendUpstream(self._pending_head))
        self._pending_head = b""
        self.request_side = _S_DONE if self._req_framer.done else _S_BODY
        self._advance_request(out)
        self._flow_control(out)
        return out

    def upstream_refused(self, outcome: Outcome) -> list[Command]:
        """Vetting the resolved addresses refused the destination (anti-rebinding)."""
        out: list[Command] = []
        self.upstream = _U_NONE
        self._deny(out, outcome, close=True)
        return out

    def upstream_failed(self, reason: str, socks_code: Reply = Reply.HOST_UNREACHABLE) -> list[Command]:
        out: list[Command] = []
        self.upstream = _U_NONE
        self.upstream_key = None
        if self.mode is _M_CLOSED:
            return out
        self._error(out, reason, 502, socks_code)
        self._close_all(out)
        return out

    def upstream_data(self, data: bytes) -> list[Command]:
        out: list[Command] = []
        if self.response_side is _S_HEAD and not self._resp_buf:
            end = data.find(b"\r\n\r\n")  # the usual case: a whole head in one read, not buffered
            if 0 <= end and end + 4 <= self.ctx.limits.max_head:
                data = self._response_head_fast(data, end + 4, out)
        if not data:
            pass
        elif self.response_side is _S_BODY and not self._resp_buf:
            self._response_body(data, out)
        elif self.response_side in (_S_HEAD, _S_BODY):
            self._resp_buf += data
            self._advance_response(out)
        else:
            self.upstream_reusable = False  # bytes nobody asked for: never reuse this connection
            out.append(CloseUpstream())
            self._upstream_gone()
        self._flow_control(out)
        return out

    def upstream_eof(self) -> list[Command]:
        if self.mode is _M_CLOSED:
            return []
        out: list[Command] = [CloseUpstream()]
        side = self.response_side
        self._upstream_gone()
        framer = self._resp_framer
        if side is _S_BODY and type(framer) is BodyFilter and framer.until_close:
            tail = framer.eof()
            if tail:
                out.append(SendClient(tail))
            self.response_side = _S_DONE
            self._finish_exchange(out)
        elif side is _S_BODY and type(framer) is BodyFramer and framer.framing is _F_UNTIL_CLOSE:
            framer.eof()
            self.response_side = _S_DONE
            self._finish_exchange(out)
        elif side is _S_HEAD and self._exchange is not None and not self._resp_buf:
            self._error(out, "the upstream closed the connection without a response", 502)
            self._close_all(out)
        elif side in (_S_HEAD, _S_BODY):
            self._error(out, "the upstream closed the connection in the middle of a response", 0)
            self._close_all(out, abort=True)
        return out

    def tls_failed(self, reason: str, fronting: bool = False) -> list[Command]:
        """The agent's side of a terminated TLS connection failed (handshake or protocol)."""
        origin = self.origin
        out: list[Command] = []
        if origin is None or self.mode is _M_CLOSED:
            return out
        if self._exchange is not None:
            self._error(out, reason, 0)
        else:
            decision = Decision.DENY if fronting else Decision.ERROR
            rule = "domain fronting" if fronting else origin.rule
            rec = self._record("https", origin.host, origin.port, decision, rule, time.time())
            out.append(Record(_with(rec, reason=reason)))
        self._close_all(out, abort=True)
        return out

    def tunnel_ended(self, bytes_up: int, bytes_down: int) -> list[Command]:
        if self._tunnel is None:
            return []
        protocol, outcome, started, wall = self._tunnel
        self._tunnel = None
        self.mode = _M_CLOSED
        rec = self._record(protocol, outcome.host, outcome.port, Decision.ALLOW, outcome.rule, wall)
        return [Record(_with(rec, bytes_up=bytes_up, bytes_down=bytes_down, duration_ms=_ms(started)))]

    # ---- HTTP request side ----
    def _advance_request(self, out: list[Command]) -> None:
        while self.mode is _M_HTTP:
            if self.request_side is _S_HEAD:
                if self.response_side is not _S_IDLE or not self._read_head(out):
                    return
            elif self.request_side is _S_BODY and self._buf:
                data = bytes(self._buf)
                self._buf.clear()
                self._request_body(data, out)
            else:
                return

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
        framer = self._req_framer
        try:
            if type(framer) is BodyFilter:
                n, send = framer.feed(data)
            else:
                n = framer.feed(data)  # type: ignore[assignment]
                send = data if n == len(data) else data[:n]
        except HttpError as exc:
            self._error(out, exc.reason, 0)
            self._close_all(out, abort=True)
            return
        except LeakFound as exc:
            self._refuse_midway(exc.refusal, out)
            return
        exchange = self._exchange
        if exchange is not None:
            exchange.bytes_up += n
            admitted = exchange.admitted
            if admitted is not None and admitted.max_body and exchange.bytes_up > admitted.max_body:
                reason = f"the request body is larger than max_body ({admitted.max_body} bytes) for this host"
                self._refuse_midway(Refusal(413, "max_body", reason), out)
                return
        if send:
            out.append(SendUpstream(send))
        if framer.done:
            self.request_side = _S_DONE
            if n < len(data):
                self._buf[:0] = data[n:]

    def _connect(self, request: Request, out: list[Command]) -> None:
        if self.origin is not None:
            self._bad_request(out, HttpError(400, "CONNECT inside a terminated CONNECT"), request, self._protocol())
            return
        if self._to_own_gateway(request):
            # Node's fetch reaches http:// URLs (ANTHROPIC_BASE_URL) by CONNECT: the tunnel to
            # the proxy itself carries plain requests for its gateways, read by this flow.
            rec = self._record("connect", request.host, request.port, Decision.ALLOW, "gateway", time.time())
            out.append(Record(_with(rec, reason="a tunnel to the proxy's own gateway; each request has its own record")))
            out.append(SendClient(_ESTABLISHED))
            return
        outcome = self._decide(request, "connect", out)
        if outcome is None:
            return
        if not outcome.allowed:
            self._deny(out, outcome, close=True, request=request, protocol="connect")
            return
        inspector = self.ctx.inspector
        if inspector is not None and inspector.terminates(outcome.host, outcome.port):
            rec = self._record("connect", outcome.host, outcome.port, Decision.ALLOW, outcome.rule, time.time())
            out.append(Record(_with(rec, reason="terminated by the proxy; each request inside has its own record")))
            out.append(SendClient(_ESTABLISHED))
            out.append(StartTls(outcome, request.authority, bytes(self._buf)))
            self._buf.clear()
            self.mode = _M_CLOSED  # the server hands the connection to a new flow
            return
        self._tunnel = ("connect", outcome, time.monotonic(), time.time())
        self.request_side = _S_CONNECTING
        self.upstream = _U_CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal))

    def _forward(self, request: Request, out: list[Command]) -> None:
        if self.origin is not None or not request.host or self._to_gateway(request):
            found = self._readable_target(request, out)
            if found is None:
                return
            outcome, protocol = found
        else:
            protocol = "http"
            found_outcome = self._decide(request, "http", out)
            if found_outcome is None:
                return
            outcome = found_outcome
            if not self._host_matches(request, outcome, out):
                return
        try:
            framing, length = http1.request_framing(request)
        except HttpError as exc:
            self._bad_request(out, exc)
            return
        self._req_framer = _NO_BODY if framing is _F_NONE else BodyFramer(framing, length, self.ctx.limits)
        keep_alive = http1.request_keeps_alive(request)
        exchange = _Exchange(request, outcome, time.monotonic(), time.time(), keep_alive, protocol=protocol)
        self._exchange = exchange
        if not outcome.allowed:
            self._deny(out, outcome, close=framing is not _F_NONE or not keep_alive, request=request,
                       protocol=protocol)
            return
        block = http1.filter_headers(request)
        inspector = self.ctx.inspector
        if inspector is not None:
            body_length = length if framing is Framing.LENGTH else 0 if framing is _F_NONE else None
            verdict = inspector.admit(request.method, request.target, _path(request), block, outcome.host,
                                      outcome.port, body_length)
            if type(verdict) is Refusal:
                self._refuse(verdict, out)
                return
            assert type(verdict) is Admitted
            exchange.admitted = verdict
            block = verdict.block
            if verdict.scan is not None and framing is not _F_NONE:
                self._req_framer = BodyFilter(framing, length, self.ctx.limits, verdict.scan)
        self.response_side = _S_HEAD
        head = _upstream_head(request, block)
        tls = protocol == "https" or protocol == "gateway" and self._route_scheme == "https"
        key = (outcome.host, outcome.port, tls)
        if self.upstream is _U_OPEN and self.upstream_reusable and self.upstream_key == key:
            out.append(SendUpstream(head))
            self.request_side = _S_DONE if self._req_framer.done else _S_BODY
            return
        if self.upstream is not _U_NONE:
            out.append(CloseUpstream())
        self._pending_head = head
        self.upstream, self.upstream_key = _U_CONNECTING, key
        self.request_side = _S_CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal, tls, outcome.host if tls else ""))

    def _to_own_gateway(self, request: Request) -> bool:
        ctx = self.ctx
        return (ctx.inspector is not None and bool(ctx.inspector.routes) and request.port == ctx.gateway_port
                and request.host.strip("[]") in _SELF_NAMES)

    def _to_gateway(self, request: Request) -> bool:
        """An absolute-form request to the proxy's own address (clients that honour HTTP_PROXY
        send ``ANTHROPIC_BASE_URL`` requests this way) that names a gateway."""
        ctx = self.ctx
        if request.port != ctx.gateway_port or request.host not in _SELF_NAMES or ctx.inspector is None:
            return False
        return ctx.inspector.route(request.path) is not None

    def _readable_target(self, request: Request, out: list[Command]) -> tuple[Outcome, str] | None:
        """The destination of an origin-form request: the terminated origin, or a gateway."""
        origin = self.origin
        if origin is not None:
            if request.host:
                self._bad_request(out, HttpError(400, "an absolute-form target inside a TLS connection"),
                                  request, "https")
                return None
            if not self._origin_host_matches(request, origin, out):
                return None
            request.host, request.port, request.authority = origin.host, origin.port, self.authority
            return origin, "https" if self.origin_tls else "http"
        inspector = self.ctx.inspector
        routed = inspector.route(request.path) if inspector is not None else None
        if routed is None:
            self._bad_request(out, HttpError(400, http1.NOT_A_PROXY_REQUEST), request)
            return None
        route, path = routed
        request.host, request.port, request.path, request.authority = route.host, route.port, path, route.authority
        request.special.pop(b"host", None)
        request.end_to_end = http1.replace_fields(request.end_to_end, _HOST_FIELD)  # _upstream_head adds the upstream's
        self._route_scheme = route.scheme
        return self._gateway_outcome(route), "gateway"

    def _gateway_outcome(self, route: Route) -> Outcome:
        # A gateway names its upstream in the policy, so it needs no [network] allow entry of
        # its own; a deny rule still wins, as everywhere.
        try:
            outcome = self.ctx.decider.decide(route.host, route.port)
        except HostRuleError:
            outcome = Outcome(False, route.host, route.port, "", "the gateway's upstream host is invalid",
                              "ringfence: the gateway's upstream host is invalid\n")
        if outcome.allowed or outcome.rule:
            return outcome
        return Outcome(True, outcome.host, route.port, f"upstreams {route.name!r}", "", literal=_is_literal(route.host))

    def _origin_host_matches(self, request: Request, origin: Outcome, out: list[Command]) -> bool:
        # Inside a terminated connection the Host header must name the CONNECT target: an
        # agent must not reach one host of a shared front while the policy looked at another.
        values = request.special.get(b"host")
        if values is None:
            return True
        try:
            if len(values) > 1:
                raise HttpError(400, "more than one Host header")
            host, port = http1.parse_authority(values[0].decode("ascii"), default_port=origin.port)
            same = self.ctx.decider.decide(host, port)
        except (HttpError, HostRuleError, UnicodeDecodeError):
            self._bad_request(out, HttpError(400, "malformed Host header"), request, "https")
            return False
        if (same.host, same.port) == (origin.host, origin.port):
            return True
        where = f"{origin.host}:{origin.port}"
        shown = values[0].decode("ascii")
        reason = f"the Host header {shown!r} does not match the CONNECT target {where}"
        request.host, request.port = origin.host, origin.port
        self._exchange = _Exchange(request, origin, time.monotonic(), time.time(), False, protocol="https")
        self._refuse(Refusal(403, "domain fronting", reason), out)
        return False

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
        values = request.special.get(b"host")
        if values is None or len(values) == 1 and values[0] == request.authority.encode("ascii"):
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
    def _response_head_fast(self, data: bytes, end: int, out: list[Command]) -> bytes:
        """Handle the complete response head ``data[:end]``; returns the rest."""
        try:
            self._response_head(http1.parse_response(data[:end], self.ctx.limits), out)
        except HttpError as exc:
            self._error(out, f"bad response from upstream: {exc.reason}", 502)
            self._close_all(out)
            return b""
        return data[end:]

    def _advance_response(self, out: list[Command]) -> None:
        while self.response_side is _S_HEAD:
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
        if self.response_side is _S_BODY and self._resp_buf:
            data = bytes(self._resp_buf)
            self._resp_buf.clear()
            self._response_body(data, out)

    def _response_head(self, response: http1.Response, out: list[Command]) -> None:
        exchange = self._exchange
        assert exchange is not None, "a response head is read only for a request in flight"
        status = response.status
        if 100 <= status < 200:
            if status == 101:
                raise HttpError(502, "upstream switched protocols, which this proxy does not relay")
            if exchange.request.version == b"HTTP/1.1":  # 1xx are not sent to HTTP/1.0 (RFC 9110 §15.2)
                out.append(SendClient(http1.serialize_head(response.line, http1.filter_headers(response))))
            return
        framing, length = http1.response_framing(response, exchange.request.method)
        until_close = framing is _F_UNTIL_CLOSE
        exchange.status = status
        exchange.keep_alive = exchange.keep_alive and not until_close and not self.client_closed
        self.upstream_reusable = not until_close and http1.response_keeps_alive(response)
        extra = b"" if exchange.keep_alive else b"Connection: close\r\n"
        line, block = response.line, http1.filter_headers(response)
        admitted = exchange.admitted
        scrub = admitted.scrub if admitted is not None else None
        if scrub is not None and admitted is not None and admitted.scrub_headers is not None:
            if framing is not _F_NONE and content_encoded(_field_values(block, b"content-encoding")):
                raise HttpError(502, "the upstream sent a compressed response to a request that carried a "
                                     "credential; it cannot be checked for the secret, so it is not relayed")
            line, _, block = admitted.scrub_headers(line + b"\r\n" + block).partition(b"\r\n")
        out.append(SendClient(http1.serialize_head(line, block, extra)))
        if framing is _F_NONE:
            self._resp_framer = _NO_BODY
            self.response_side = _S_DONE
            self._finish_exchange(out)
        else:
            if scrub is not None:
                self._resp_framer = BodyFilter(framing, length, self.ctx.limits, scrub())
            else:
                self._resp_framer = BodyFramer(framing, length, self.ctx.limits)
            self.response_side = _S_BODY

    def _response_body(self, data: bytes, out: list[Command]) -> None:
        framer = self._resp_framer
        try:
            if type(framer) is BodyFilter:
                n, send = framer.feed(data)
            else:
                n = framer.feed(data)  # type: ignore[assignment]
                send = data if n == len(data) else data[:n]
        except HttpError as exc:
            self._error(out, f"bad response body from upstream: {exc.reason}", 0)
            self._close_all(out, abort=True)
            return
        if send:
            out.append(SendClient(send))
        if self._exchange is not None:
            self._exchange.bytes_down += n
        if n < len(data):
            self.upstream_reusable = False  # bytes after the response: the framing disagrees
        if self._resp_framer.done:
            self.response_side = _S_DONE
            self._finish_exchange(out)

    def _finish_exchange(self, out: list[Command]) -> None:
        exchange = self._exchange
        assert exchange is not None
        out.append(Record(_allowed_record(exchange, self.ctx)))
        self._exchange = None
        if self.request_side is not _S_DONE or not exchange.keep_alive or self.client_closed:
            self._close_all(out)  # includes a response that ended before its request body
            return
        if not self.upstream_reusable and self.upstream is not _U_NONE:
            out.append(CloseUpstream())
            self._upstream_gone()
        self.request_side, self.response_side = _S_HEAD, _S_IDLE
        if self._buf:
            self._advance_request(out)  # a pipelined request was waiting

    def _upstream_gone(self) -> None:
        self.upstream = _U_NONE
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
        self.upstream = _U_CONNECTING
        out.append(OpenUpstream(outcome, outcome.literal))

    # ---- refusals, errors, records ----
    def _protocol(self) -> str:
        if self.origin is not None:
            return "https" if self.origin_tls else "http"
        if self._tunnel is not None:
            return self._tunnel[0]
        return "socks5" if self.mode is _M_SOCKS else "http"

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
        if request is not None and protocol in _READABLE:
            rec = _with(rec, method=request.method, path=_path(request))
        out.append(Record(_with(rec, reason=outcome.reason, status=status)))
        out.append(SendClient(http1.error_response(status, outcome.message, close=close)))
        if close:
            self._close_all(out)
        else:
            self.request_side, self.response_side = _S_HEAD, _S_IDLE

    def _refuse(self, refusal: Refusal, out: list[Command]) -> None:
        """Refuse the readable request that was just parsed (nothing has gone upstream)."""
        exchange, self._exchange = self._exchange, None
        assert exchange is not None
        out.append(Record(self._refusal_record(exchange, refusal)))
        out.append(SendClient(refusal.response()))
        self._close_all(out)

    def _refuse_midway(self, refusal: Refusal, out: list[Command]) -> None:
        """Refuse a request whose head already went upstream (its body broke a rule)."""
        exchange, self._exchange = self._exchange, None
        assert exchange is not None
        out.append(Record(self._refusal_record(exchange, refusal)))
        if self.upstream is not _U_NONE:
            out.append(CloseUpstream())  # the upstream never sees the rest of the body
            self._upstream_gone()
        answered = self.response_side is not _S_HEAD
        if not answered:
            out.append(SendClient(refusal.response()))
        self._close_all(out, abort=answered)

    def _refusal_record(self, exchange: _Exchange, refusal: Refusal) -> ConnectionRecord:
        outcome, request = exchange.outcome, exchange.request
        rec = self._record(exchange.protocol, outcome.host, outcome.port, Decision.DENY, refusal.rule, exchange.wall)
        admitted = exchange.admitted
        return _with(rec, reason=refusal.reason, status=refusal.status, method=request.method, path=_path(request),
                     bytes_up=exchange.bytes_up, duration_ms=_ms(exchange.started),
                     credential=admitted.credential if admitted is not None else "")

    def _bad_request(self, out: list[Command], exc: HttpError, request: Request | None = None,
                     protocol: str = "http") -> None:
        rec = self._record(protocol, request.host if request else "", request.port if request else 0,
                           Decision.ERROR, "", time.time())
        if request is not None and protocol in _READABLE:
            rec = _with(rec, method=request.method, path=_path(request))
        out.append(Record(_with(rec, reason=exc.reason, status=exc.status)))
        out.append(SendClient(http1.error_response(exc.status, f"ringfence: bad request: {exc.reason}\n", close=True)))
        self._close_all(out)

    def _error(self, out: list[Command], reason: str, status: int,
               socks_code: Reply = Reply.HOST_UNREACHABLE) -> None:
        """An allowed destination that failed: ``status`` 0 means nothing can be sent any more."""
        exchange, self._exchange = self._exchange, None
        protocol = exchange.protocol if exchange is not None else self._protocol()
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
        if self.mode is _M_CLOSED:
            return
        self.mode = _M_CLOSED
        if self.upstream is not _U_NONE:
            out.append(CloseUpstream())
            self._upstream_gone()
        out.append(CloseClient(abort=abort))

    def _flow_control(self, out: list[Command]) -> None:
        if not self._buf and not self.paused:
            return  # the usual case, decided without a length
        over = len(self._buf) > self.ctx.max_pending
        if over and not self.paused:
            self.paused = True
            out.append(PauseClient())
        elif self.paused and not over and self.mode is not _M_CLOSED:
            self.paused = False
            out.append(ResumeClient())


# One record per forwarded request is built on the hot path. A frozen dataclass's __init__
# sets each of its 15 fields through object.__setattr__, which costs more than the rest of
# the record's work; filling the instance dict directly gives an equal object (same fields,
# same __eq__ and __hash__) at a fifth of the cost. It is only done while the record class
# is exactly the plain frozen dataclass this code knows; otherwise the constructor is used.
_RECORD_FIELDS = ("time", "run_id", "command", "protocol", "host", "port", "decision", "rule", "reason",
                  "method", "path", "status", "bytes_up", "bytes_down", "duration_ms", "credential")
_RECORD_IS_PLAIN = (
    is_dataclass(ConnectionRecord)
    and tuple(f.name for f in fields(ConnectionRecord)) == _RECORD_FIELDS
    and not hasattr(ConnectionRecord, "__post_init__")
    and not hasattr(ConnectionRecord, "__slots__")
)
_ALLOW = Decision.ALLOW  # an alias, as for the states above
_new_object = object.__new__
_set_attribute = object.__setattr__


def _allowed_record(exchange: _Exchange, ctx: Context) -> ConnectionRecord:
    """The record of a forwarded request that completed (``Decision.ALLOW``)."""
    outcome = exchange.outcome
    request = exchange.request
    path = _path(request)  # never the query string: it may carry secrets
    duration = _ms(exchange.started)
    admitted = exchange.admitted
    credential = admitted.credential if admitted is not None else ""
    if not _RECORD_IS_PLAIN:
        return ConnectionRecord(exchange.wall, ctx.run_id, ctx.command, exchange.protocol, outcome.host, outcome.port,
                                Decision.ALLOW, outcome.rule, "", request.method, path, exchange.status,
                                exchange.bytes_up, exchange.bytes_down, duration, credential)
    rec: ConnectionRecord = _new_object(ConnectionRecord)
    _set_attribute(rec, "__dict__", {
        "time": exchange.wall, "run_id": ctx.run_id, "command": ctx.command, "protocol": exchange.protocol,
        "host": outcome.host, "port": outcome.port, "decision": _ALLOW, "rule": outcome.rule,
        "reason": "", "method": request.method, "path": path, "status": exchange.status,
        "bytes_up": exchange.bytes_up, "bytes_down": exchange.bytes_down, "duration_ms": duration,
        "credential": credential,
    })
    return rec


def _path(request: Request) -> str:
    return request.path.split("?", 1)[0]


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000.0, 3)


def _with(rec: ConnectionRecord, **changes: Any) -> ConnectionRecord:
    return replace(rec, **changes)


def _upstream_head(request: Request, block: bytes) -> bytes:
    line = f"{request.method} {request.path} ".encode("ascii") + request.version
    if b"host" not in request.special:
        block = b"Host: " + request.authority.encode("ascii") + b"\r\n" + block
    return http1.serialize_head(line, block)


_HOST_FIELD = frozenset({b"host"})
_SELF_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_READABLE = ("http", "https", "gateway")  # protocols whose records carry a method and a path


def _is_literal(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


def _field_values(block: bytes, name: bytes) -> list[bytes]:
    """The values of field ``name`` (lower-case) in a header block (rare path: no index kept)."""
    found: list[bytes] = []
    if name not in block.lower():
        return found
    for line in block.split(b"\r\n"):
        field_name, colon, value = line.partition(b":")
        if colon and field_name.lower() == name:
            found.append(value.strip())
    return found
