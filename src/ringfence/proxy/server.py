"""The only module of the proxy that does I/O: asyncio protocols around ``flow.Flow``.

Rules this module keeps:

- it accepts on sockets it is given (TCP or AF_UNIX, possibly bound in another network
  namespace), so it never reads meaning into a listener's address;
- names are resolved with the loop's getaddrinfo, vetted once (``Decider.vet``), and the
  connection goes to those vetted addresses only: the name is never resolved again;
- tunnels relay bytes with no per-chunk parsing, honour half-close (an EOF is passed on as
  ``shutdown(SHUT_WR)`` and the other direction keeps flowing) and close a connection only
  after its buffered bytes are written, so a tail is never lost;
- a slow reader pauses the other side (asyncio write-buffer watermarks), so memory per
  connection stays bounded; idle connections are closed after ``idle_timeout``;
- small sends and records wait for the end of the loop iteration and go out as one batch;
  a connection's records reach the audit sink before any of its queued bytes is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from ringfence.audit.record import ConnectionRecord
from ringfence.errors import ProxyError
from ringfence.proxy import flow as f
from ringfence.proxy.config import AuditSink, ProxyConfig
from ringfence.proxy.policy import Decider, Outcome, parse_address
from ringfence.proxy.socks5 import Reply

if TYPE_CHECKING:  # a type alias only; hosts.py may define it for type checkers alone
    from ringfence.policy.hosts import IPAddress
    from ringfence.tls.session import TlsSession

_WRITE_HIGH = 1024 * 1024  # bytes queued towards one peer before the other side is paused
_LINGER = 2.0  # seconds to keep reading (and discarding) after our final response; see _linger
_QUEUE_MAX = 16 * 1024  # bytes of small sends one connection holds until the loop iteration ends (bulk goes at once)


class _Client(asyncio.Protocol):
    """The agent's side of one connection; owns the flow and the upstream."""

    def __init__(self, server: ProxyServer) -> None:
        self.server = server
        self.flow = f.Flow(server.context)
        self.transport: asyncio.Transport | None = None  # the agent's side (a _TlsTransport once terminated)
        self.raw: asyncio.Transport | None = None
        self.tls: TlsSession | None = None
        self._terminate: f.StartTls | None = None  # a terminated CONNECT waiting for its first byte
        self.upstream: _Upstream | None = None
        self.tunnel = False
        self.bytes_up = 0
        self.bytes_down = 0
        self.eof_in = False  # the agent sent EOF (tunnel)
        self.eof_out = False  # the upstream sent EOF (tunnel)
        self.closing = False
        self.peer_eof = False  # the agent sent EOF outside a tunnel
        self.last_active = 0.0
        self.reads = 0  # non-tunnel reads from either side; the idle sweep watches it move
        self._moved = 0
        self._pause_reasons: set[str] = set()
        self._connect_task: asyncio.Task[None] | None = None
        self._queued: list[tuple[asyncio.Transport, bytes]] = []  # sends waiting; see run
        self._queued_bytes = 0
        self._records: list[ConnectionRecord] = []  # records waiting; see run

    # ---- asyncio callbacks ----
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport = self.raw = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH)
        _nodelay(transport)
        self.server.connections.add(self)
        self.last_active = self.server.loop.time()

    def data_received(self, data: bytes) -> None:
        if self.tunnel:
            up = self.upstream
            if up is not None and up.transport is not None:
                up.transport.write(data)
                self.bytes_up += len(data)
            return
        if self.closing:
            return  # lingering after a final response: discard
        self.reads += 1
        if self.tls is not None:
            self._from_agent_tls(data)
            return
        if self._terminate is not None:
            self._begin_terminated(data)
            return
        self.run(self.flow.client_data(data))

    # ---- a terminated TLS connection (the flow sees plaintext) ----
    def _start_tls(self, cmd: f.StartTls) -> None:
        self._terminate = cmd
        if cmd.data:
            self._begin_terminated(cmd.data)

    def _begin_terminated(self, data: bytes) -> None:
        # The first byte tells: 0x16 starts a TLS handshake (RFC 8446 §5.1, a handshake
        # record); anything else is plain HTTP inside the CONNECT (Node's fetch does that for
        # http:// URLs), which the new flow reads directly.
        cmd, self._terminate = self._terminate, None
        assert cmd is not None
        if data[:1] != b"\x16":
            self.flow = f.Flow(self.server.context, origin=cmd.outcome, authority=cmd.authority, tls=False)
            self.run(self.flow.client_data(data))
            return
        self._terminate_tls(cmd, data)

    def _terminate_tls(self, cmd: f.StartTls, data: bytes) -> None:
        from ringfence.tls.session import TlsSession

        provider = self.server.config.tls
        raw = self.raw
        assert raw is not None
        try:
            if provider is None:
                raise ProxyError("TLS termination was asked for but the proxy has no CA")
            session = TlsSession(provider.leaf(cmd.outcome.host), server_side=True)
        except Exception as exc:  # no leaf: refuse this connection, keep serving others
            self.flow = f.Flow(self.server.context, origin=cmd.outcome, authority=cmd.authority)
            self.run(self.flow.tls_failed(f"no certificate for {cmd.outcome.host}: {exc}"))
            return
        self.tls = session
        self.transport = cast(asyncio.Transport, _TlsTransport(raw, session))
        self.flow = f.Flow(self.server.context, origin=cmd.outcome, authority=cmd.authority)
        self._from_agent_tls(data)

    def _from_agent_tls(self, data: bytes) -> None:
        from ringfence.tls.errors import TlsSessionError

        session, raw = self.tls, self.raw
        assert session is not None and raw is not None
        try:
            plain = session.receive(data)
        except TlsSessionError as exc:
            pending = session.take_output()  # the alert that tells the agent why
            if pending:
                raw.write(pending)
            origin = self.flow.origin
            fronting = bool(session.server_name and origin is not None and session.server_name != origin.host)
            self.run(self.flow.tls_failed(str(exc.reason if hasattr(exc, "reason") else exc), fronting))
            return
        pending = session.take_output()
        if pending:
            raw.write(pending)
        if plain:
            self.run(self.flow.client_data(plain))
        if session.peer_closed and not self.closing:
            self.peer_eof = True
            self.run(self.flow.client_eof())

    def eof_received(self) -> bool:
        if self.tunnel:
            self.eof_in = True
            up = self.upstream
            if up is not None and up.transport is not None and up.transport.can_write_eof():
                up.transport.write_eof()
            if self.eof_out:
                self.end_tunnel()
            return True
        self.peer_eof = True
        if self.closing:
            self._close_now()
            return True
        self.run(self.flow.client_eof())
        return True  # keep our write side open: a response may still be on its way

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        if self._connect_task is not None:
            self._connect_task.cancel()
        if self.tunnel:
            self.end_tunnel()
        elif not self.closing:
            self.run(self.flow.client_eof())
        self._drop_upstream()

    def pause_writing(self) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.resume_reading()

    # ---- executing the flow's commands ----
    # Sends and records wait for the end of the event-loop iteration (ProxyServer.write_queued):
    # on a VM, waking a sleeping peer (an IPI) costs more than the rest of a small request's
    # proxying, and a batch of responses written back to back wakes each peer once. Records go
    # to the sink in the same batch, ahead of every byte their connection has queued or is
    # about to send, so the audit log holds a request before its agent sees the end of the
    # answer (and a failing sink means that answer is not delivered), and the audit writer
    # commits a batch per transaction. Queued sends are bounded (_QUEUE_MAX per connection; a
    # larger send writes the queue and goes out at once) and everything queued is written
    # before any other command of the flow (close, tunnel, pause) runs.
    def run(self, commands: list[f.Command]) -> None:
        for cmd in commands:  # records first: none of these bytes is written before them
            if type(cmd) is f.Record:
                self._mark_queued()
                self._records.append(cmd.record)
        for cmd in commands:
            kind = type(cmd)
            if kind is f.SendClient:
                self._send(self.transport, cmd.data)  # type: ignore[union-attr]
            elif kind is f.SendUpstream:
                up = self.upstream
                self._send(up.transport if up is not None else None, cmd.data)  # type: ignore[union-attr]
            elif kind is not f.Record:
                self.write_queued()
                self._run_rare(cmd)

    def _send(self, transport: asyncio.Transport | None, data: bytes) -> None:
        if transport is None:
            return  # no connection any more: the flow has already decided what happens next
        if self._queued_bytes + len(data) > _QUEUE_MAX:
            self.write_queued()
            transport.write(data)
            return
        self._mark_queued()
        self._queued.append((transport, data))
        self._queued_bytes += len(data)

    def _mark_queued(self) -> None:
        if not self._queued and not self._records:
            self.server.queued_writers.append(self)
            if len(self.server.queued_writers) == 1:
                self.server.loop.call_soon(self.server.write_queued)

    def write_queued(self) -> None:
        """Hand the queued records to the sink, then write the queued sends (see ``run``)."""
        self._deliver_records()
        queued = self._queued
        if not queued:
            return
        self._queued, self._queued_bytes = [], 0
        transport, data = queued[0]
        for i in range(1, len(queued)):
            if queued[i][0] is transport:
                data += queued[i][1]  # consecutive sends to one peer: one write, one syscall
                continue
            if not transport.is_closing():
                transport.write(data)
            transport, data = queued[i]
        if not transport.is_closing():
            transport.write(data)

    def _deliver_records(self) -> None:
        records = self._records
        if not records:
            return
        self._records = []
        sink = self.server.sink
        for rec in records:
            try:
                sink.record(rec)
            except Exception as exc:  # fail closed: a decision that cannot be audited is not served
                print(f"ringfence proxy: audit sink failed ({exc!r}); closing the connection", file=sys.stderr)
                self._close(abort=True)

    def _run_rare(self, cmd: f.Command) -> None:
        transport = self.transport
        assert transport is not None
        if isinstance(cmd, f.OpenUpstream):
            self._connect_task = self.server.loop.create_task(
                self._open(cmd.outcome, cmd.literal, cmd.server_name if cmd.tls else None))
        elif isinstance(cmd, f.CloseUpstream):
            self._drop_upstream()
        elif isinstance(cmd, f.StartTunnel):
            self._start_tunnel(cmd.data)
        elif isinstance(cmd, f.StartTls):
            self._start_tls(cmd)
        elif isinstance(cmd, f.CloseClient):
            self._close(cmd.abort)
        elif isinstance(cmd, f.PauseClient):
            self.pause("flow")
        elif isinstance(cmd, f.ResumeClient):
            self.resume("flow")

    def pause(self, reason: str) -> None:
        if not self._pause_reasons and self.transport is not None:
            self.transport.pause_reading()
        self._pause_reasons.add(reason)

    def resume(self, reason: str) -> None:
        self._pause_reasons.discard(reason)
        if not self._pause_reasons and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    # ---- upstream ----
    async def _open(self, outcome: Outcome, literal: bool, tls_name: str | None) -> None:
        # Success is reported by _Upstream.connection_made, synchronously: an origin that
        # writes and closes at once may deliver data and EOF before this task resumes.
        try:
            addresses = await self._vetted(outcome, literal)
            if addresses is None:
                return
            await asyncio.wait_for(self._dial(addresses, outcome.port, tls_name), self.server.config.connect_timeout)
        except asyncio.TimeoutError:
            reason = f"no connection within {self.server.config.connect_timeout:g} s"
            self._after_connect(self.flow.upstream_failed(reason, Reply.HOST_UNREACHABLE))
        except _DialError as exc:
            self._after_connect(self.flow.upstream_failed(exc.reason, exc.socks))
        else:
            self._connect_task = None

    def upstream_made(self, upstream: _Upstream) -> None:
        """The upstream's connection_made: from now on its bytes may arrive."""
        if self.upstream is not upstream or self.transport is None or self.closing:
            upstream.detach()
            return
        self.run(self.flow.upstream_connected())

    def _after_connect(self, commands: list[f.Command]) -> None:
        self._connect_task = None
        if self.transport is not None:
            self.run(commands)

    async def _vetted(self, outcome: Outcome, literal: bool) -> list[IPAddress] | None:
        if literal:
            return [ipaddress.ip_address(outcome.host)]
        loop = self.server.loop
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(outcome.host, outcome.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP),
                self.server.config.connect_timeout,
            )
        except (OSError, UnicodeError) as exc:
            raise _DialError(f"cannot resolve {outcome.host}: {_strerror(exc)}", Reply.HOST_UNREACHABLE) from None
        addresses = _unique(parse_address(str(info[4][0])) for info in infos)
        if not addresses:
            raise _DialError(f"{outcome.host} has no address", Reply.HOST_UNREACHABLE)
        vetted = self.server.decider.vet(outcome, addresses, self.server.local_addresses())
        if not vetted.allowed:
            self._after_connect(self.flow.upstream_refused(vetted))
            return None
        return addresses

    async def _dial(self, addresses: list[IPAddress], port: int, tls_name: str | None) -> None:
        loop = self.server.loop
        last = ""
        code = Reply.HOST_UNREACHABLE
        for address in addresses:
            upstream = _Upstream(self, self._upstream_tls(tls_name) if tls_name is not None else None)
            self.upstream = upstream
            try:
                await loop.create_connection(lambda: upstream, str(address), port)
            except OSError as exc:
                self.upstream = None
                last = f"{address} port {port}: {_strerror(exc)}"
                code = Reply.CONNECTION_REFUSED if exc.errno == errno.ECONNREFUSED else Reply.HOST_UNREACHABLE
                continue
            return
        raise _DialError(f"cannot connect to {last}", code)

    def _upstream_tls(self, server_name: str) -> TlsSession:
        from ringfence.tls.session import TlsSession

        provider = self.server.config.tls
        if provider is None:
            raise _DialError("TLS to the upstream was asked for but the proxy has no TLS set-up", Reply.GENERAL_FAILURE)
        return TlsSession(provider.upstream(), server_side=False, server_hostname=server_name)

    def _drop_upstream(self) -> None:
        upstream, self.upstream = self.upstream, None
        if upstream is not None:
            upstream.detach()
        self.resume("upstream")

    # ---- tunnels ----
    def _start_tunnel(self, data: bytes) -> None:
        upstream = self.upstream
        assert upstream is not None and upstream.transport is not None
        self.tunnel = True
        if data:
            upstream.transport.write(data)
            self.bytes_up += len(data)

    def end_tunnel(self) -> None:
        """Both directions ended (or one broke): close both after flushing, record once."""
        if not self.tunnel:
            return
        self.tunnel = False
        self.closing = True
        for rec in self.flow.tunnel_ended(self.bytes_up, self.bytes_down):
            self.run([rec])
        self.write_queued()
        if self.transport is not None:
            self.transport.close()
        self._drop_upstream()

    # ---- closing ----
    def sweep(self, now: float, idle_before: float) -> None:
        """Drop the connection if nothing moved since ``idle_before`` (called periodically).

        Activity is judged by counters (reads, tunnelled bytes), so no read pays a clock call.
        """
        moved = self.reads + self.bytes_up + self.bytes_down
        if moved != self._moved:
            self._moved, self.last_active = moved, now
        elif self.last_active < idle_before:
            self.end_tunnel()
            self._close(abort=True)

    def _close(self, abort: bool) -> None:
        transport = self.transport
        if transport is None or self.closing:
            return
        self.closing = True
        self._deliver_records()  # records are never dropped, whatever happens to the bytes
        if abort:
            self._queued, self._queued_bytes = [], 0  # an aborted connection sends nothing more
        else:
            self.write_queued()
        self._drop_upstream()
        if abort:
            transport.abort()
        elif transport.can_write_eof():
            self._linger(transport)
        else:
            transport.close()

    def _linger(self, transport: asyncio.Transport) -> None:
        # Closing a socket with unread input makes the kernel send RST, which can destroy the
        # response the agent has not read yet (RFC 9112 §9.6 "graceful close"). So: flush and
        # half-close, read and discard until the agent closes, and give up after _LINGER s.
        if self.peer_eof:
            transport.close()  # nothing more can arrive: close once the buffer is written
            return
        transport.write_eof()
        self.resume("flow")
        self.server.loop.call_later(_LINGER, self._close_now)

    def _close_now(self) -> None:
        self.write_queued()
        if self.transport is not None:
            self.transport.close()


