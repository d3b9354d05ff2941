"""HTTP/1.1 message parsing for a forward proxy, sans-IO (RFC 9110, RFC 9112).

Rules this module keeps:

- it never touches a socket: callers hand it bytes, it hands back parsed heads and the
  number of bytes that belong to a body;
- every buffer has a limit (``Limits``): a head, a line, a header count, a chunk-size line
  and the trailer section; exceeding one is an ``HttpError`` carrying the status to answer;
- ambiguous framing is refused, never guessed (RFC 9112 §6.3: Transfer-Encoding together
  with Content-Length, differing Content-Lengths, a Transfer-Encoding whose last coding is
  not ``chunked`` on a request), because a proxy that frames a message differently from the
  origin is how request smuggling happens;
- bodies are relayed verbatim (chunked stays chunked): the framers only find where a body
  ends, so no re-encoding cost and no chance of changing the message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

# Hop-by-hop fields (RFC 9110 §7.6.1) plus the proxy-specific ones: a proxy consumes them
# and never forwards them. Transfer-Encoding is hop-by-hop in theory, but bodies are relayed
# verbatim, so the framing header travels with the bytes it describes.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"proxy-connection",
        b"keep-alive",
        b"proxy-authorization",
        b"proxy-authenticate",
        b"te",
        b"upgrade",
    }
)
# A Connection header may name more hop-by-hop fields, but never these: dropping one would
# change the framing the origin sees (a smuggling vector) or the target.
_NEVER_DROP = frozenset({b"host", b"content-length", b"transfer-encoding"})

_TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_BAD_VALUE_CHARS = (b"\r", b"\n", b"\x00")


@dataclass(frozen=True)
class Limits:
    """Upper bounds on everything the proxy buffers for one message."""

    max_head: int = 64 * 1024  # request or response line plus header section
    max_line: int = 16 * 1024  # one request line or header line
    max_headers: int = 100
    max_chunk_line: int = 1024  # chunk-size plus extensions
    max_trailers: int = 16 * 1024


DEFAULT_LIMITS = Limits()


class HttpError(Exception):
    """The peer sent something this proxy will not relay; ``status`` is the answer to give."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason




@dataclass(slots=True)
class Request:
    """A parsed request head. ``host`` is the raw authority host (brackets removed)."""

    method: str
    target: str  # as sent
    version: bytes  # b"HTTP/1.1" or b"HTTP/1.0"
    block: bytes  # the header lines as received, each ending in CRLF
    end_to_end: bytes  # the block without the fixed hop-by-hop fields (see filter_headers)
    host: str
    port: int
    path: str  # origin-form: path plus query, what goes on the upstream request line
    special: dict[bytes, list[bytes]] = field(default_factory=dict)  # values of the fields read
    authority: str = ""  # the target's authority as sent (host[:port])
    connection: frozenset[bytes] = frozenset()  # Connection / Proxy-Connection tokens, lower-case


@dataclass(slots=True)
class Response:
    status: int
    version: bytes
    reason: bytes
    block: bytes
    end_to_end: bytes
    special: dict[bytes, list[bytes]] = field(default_factory=dict)
    connection: frozenset[bytes] = frozenset()
    line: bytes = b""  # the status line as received


