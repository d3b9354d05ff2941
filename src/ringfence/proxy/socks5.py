"""SOCKS5 server-side negotiation, sans-IO (RFC 1928).

Rules this module keeps:

- only the "no authentication required" method (0x00) is offered: the agent holds no
  credential to present, and the boundary is the sandbox, not a password;
- only CONNECT is served; BIND and UDP ASSOCIATE get reply 0x07 (command not supported);
- the negotiation is at most 2 + 255 bytes of greeting and 4 + 1 + 255 + 2 of request, so
  the buffer is bounded by the protocol itself;
- the bound address in every reply is 0.0.0.0:0: the proxy's real address is none of the
  agent's business, and clients do not use it for CONNECT.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum, IntEnum

VERSION = 0x05
NO_AUTH = 0x00
NO_ACCEPTABLE_METHOD = 0xFF


class Reply(IntEnum):
    """REP codes of RFC 1928 §6."""

    SUCCEEDED = 0x00
    GENERAL_FAILURE = 0x01
    NOT_ALLOWED = 0x02
    NETWORK_UNREACHABLE = 0x03
    HOST_UNREACHABLE = 0x04
    CONNECTION_REFUSED = 0x05
    TTL_EXPIRED = 0x06
    COMMAND_NOT_SUPPORTED = 0x07
    ADDRESS_TYPE_NOT_SUPPORTED = 0x08


class Atyp(IntEnum):
    IPV4 = 0x01
    DOMAIN = 0x03
    IPV6 = 0x04


class SocksState(Enum):
    GREETING = "greeting"
    REQUEST = "request"
    DONE = "done"
    FAILED = "failed"


class SocksError(Exception):
    """The client broke RFC 1928; ``reply`` is what to send before closing (b"" for nothing)."""

    def __init__(self, reason: str, reply: bytes) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


@dataclass(frozen=True)
class ConnectRequested:
    """The client asked to CONNECT; ``literal`` tells an IP literal from a domain name."""

    host: str
    port: int
    literal: bool


def reply(code: Reply) -> bytes:
    """A reply message (RFC 1928 §6) with the bound address 0.0.0.0:0."""
    return bytes((VERSION, code, 0x00, Atyp.IPV4, 0, 0, 0, 0, 0, 0))


class Socks5Negotiation:
    """Feed bytes with ``receive``; it returns bytes to send and, once, a ``ConnectRequested``.

    After a ``ConnectRequested`` any further bytes received are payload for the tunnel and
    come back from ``leftover``.
    """

    def __init__(self) -> None:
        self.state = SocksState.GREETING
        self._buffer = bytearray()

    @property
    def leftover(self) -> bytes:
        return bytes(self._buffer)

    def receive(self, data: bytes) -> tuple[bytes, ConnectRequested | None]:
        if self.state is SocksState.DONE:
            self._buffer += data
            return b"", None
        self._buffer += data
        out = b""
        try:
            if self.state is SocksState.GREETING:
                out = self._greeting()
            if self.state is SocksState.REQUEST:
                return out, self._request()
        except SocksError as exc:
            self.state = SocksState.FAILED
            exc.reply = out + exc.reply  # the method selection already made still goes out first
            raise
        return out, None

    def _greeting(self) -> bytes:
        # RFC 1928 §3: VER | NMETHODS | METHODS
        buf = self._buffer
        if buf[0] != VERSION:
            raise SocksError("not a SOCKS5 greeting", b"")
        if len(buf) < 2 or len(buf) < 2 + buf[1]:
            return b""
        methods = buf[2 : 2 + buf[1]]
        del buf[: 2 + buf[1]]
        if NO_AUTH not in methods:
            refusal = bytes((VERSION, NO_ACCEPTABLE_METHOD))
            raise SocksError("the client offers no method without authentication", refusal)
        self.state = SocksState.REQUEST
        return bytes((VERSION, NO_AUTH))

    def _request(self) -> ConnectRequested | None:
        # RFC 1928 §4: VER | CMD | RSV | ATYP | DST.ADDR | DST.PORT
        buf = self._buffer
        if len(buf) < 5:
            return None
        if buf[0] != VERSION:
            raise SocksError("bad version in the SOCKS5 request", reply(Reply.GENERAL_FAILURE))
        atyp, size = buf[3], _address_size(buf)
        if len(buf) < 4 + size + 2:
            return None
        if buf[1] != 0x01:
            raise SocksError(f"SOCKS5 command {buf[1]} is not supported", reply(Reply.COMMAND_NOT_SUPPORTED))
        raw = bytes(buf[4 : 4 + size])
        port = int.from_bytes(buf[4 + size : 6 + size], "big")
        del buf[: 6 + size]
        self.state = SocksState.DONE
        if port == 0:
            raise SocksError("port 0 is not a destination", reply(Reply.GENERAL_FAILURE))
        return _destination(atyp, raw, port)


def _address_size(buf: bytearray) -> int:
    atyp = buf[3]
    if atyp == Atyp.IPV4:
        return 4
    if atyp == Atyp.IPV6:
        return 16
    if atyp == Atyp.DOMAIN:
        return 1 + buf[4]
    raise SocksError(f"SOCKS5 address type {atyp} is not supported", reply(Reply.ADDRESS_TYPE_NOT_SUPPORTED))


def _destination(atyp: int, raw: bytes, port: int) -> ConnectRequested:
    if atyp == Atyp.IPV4:
        return ConnectRequested(str(ipaddress.IPv4Address(raw)), port, True)
    if atyp == Atyp.IPV6:
        return ConnectRequested(str(ipaddress.IPv6Address(raw)), port, True)
    try:
        name = raw[1:].decode("ascii")
    except UnicodeDecodeError:
        raise SocksError("the SOCKS5 domain name is not ASCII", reply(Reply.GENERAL_FAILURE)) from None
    if not name:
        raise SocksError("empty SOCKS5 domain name", reply(Reply.GENERAL_FAILURE))
    return ConnectRequested(name, port, False)
