"""Table-driven tests of the sans-IO HTTP/1.1 parsers (RFC 9112)."""

from __future__ import annotations

import pytest

from ringfence.proxy import http1
from ringfence.proxy.http1 import BodyFramer, Framing, HttpError, Limits


@pytest.mark.parametrize(
    ("head", "method", "host", "port", "path"),
    [
        (b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", "GET", "example.com", 80, "/"),
        (b"GET http://Example.COM:8080/a/b?x=1 HTTP/1.1\r\n\r\n", "GET", "Example.COM", 8080, "/a/b?x=1"),
        (b"POST HTTP://h.test HTTP/1.0\r\n\r\n", "POST", "h.test", 80, "/"),
        (b"GET http://h.test?q=1 HTTP/1.1\r\n\r\n", "GET", "h.test", 80, "/?q=1"),
        (b"GET http://[::1]:81/x#frag HTTP/1.1\r\n\r\n", "GET", "::1", 81, "/x"),
        (b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", "CONNECT", "example.com", 443, ""),
        (b"CONNECT [2001:db8::1]:443 HTTP/1.1\r\n\r\n", "CONNECT", "2001:db8::1", 443, ""),
    ],
)
def test_good_request_heads(head: bytes, method: str, host: str, port: int, path: str) -> None:
    request = http1.parse_request(head)
    assert (request.method, request.host, request.port, request.path) == (method, host, port, path)


@pytest.mark.parametrize(
    ("head", "status", "fragment"),
    [
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "absolute"),
        (b"GET https://a/ HTTP/1.1\r\n\r\n", 400, "CONNECT"),
        (b"GET ftp://a/ HTTP/1.1\r\n\r\n", 400, "scheme"),
        (b"GET http://a/ HTTP/2.0\r\n\r\n", 505, "version"),
        (b"GET http://a/ FOO\r\n\r\n", 400, "version"),
        (b"GET  http://a/ HTTP/1.1\r\n\r\n", 400, "request line"),
        (b"GET http://a/\r\n\r\n", 400, "request line"),
        (b"G(T http://a/ HTTP/1.1\r\n\r\n", 400, "request line"),
        (b"CONNECT example.com HTTP/1.1\r\n\r\n", 400, "host:port"),
        (b"CONNECT example.com:0 HTTP/1.1\r\n\r\n", 400, "port"),
        (b"CONNECT example.com:99999 HTTP/1.1\r\n\r\n", 400, "port"),
        (b"GET http://user:pw@a/ HTTP/1.1\r\n\r\n", 400, "user information"),
        (b"GET http://:80/ HTTP/1.1\r\n\r\n", 400, "empty host"),
        (b"GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n", 400, "malformed header"),
        (b"GET http://a/ HTTP/1.1\r\nNoColon\r\n\r\n", 400, "malformed header"),
        (b"GET http://a/ HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", 400, "folding"),
        (b"GET http://a/ HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400, "invalid character"),
    ],
)
def test_bad_request_heads(head: bytes, status: int, fragment: str) -> None:
    with pytest.raises(HttpError) as info:
        http1.parse_request(head)
    assert info.value.status == status
    assert fragment in info.value.reason


def test_header_count_limit() -> None:
    head = b"GET http://a/ HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(101)) + b"\r\n"
    with pytest.raises(HttpError) as info:
        http1.parse_request(head)
    assert info.value.status == 431


def test_header_line_limit() -> None:
    head = b"GET http://a/ HTTP/1.1\r\nX: " + b"v" * 100 + b"\r\n\r\n"
    with pytest.raises(HttpError) as info:
        http1.parse_request(head, Limits(max_line=50))
    assert info.value.status == 431


@pytest.mark.parametrize(
    ("buffer", "expected"),
    [(b"GET http://a/ HTTP/1.1\r\n", -1), (b"GET http://a/ HTTP/1.1\r\n\r\nrest", 26), (b"", -1)],
)
def test_find_head_end(buffer: bytes, expected: int) -> None:
    assert http1.find_head_end(buffer, 1000) == expected


@pytest.mark.parametrize("buffer", [b"x" * 101, b"x" * 98 + b"\r\n\r\n"])
def test_find_head_end_limit(buffer: bytes) -> None:
    with pytest.raises(HttpError) as info:
        http1.find_head_end(buffer, 100)
    assert info.value.status == 431


@pytest.mark.parametrize(
    ("fields", "kept"),
    [
        (b"Host: a\r\nAccept: */*\r\n", b"Host: a\r\nAccept: */*\r\n"),
        (b"Host: a\r\nProxy-Connection: keep-alive\r\nProxy-Authorization: Basic c2VjcmV0\r\n"
         b"Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\nX-Rate: 1\r\n", b"Host: a\r\nX-Rate: 1\r\n"),
        (b"Host: a\r\nConnection: X-Private, content-length, close\r\nx-private: 1\r\nContent-Length: 0\r\n"
         b"X-Private-Not: 2\r\n", b"Host: a\r\nContent-Length: 0\r\nX-Private-Not: 2\r\n"),
    ],
)
def test_filter_headers_drops_hop_by_hop_and_connection_listed(fields: bytes, kept: bytes) -> None:
    request = http1.parse_request(b"GET http://a/ HTTP/1.1\r\n" + fields + b"\r\n")
    assert http1.filter_headers(request) == kept


def _req(headers: bytes, version: bytes = b"HTTP/1.1") -> http1.Request:
    return http1.parse_request(b"POST http://a/ " + version + b"\r\n" + headers + b"\r\n")


@pytest.mark.parametrize(
    ("headers", "framing", "length"),
    [
        (b"", Framing.NONE, 0),
        (b"Content-Length: 0\r\n", Framing.NONE, 0),
        (b"Content-Length: 12\r\n", Framing.LENGTH, 12),
        (b"Content-Length: 12\r\nContent-Length: 12\r\n", Framing.LENGTH, 12),
        (b"Transfer-Encoding: chunked\r\n", Framing.CHUNKED, 0),
        (b"Transfer-Encoding: gzip, chunked\r\n", Framing.CHUNKED, 0),
    ],
)
def test_request_framing(headers: bytes, framing: Framing, length: int) -> None:
    assert http1.request_framing(_req(headers)) == (framing, length)


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 1\r\nContent-Length: 2\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 1x\r\n",
        b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        b"Transfer-Encoding: gzip\r\n",
    ],
)
def test_request_framing_refuses_ambiguity(headers: bytes) -> None:
    with pytest.raises(HttpError) as info:
        http1.request_framing(_req(headers))
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("head", "method", "framing"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "GET", Framing.LENGTH),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD", Framing.NONE),
        (b"HTTP/1.1 204 No Content\r\n\r\n", "GET", Framing.NONE),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET", Framing.NONE),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "GET", Framing.CHUNKED),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "GET", Framing.UNTIL_CLOSE),
        (b"HTTP/1.0 200 OK\r\n\r\n", "GET", Framing.UNTIL_CLOSE),
    ],
)
def test_response_framing(head: bytes, method: str, framing: Framing) -> None:
    assert http1.response_framing(http1.parse_response(head), method)[0] is framing