def find_head_end(buffer: bytes | bytearray, limit: int) -> int:
    """Index just past the blank line ending a head, -1 if incomplete; raises if too big."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > limit:
            raise HttpError(431, f"the message head is larger than {limit} bytes")
        return -1
    if end + 4 > limit:
        raise HttpError(431, f"the message head is larger than {limit} bytes")
    return end + 4


# RFC 9110 §5.1/§5.5: field-name is a token; no whitespace before the colon; a value must
# not hold CR, LF or NUL. The whole header block is validated by one regex (one pass in C);
# then one loop picks out the fields the proxy reads and drops the hop-by-hop ones. This is
# most of the proxy's per-request CPU, hence the shape.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_BLOCK = re.compile(rb"(?:" + _TOKEN + rb":[^\r\n\x00]*\r\n)*")
_READ = frozenset({b"connection", b"proxy-connection", b"content-length", b"transfer-encoding", b"host"})
# (b"\nname:", name, read it?, drop it?) for every field the scan looks for
_NEEDLES = tuple(
    (b"\n" + name + b":", name, name in _READ, name in HOP_BY_HOP) for name in sorted(_READ | HOP_BY_HOP)
)


def _split_head(head: bytes, limits: Limits) -> tuple[bytes, bytes, dict[bytes, list[bytes]], bytes]:
    """(first line, header block, values of the fields the proxy reads, block minus hop-by-hop).

    Blocks keep each line's CRLF and the case the peer used.
    """
    first_end = head.index(b"\r\n")
    block = head[first_end + 2 : -2]
    if _BLOCK.fullmatch(block) is None or len(block) > limits.max_line and _longest_line(block) > limits.max_line:
        for line in block.split(b"\r\n"):
            _check_field(line, limits)
    if block.count(b"\n") > limits.max_headers:
        raise HttpError(431, f"more than {limits.max_headers} header fields")
    special, cuts = _scan(block)
    if not cuts:
        return head[:first_end], block, special, block
    cuts.sort()
    kept, pos = [], 0
    for start, end in cuts:
        kept.append(block[pos:start])
        pos = end
    kept.append(block[pos:])
    return head[:first_end], block, special, b"".join(kept)


def _scan(block: bytes) -> tuple[dict[bytes, list[bytes]], list[tuple[int, int]]]:
    # A substring search per interesting name over the lower-cased block is several times
    # cheaper in CPython than a loop over the lines. In ``low`` the line starting at block
    # offset i is preceded by the "\n" at low offset i, so offsets carry over unchanged.
    low = b"\n" + block.lower()
    special: dict[bytes, list[bytes]] = {}
    cuts: list[tuple[int, int]] = []
    for needle, name, read, drop in _NEEDLES:
        i = low.find(needle)
        while i >= 0:
            eol = block.index(b"\r\n", i)
            if read:
                special.setdefault(name, []).append(block[i + len(needle) - 1 : eol].strip(b" \t"))
            if drop:
                cuts.append((i, eol + 2))
            i = low.find(needle, eol)
    return special, cuts


def _longest_line(block: bytes) -> int:
    return max(len(line) for line in block.split(b"\r\n"))


def _check_field(line: bytes, limits: Limits) -> None:
    if len(line) > limits.max_line:
        raise HttpError(431, f"a header line is longer than {limits.max_line} bytes")
    if line and _BLOCK.fullmatch(line + b"\r\n") is None:
        _field_error(line)


def _field_error(line: bytes) -> None:
    if line[:1] in (b" ", b"\t"):
        # obs-fold: RFC 9112 §5.2 lets a proxy reject it, and unfolding invites confusion.
        raise HttpError(400, "obsolete line folding in a header field")
    name, colon, value = line.partition(b":")
    if not colon or not name or not _is_token(name):
        # RFC 9112 §5.1: no whitespace is allowed between the field name and the colon.
        raise HttpError(400, "malformed header field")
    raise HttpError(400, "invalid character in a header value")


def _is_token(text: bytes) -> bool:
    return all(c in _TOKEN_CHARS for c in text)


def _connection_tokens(special: dict[bytes, list[bytes]]) -> frozenset[bytes]:
    if b"connection" not in special and b"proxy-connection" not in special:
        return frozenset()
    tokens: set[bytes] = set()
    for value in special.get(b"connection", ()):
        tokens.update(t.strip().lower() for t in value.split(b","))
    for value in special.get(b"proxy-connection", ()):
        tokens.update(t.strip().lower() for t in value.split(b","))
    return frozenset(tokens)


def parse_request(head: bytes, limits: Limits = DEFAULT_LIMITS) -> Request:
    """Parse a complete request head (ending in CRLF CRLF) addressed to a forward proxy."""
    line, block, special, end_to_end = _split_head(head, limits)
    if len(line) > limits.max_line:
        raise HttpError(414, f"the request line is longer than {limits.max_line} bytes")
    parts = line.split(b" ")
    if len(parts) != 3 or not parts[0] or not _is_token(parts[0]):
        raise HttpError(400, "malformed request line")
    method_b, target_b, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        raise HttpError(400 if not version.startswith(b"HTTP/") else 505, "unsupported HTTP version")
    try:
        method, target = method_b.decode("ascii"), target_b.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "non-ASCII request target") from None
    if not target.isprintable():
        raise HttpError(400, "invalid character in the request target")
    if method == "CONNECT":
        host, port = parse_authority(target, default_port=None)
        return Request(method, target, version, block, end_to_end, host, port, "", special, target,
                       _connection_tokens(special))
    authority, host, port, path = _parse_absolute(target)
    return Request(method, target, version, block, end_to_end, host, port, path, special, authority,
                   _connection_tokens(special))


def _parse_absolute(target: str) -> tuple[str, str, int, str]:
    scheme, sep, rest = target.partition("://")
    if not sep:
        # RFC 9112 §3.2.2: a request to a proxy carries the absolute-form target.
        raise HttpError(400, "not a proxy request: the request target must be an absolute http:// URI")
    if scheme.lower() != "http":
        raise HttpError(400, f"unsupported scheme {scheme!r}: use CONNECT for https")
    cut = rest.find("/")
    if cut < 0:
        cut = len(rest)
    for mark in "?#":
        other = rest.find(mark, 0, cut)
        if other >= 0:
            cut = other
    authority, path = rest[:cut], rest[cut:]
    if "#" in path:
        path = path[: path.index("#")]  # a fragment is never sent (RFC 9110 §4.2.5)
    if not path.startswith("/"):
        path = "/" + path
    host, port = parse_authority(authority, default_port=80)
    return authority, host, port, path


def parse_authority(text: str, default_port: int | None) -> tuple[str, int]:
    """Split ``host[:port]`` (``[v6]:port`` for IPv6); the port is required without a default."""
    if "@" in text:
        # userinfo in an http(s) URI is deprecated (RFC 9110 §4.2.4) and only confuses matching
        raise HttpError(400, "user information in the request target")
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HttpError(400, "unclosed '[' in the authority")
        host, rest = text[1:end], text[end + 1 :]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            host, rest = text, ""
        else:
            rest = ":" + port_text
    if not host:
        raise HttpError(400, "empty host in the request target")
    if not rest:
        if default_port is None:
            raise HttpError(400, "CONNECT needs host:port")
        return host, default_port
    port_text = rest[1:]
    if not rest.startswith(":") or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise HttpError(400, "invalid port in the request target")
    return host, int(port_text)


def parse_response(head: bytes, limits: Limits = DEFAULT_LIMITS) -> Response:
    """Parse a complete response head; a malformed one is a 502 for the agent."""
    try:
        line, block, special, end_to_end = _split_head(head, limits)
    except HttpError as exc:
        raise HttpError(502, f"upstream sent a bad response head: {exc.reason}") from None
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise HttpError(502, "upstream sent a malformed status line")
    return Response(int(code), version, reason, block, end_to_end, special, _connection_tokens(special), line)


def request_keeps_alive(request: Request) -> bool:
    """Will the agent's connection stay open after this exchange (RFC 9112 §9.3)?

    HTTP/1.0 clients are closed after each response: keeping them alive needs a
    ``Connection: keep-alive`` dance with length-framed responses that is not worth it here.
    """
    if request.version != b"HTTP/1.1":
        return False
    return b"close" not in request.connection


def response_keeps_alive(response: Response) -> bool:
    if response.version != b"HTTP/1.1":
        return b"keep-alive" in response.connection
    return b"close" not in response.connection


_USUAL_TOKENS = frozenset({b"close", b"keep-alive"})


def filter_headers(message: Request | Response) -> bytes:
    """The header block without hop-by-hop fields, nor those Connection names (RFC 9110 §7.6.1)."""
    if not message.connection:
        return message.end_to_end
    named = message.connection - _USUAL_TOKENS - _NEVER_DROP - HOP_BY_HOP
    if not named:
        return message.end_to_end
    lines = message.end_to_end.split(b"\r\n")
    return b"\r\n".join(line for line in lines if line[: line.find(b":")].lower() not in named)


class Framing(Enum):
    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"
    UNTIL_CLOSE = "until-close"


def _transfer_codings(special: dict[bytes, list[bytes]]) -> list[bytes]:
    codings: list[bytes] = []
    for value in special.get(b"transfer-encoding", ()):
        codings.extend(c.strip().lower() for c in value.split(b",") if c.strip())
    return codings


def _content_length(special: dict[bytes, list[bytes]], status: int) -> int | None:
    found = special.get(b"content-length")
    if found is None:
        return None
    if len(found) == 1 and found[0].isdigit() and len(found[0]) <= 18:
        return int(found[0])  # the usual case, without building a set
    values = {v.strip() for value in special.get(b"content-length", ()) for v in value.split(b",")}
    if not values:
        return None
    if len(values) != 1:
        raise HttpError(status, "conflicting Content-Length values")
    text = values.pop()
    if not text.isdigit() or len(text) > 18:
        raise HttpError(status, "invalid Content-Length")
    return int(text)


def request_framing(request: Request) -> tuple[Framing, int]:
    """How the request body is delimited (RFC 9112 §6.3, rules 3-6 for requests)."""
    codings = _transfer_codings(request.special)
    if codings:
        if b"content-length" in request.special:
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        if codings[-1] != b"chunked" or request.version != b"HTTP/1.1":
            raise HttpError(400, "a request Transfer-Encoding must end in chunked")
        return Framing.CHUNKED, 0
    length = _content_length(request.special, 400)
    if length:
        return Framing.LENGTH, length
    return Framing.NONE, 0


def response_framing(response: Response, method: str) -> tuple[Framing, int]:
    """How the response body is delimited (RFC 9112 §6.3, rules 1-7 for responses)."""
    if method == "HEAD" or response.status < 200 or response.status in (204, 304):
        return Framing.NONE, 0
    codings = _transfer_codings(response.special)
    if codings:
        if codings[-1] == b"chunked":
            return Framing.CHUNKED, 0
        return Framing.UNTIL_CLOSE, 0
    length = _content_length(response.special, 502)
    if length is None:
        return Framing.UNTIL_CLOSE, 0
    return (Framing.LENGTH, length) if length else (Framing.NONE, 0)


def serialize_head(first_line: bytes, block: bytes, extra: bytes = b"") -> bytes:
    """A head from its first line, its header block and extra header lines (each with CRLF)."""
    return first_line + b"\r\n" + block + extra + b"\r\n"


class _Chunk(Enum):
    SIZE = "size"
    DATA = "data"
    DATA_END = "data-end"
    TRAILER = "trailer"
    DONE = "done"


class BodyFramer:
    """Finds where a body ends in a byte stream; ``feed`` returns how many bytes are body.

    The caller forwards ``data[:n]`` unchanged; anything after belongs to the next message.
    """

    def __init__(self, framing: Framing, length: int = 0, limits: Limits = DEFAULT_LIMITS) -> None:
        self.framing = framing
        self.remaining = length
        self.limits = limits
        self.done = framing is Framing.NONE
        self._state = _Chunk.SIZE
        self._line = bytearray()
        self._trailer_bytes = 0

    def feed(self, data: bytes) -> int:
        if self.done:
            return 0
        if self.framing is Framing.UNTIL_CLOSE:
            return len(data)
        if self.framing is Framing.LENGTH:
            n = min(self.remaining, len(data))
            self.remaining -= n
            self.done = self.remaining == 0
            return n
        return self._feed_chunked(data)

    def eof(self) -> None:
        """The stream ended; raises unless that is a valid end of this body."""
        if self.framing is Framing.UNTIL_CLOSE:
            self.done = True
        if not self.done:
            raise HttpError(502, "the connection closed in the middle of a body")

    def _feed_chunked(self, data: bytes) -> int:
        # RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF,
        # last-chunk = 1*("0") [ chunk-ext ] CRLF, then trailer-section CRLF.
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._state is _Chunk.DATA:
                n = min(self.remaining, end - pos)
                pos += n
                self.remaining -= n
                if self.remaining == 0:
                    self._state = _Chunk.DATA_END
            else:
                pos = self._feed_line(data, pos)
        return pos

    def _feed_line(self, data: bytes, pos: int) -> int:
        newline = data.find(b"\n", pos)
        stop = len(data) if newline < 0 else newline + 1
        self._line += data[pos:stop]
        limit = self.limits.max_chunk_line if self._state is not _Chunk.TRAILER else self.limits.max_line
        if len(self._line) > limit:
            raise HttpError(400, "a chunk-size or trailer line is too long")
        if newline >= 0:
            line = bytes(self._line)
            self._line.clear()
            self._line_complete(line)
        return stop

    def _line_complete(self, line: bytes) -> None:
        if not line.endswith(b"\r\n"):
            raise HttpError(400, "chunked framing lines must end in CRLF")
        line = line[:-2]
        if self._state is _Chunk.DATA_END:
            if line:
                raise HttpError(400, "chunk data longer than its size")
            self._state = _Chunk.SIZE
        elif self._state is _Chunk.SIZE:
            self._chunk_size(line)
        else:
            self._trailer_line(line)

    def _chunk_size(self, line: bytes) -> None:
        size_text = line.split(b";", 1)[0].rstrip(b" \t")
        if not size_text or len(size_text) > 16 or not all(c in _HEX for c in size_text):
            raise HttpError(400, "invalid chunk size")
        self.remaining = int(size_text, 16)
        self._state = _Chunk.DATA if self.remaining else _Chunk.TRAILER

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > self.limits.max_trailers:
            raise HttpError(431, "the trailer section is too large")
        if not line:
            self._state = _Chunk.DONE
            self.done = True


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def error_response(status: int, body: str, *, close: bool) -> bytes:
    """A complete ``text/plain`` response the proxy itself sends."""
    payload = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n"
    )
    if close:
        head += "Connection: close\r\n"
    return head.encode("ascii") + b"\r\n" + payload
