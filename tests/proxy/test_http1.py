"""Table-driven tests of the sans-IO HTTP/1.1 parsers (RFC 9112)."""

from __future__ import annotations

import re
from collections.abc import Callable

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


# ---- the fast paths and the general parser must agree ----
# parse_request/parse_response try one-match fast paths first (request line, header block)
# and fall back to the general parser. Every head below goes through both: once as is, once
# with the fast patterns replaced by one that never matches; the outcomes must be equal.
AGREEMENT_REQUESTS = [
    b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n",
    b"GET http://127.0.0.1:28180/small?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:28180\r\nAccept: */*\r\n\r\n",
    b"GET http://Example.COM:8080/a/b?x=1 HTTP/1.1\r\n\r\n",
    b"GET http://h.test HTTP/1.0\r\n\r\n",
    b"GET http://h.test?q=1 HTTP/1.1\r\n\r\n",
    b"GET http://h.test/x#frag HTTP/1.1\r\n\r\n",
    b"GET http://[::1]:81/x HTTP/1.1\r\n\r\n",
    b"GET HTTP://h.test/ HTTP/1.1\r\n\r\n",
    b"GET http://h.test:0/ HTTP/1.1\r\n\r\n",
    b"GET http://h.test:65536/ HTTP/1.1\r\n\r\n",
    b"GET http://h.test:/ HTTP/1.1\r\n\r\n",
    b"GET http://u@h.test/ HTTP/1.1\r\n\r\n",
    b"GET http://h.test/\x7f HTTP/1.1\r\n\r\n",
    b"GET http://h.test/\xc3\xa9 HTTP/1.1\r\n\r\n",
    b"GET http://h.test/ HTTP/1.2\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1 \r\n\r\n",
    b"G@T http://h.test/ HTTP/1.1\r\n\r\n",
    b"CONNECT http://h.test:443/ HTTP/1.1\r\n\r\n",
    b"CONNECT h.test:443 HTTP/1.1\r\nHost: h.test:443\r\n\r\n",
    b"PROPFIND http://h.test/ HTTP/1.1\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nHost: h.test\r\nProxy-Connection: keep-alive\r\nX: 1\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nhOsT: h.test\r\nCONNECTION: close, X-A\r\nx-a: 1\r\nTE: trailers\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nHost:h.test \t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX-Host: a\r\nXHost: b\r\nhost-x: c\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX: a\rb\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX: a\nb\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX: a\x00b\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX : a\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\n folded\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nNoColon\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\n: empty-name\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX-\xff: v\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX: \xff\xfe\r\n\r\n",
    b"GET http://h.test/\r HTTP/1.1\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\nX: " + b"v" * 70 + b"\r\n\r\n",
    b"GET http://h.test/" + b"p" * 70 + b" HTTP/1.1\r\n\r\n",
    b"GET http://h.test/ HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(8)) + b"\r\n",
    b"GET http://h.test/ HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(9)) + b"\r\n",
]
AGREEMENT_RESPONSES = [
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 10\r\nConnection: keep-alive\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=5\r\nConnection: Keep-Alive\r\n\r\n",
    b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nProxy-Authenticate: Basic\r\nUpgrade: h2\r\n\r\n",
    b"HTTP/1.1 099 Odd\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
    b"HTTP/1.1 200 O\rK\r\nX: a\r\n\r\n",
    b"HTTP/2 200 OK\r\n\r\n",
]
_LIMITS = Limits(max_line=64, max_headers=8)
_NEVER = re.compile(rb"(?!)")


def _outcome(parse: Callable[[bytes, Limits], object], head: bytes) -> object:
    try:
        return parse(head, _LIMITS)
    except HttpError as exc:
        return (exc.status, exc.reason)


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http1, "_FAST_BLOCK", _NEVER)
    monkeypatch.setattr(http1, "_PLAIN_REQUEST_LINE", re.compile("(?!)"))
    monkeypatch.setattr(http1, "_PLAIN_ABSOLUTE", re.compile("(?!)"))


@pytest.mark.parametrize("head", AGREEMENT_REQUESTS)
def test_fast_and_general_request_parsers_agree(head: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(http1.parse_request, head)
    _general_only(monkeypatch)
    assert fast == _outcome(http1.parse_request, head)


@pytest.mark.parametrize("head", AGREEMENT_RESPONSES)
def test_fast_and_general_response_parsers_agree(head: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _outcome(http1.parse_response, head)
    _general_only(monkeypatch)
    assert fast == _outcome(http1.parse_response, head)


def test_connection_token_cache_stays_small() -> None:
    for i in range(200):
        request = http1.parse_request(b"GET http://a/ HTTP/1.1\r\nConnection: close, x-%d\r\n\r\n" % i)
        assert request.connection == {b"close", b"x-%d" % i}
    long_value = b"x-" + b"a" * 40
    assert http1.parse_request(b"GET http://a/ HTTP/1.1\r\nConnection: " + long_value + b"\r\n\r\n").connection == {
        long_value
    }
    assert len(http1._TOKEN_SETS) <= 64
    assert all(len(value) <= 32 for value in http1._TOKEN_SETS)


def test_the_usual_heads_take_the_fast_paths() -> None:
    line = "GET http://127.0.0.1:28180/small?x=1 HTTP/1.1"
    assert http1._PLAIN_REQUEST_LINE.fullmatch(line) is not None
    block = b"Host: 127.0.0.1:28180\r\nUser-Agent: curl/8\r\nAccept: */*\r\n"
    assert http1._FAST_BLOCK.fullmatch(block) is not None


def test_origin_form_is_parsed_with_no_host_for_the_flow_to_place() -> None:
    # Inside a terminated TLS connection or to a gateway, requests are origin-form; the flow
    # decides what they address (and refuses them on a plain proxy connection).
    request = http1.parse_request(b"GET /v1/x?q=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    assert (request.host, request.port, request.path) == ("", 0, "/v1/x?q=1")