@pytest.mark.parametrize("head", [b"HTTP/1.1 2000 OK\r\n\r\n", b"SPDY 200 OK\r\n\r\n", b"HTTP/1.1 OK\r\n\r\n"])
def test_bad_status_line_is_502(head: bytes) -> None:
    with pytest.raises(HttpError) as info:
        http1.parse_response(head)
    assert info.value.status == 502


def _feed_all(framer: BodyFramer, pieces: list[bytes]) -> bytes:
    taken = b""
    for piece in pieces:
        n = framer.feed(piece)
        taken += piece[:n]
    return taken


CHUNKED = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"


@pytest.mark.parametrize("split", [1, 2, 3, 7, len(CHUNKED)])
def test_chunked_framer_any_split(split: int) -> None:
    data = CHUNKED + b"NEXT"
    framer = BodyFramer(Framing.CHUNKED)
    taken = _feed_all(framer, [data[i : i + split] for i in range(0, len(data), split)])
    assert taken == CHUNKED
    assert framer.done


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"zz\r\n", 400),
        (b"5\r\nhelloX\r\n", 400),
        (b"5\nhello", 400),
        (b"1" * 2000, 400),
        (b"11111111111111111\r\n", 400),
        (b"0\r\n" + b"X: y\r\n" * 5000, 431),
    ],
)
def test_chunked_framer_errors(body: bytes, status: int) -> None:
    with pytest.raises(HttpError) as info:
        BodyFramer(Framing.CHUNKED).feed(body)
    assert info.value.status == status


def test_length_framer_stops_at_length() -> None:
    framer = BodyFramer(Framing.LENGTH, 5)
    assert framer.feed(b"abc") == 3
    assert framer.feed(b"deNEXT") == 2
    assert framer.done


def test_eof_inside_body_is_an_error_unless_close_delimited() -> None:
    framer = BodyFramer(Framing.LENGTH, 5)
    framer.feed(b"abc")
    with pytest.raises(HttpError):
        framer.eof()
    until_close = BodyFramer(Framing.UNTIL_CLOSE)
    assert until_close.feed(b"anything") == 8
    until_close.eof()
    assert until_close.done


def test_error_response_shape() -> None:
    raw = http1.error_response(403, "no\n", close=True)
    assert raw.startswith(b"HTTP/1.1 403 Forbidden\r\n")
    assert b"Content-Type: text/plain; charset=utf-8\r\n" in raw
    assert b"Content-Length: 3\r\nConnection: close\r\n\r\nno\n" in raw