class _Upstream(asyncio.Protocol):
    """The origin's side; forwards everything to its ``_Client`` while attached."""

    def __init__(self, client: _Client, tls: TlsSession | None = None) -> None:
        self.client: _Client | None = client
        self.transport: asyncio.Transport | None = None
        self.raw: asyncio.Transport | None = None
        self.tls = tls  # a client session: the handshake completes before the flow hears of us

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport = self.raw = transport
        transport.set_write_buffer_limits(high=_WRITE_HIGH)
        _nodelay(transport)
        if self.client is None:
            transport.close()
        elif self.tls is not None:
            self.transport = cast(asyncio.Transport, _TlsTransport(transport, self.tls))
            transport.write(self.tls.start())
        else:
            self.client.upstream_made(self)

    def _from_origin_tls(self, data: bytes) -> bytes | None:
        """Decrypt; reports the handshake's end (or failure) to the client. None: stop here."""
        from ringfence.tls.errors import TlsSessionError

        session, raw, client = self.tls, self.raw, self.client
        assert session is not None and raw is not None and client is not None
        was_done = session.handshake_done
        try:
            plain = session.receive(data)
        except TlsSessionError as exc:
            reason = str(exc.reason if hasattr(exc, "reason") else exc)
            self.detach()
            if client.upstream is self:
                client.upstream = None
                if was_done:
                    client.run(client.flow.upstream_eof())
                else:
                    client._after_connect(client.flow.upstream_failed(reason))
            return None
        pending = session.take_output()
        if pending:
            raw.write(pending)
        if not was_done and session.handshake_done:
            client.upstream_made(self)
        return plain

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client is None or client.transport is None:
            return
        if self.tls is not None:
            plain = self._from_origin_tls(data)
            if plain is None or self.client is None:
                return
            if plain:
                client.reads += 1
                client.run(client.flow.upstream_data(plain))
            if self.tls.peer_closed and self.client is not None:
                self.eof_received()  # close_notify: the origin is done
            return
        if client.tunnel:
            client.transport.write(data)
            client.bytes_down += len(data)
            return
        client.reads += 1
        client.run(client.flow.upstream_data(data))

    def eof_received(self) -> bool:
        client = self.client
        if client is None or client.transport is None:
            return False
        if client.tunnel:
            client.eof_out = True
            if client.transport.can_write_eof():
                client.transport.write_eof()
            if client.eof_in:
                client.end_tunnel()
            return True
        client.run(client.flow.upstream_eof())
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        client = self.client
        if client is None or client.transport is None:
            return
        if client.tunnel:
            if exc is not None or not client.eof_out:
                client.eof_out = True
                client.end_tunnel()
            return
        if client.upstream is self:
            client.run(client.flow.upstream_eof())

    def pause_writing(self) -> None:
        if self.client is not None:
            self.client.pause("upstream")

    def resume_writing(self) -> None:
        if self.client is not None:
            self.client.resume("upstream")

    def detach(self) -> None:
        """Stop reporting to the client and close (after flushing what is queued)."""
        self.client = None
        if self.transport is not None:
            self.transport.close()


