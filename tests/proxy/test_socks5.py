"""Table-driven tests of the SOCKS5 negotiation (RFC 1928)."""

from __future__ import annotations

import pytest

from ringfence.proxy.socks5 import ConnectRequested, Reply, Socks5Negotiation, SocksError, reply

GREETING = b"\x05\x01\x00"


def _connect(atyp: int, addr: bytes, port: int = 443, cmd: int = 1) -> bytes:
    return bytes((5, cmd, 0, atyp)) + addr + port.to_bytes(2, "big")


@pytest.mark.parametrize(
    ("request_bytes", "expected"),
    [
        (_connect(3, b"\x0bexample.com"), ConnectRequested("example.com", 443, False)),
        (_connect(1, bytes((10, 0, 0, 1)), 80), ConnectRequested("10.0.0.1", 80, True)),
        (_connect(4, bytes(15) + b"\x01", 22), ConnectRequested("::1", 22, True)),
    ],
)
def test_connect_requests(request_bytes: bytes, expected: ConnectRequested) -> None:
    socks = Socks5Negotiation()
    assert socks.receive(GREETING) == (b"\x05\x00", None)
    assert socks.receive(request_bytes) == (b"", expected)


def test_byte_by_byte_and_leftover_payload() -> None:
    socks = Socks5Negotiation()
    data = GREETING + _connect(3, b"\x01a") + b"PAYLOAD"
    got: list[object] = []
    sent = b""
    for i in range(len(data)):
        out, requested = socks.receive(data[i : i + 1])
        sent += out
        if requested:
            got.append(requested)
    assert sent == b"\x05\x00"
    assert got == [ConnectRequested("a", 443, False)]
    assert socks.leftover == b"PAYLOAD"


@pytest.mark.parametrize(
    ("data", "answer"),
    [
        (b"\x05\x01\x02", b"\x05\xff"),  # only username/password offered
        (GREETING + _connect(1, bytes(4), cmd=2), reply(Reply.COMMAND_NOT_SUPPORTED)),  # BIND
        (GREETING + _connect(1, bytes(4), cmd=3), reply(Reply.COMMAND_NOT_SUPPORTED)),  # UDP ASSOCIATE
        (GREETING + _connect(9, bytes(4)), reply(Reply.ADDRESS_TYPE_NOT_SUPPORTED)),
        (GREETING + _connect(3, b"\x00"), reply(Reply.GENERAL_FAILURE)),
        (GREETING + _connect(3, b"\x01a", port=0), reply(Reply.GENERAL_FAILURE)),
        (GREETING + b"\x04\x01\x00\x01" + bytes(6), reply(Reply.GENERAL_FAILURE)),
    ],
)
def test_refusals(data: bytes, answer: bytes) -> None:
    socks = Socks5Negotiation()
    with pytest.raises(SocksError) as info:
        socks.receive(data)
    # after a good greeting the method selection (05 00) goes out before the refusal
    expected = b"\x05\x00" + answer if data.startswith(GREETING) else answer
    assert info.value.reply == expected


def test_reply_layout() -> None:
    assert reply(Reply.NOT_ALLOWED) == b"\x05\x02\x00\x01\x00\x00\x00\x00\x00\x00"