class _TlsTransport:
    """A transport that encrypts what is written with a ``TlsSession`` (the one asyncio
    transport method set ``_Client`` uses); reading is done by the protocol, which decrypts."""

    def __init__(self, raw: asyncio.Transport, session: TlsSession) -> None:
        self.raw = raw
        self.session = session
        self._eof = False

    def write(self, data: bytes) -> None:
        if data and not self._eof:
            self.raw.write(self.session.send(data))

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        # close_notify first (RFC 8446 §6.1), then the TCP half-close
        if not self._eof:
            self._eof = True
            if not self.raw.is_closing():
                self.raw.write(self.session.close())
                if self.raw.can_write_eof():
                    self.raw.write_eof()

    def close(self) -> None:
        if not self._eof and not self.raw.is_closing():
            self._eof = True
            with contextlib.suppress(Exception):
                self.raw.write(self.session.close())
        self.raw.close()

    def abort(self) -> None:
        self.raw.abort()

    def is_closing(self) -> bool:
        return self.raw.is_closing()

    def pause_reading(self) -> None:
        self.raw.pause_reading()

    def resume_reading(self) -> None:
        self.raw.resume_reading()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.raw.set_write_buffer_limits(high, low)

    def get_extra_info(self, name: str, default: object = None) -> object:
        return self.raw.get_extra_info(name, default)


class _DialError(Exception):
    def __init__(self, reason: str, socks: Reply) -> None:
        super().__init__(reason)
        self.reason = reason
        self.socks = socks


def _strerror(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)  # asyncio wraps connect errors in its own wording
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _unique(addresses: Iterable[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))


def _nodelay(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def local_addresses() -> frozenset[IPAddress]:
    """This host's own interface addresses (Linux /proc), for the anti-rebinding check."""
    found: set[IPAddress] = set()
    with contextlib.suppress(OSError):
        with open("/proc/net/fib_trie", encoding="ascii") as fib:
            previous = ""
            for line in fib:
                if "/32 host LOCAL" in line and previous:
                    with contextlib.suppress(ValueError):
                        found.add(ipaddress.ip_address(previous))
                previous = line.strip().lstrip("|-+ ").strip()
    with contextlib.suppress(OSError):
        with open("/proc/net/if_inet6", encoding="ascii") as inet6:
            for line in inet6:
                hexaddr = line.split()[0]
                with contextlib.suppress(ValueError):
                    found.add(ipaddress.IPv6Address(bytes.fromhex(hexaddr)))
    return frozenset(found)


class ProxyServer:
    """Accepts agent connections on given listening sockets and serves them until ``aclose``."""

    def __init__(self, config: ProxyConfig, sink: AuditSink) -> None:
        self.config = config
        self.sink = sink
        self.decider = Decider(config.rules)
        self.context = f.Context(self.decider, config.run_id, config.command, inspector=config.inspector,
                                 gateway_port=config.gateway_port)
        self.connections: set[_Client] = set()
        self.queued_writers: list[_Client] = []  # connections with records or sends waiting
        self._servers: list[asyncio.AbstractServer] = []
        self._closed: asyncio.Event | None = None
        self._local: frozenset[IPAddress] = frozenset()
        self._local_at = -1e9
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "the server is not running"
        return self._loop

    def local_addresses(self) -> frozenset[IPAddress]:
        now = self.loop.time()
        if now - self._local_at > 30.0:  # interfaces change rarely; re-read at most every 30 s
            self._local, self._local_at = local_addresses(), now
        return self._local

    def write_queued(self) -> None:
        """Scheduled once per loop iteration that queued something: records, then sends."""
        writers, self.queued_writers = self.queued_writers, []
        for client in writers:
            client.write_queued()

    async def serve(self, listeners: list[socket.socket]) -> None:
        """Accept on already-listening sockets until ``aclose``; the sockets are then closed."""
        self._loop = asyncio.get_running_loop()
        self._closed = asyncio.Event()
        for sock in listeners:
            sock.setblocking(False)
            factory: Callable[[], _Client] = lambda: _Client(self)
            if sock.family == socket.AF_UNIX:
                server = await self._loop.create_unix_server(factory, sock=sock)
            else:
                server = await self._loop.create_server(factory, sock=sock)
            self._servers.append(server)
        sweeper = self._loop.create_task(self._sweep_idle())
        try:
            await self._closed.wait()
        finally:
            sweeper.cancel()

    async def _sweep_idle(self) -> None:
        period = max(0.5, min(self.config.idle_timeout / 4, 30.0))
        while True:
            await asyncio.sleep(period)
            now = self.loop.time()
            for conn in list(self.connections):
                conn.sweep(now, now - self.config.idle_timeout)

    async def aclose(self) -> None:
        """Stop accepting, drop every connection, and let ``serve`` return."""
        for server in self._servers:
            server.close()
        for conn in list(self.connections):
            conn.end_tunnel()
            conn._close(abort=True)
            if conn.transport is not None:
                conn.transport.abort()
        for _ in range(3):
            await asyncio.sleep(0)  # let connection_lost callbacks run and cancel their connects
        self.write_queued()  # the records those callbacks made
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        if self._closed is not None:
            self._closed.set()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is installed (it is faster on every path measured), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class ProxyHandle:
    """A server running on its own event loop in a daemon thread."""

    def __init__(self, server: ProxyServer, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self.thread = thread

    def stop(self, timeout: float = 5.0) -> None:
        """Close the listeners and every connection, then join the thread (at most ``timeout`` s)."""
        if self.thread.is_alive() and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                asyncio.run_coroutine_threadsafe(self.server.aclose(), self.loop)
        self.thread.join(timeout)

    def __enter__(self) -> ProxyHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(config: ProxyConfig, sink: AuditSink, listeners: list[socket.socket],
                    *, use_uvloop: bool = True) -> ProxyHandle:
    """Run a ``ProxyServer`` on ``listeners`` in a daemon thread; returns once it accepts."""
    server = ProxyServer(config, sink)
    loop = new_event_loop() if use_uvloop else asyncio.new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        task = asyncio.ensure_future(server.serve(listeners))
        while len(server._servers) < len(listeners) and not task.done():
            await asyncio.sleep(0.001)
        if not task.done():
            started.set()  # on failure, target() sets it after recording the exception
        await task

    def target() -> None:
        try:
            loop.run_until_complete(main())
        except BaseException as exc:  # reported to the caller of start_in_thread
            failure.append(exc)
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=target, name="ringfence-proxy", daemon=True)
    thread.start()
    started.wait(10.0)
    if failure:
        raise ProxyError(f"the proxy could not start: {failure[0]}", hint="check the listening sockets") from failure[0]
    return ProxyHandle(server, loop, thread)


def bind_listener(listen: str) -> socket.socket:
    """A listening socket for ``unix:PATH`` or ``tcp:HOST:PORT``."""
    kind, _, rest = listen.partition(":")
    try:
        if kind == "unix" and rest:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            if os.path.exists(rest) and _is_socket(rest):
                os.unlink(rest)  # a stale socket from an earlier run
            sock.bind(rest)
        elif kind == "tcp" and ":" in rest:
            host, _, port = rest.rpartition(":")
            host = host.strip("[]")
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
        else:
            raise ProxyError(f"cannot listen on {listen!r}", hint="use unix:PATH or tcp:HOST:PORT")
        sock.listen(1024)
    except (OSError, ValueError, OverflowError) as exc:  # OverflowError: a port above 65535
        raise ProxyError(f"cannot listen on {listen!r}: {exc}", hint="pick a free port or a writable path") from None
    return sock


def _is_socket(path: str) -> bool:
    import stat

    return stat.S_ISSOCK(os.stat(path).st_mode)


def serve_forever(
    config: ProxyConfig, sink: AuditSink, listen: str, *, on_ready: Callable[[], None] | None = None
) -> None:
    """Serve on ``listen`` (``unix:PATH`` | ``tcp:HOST:PORT``) until SIGINT or SIGTERM.

    ``on_ready`` is called once the address is bound and listening (before serving).
    """
    sock = bind_listener(listen)
    if on_ready is not None:
        on_ready()
    server = ProxyServer(config, sink)
    loop = new_event_loop()

    async def main() -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(server.aclose()))
        await server.serve([sock])

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
        sock.close()
