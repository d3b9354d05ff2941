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
# not hold CR, LF or NUL. The fast check is one regex over the header block whose values are
# ``.*`` (any byte but LF, a tight loop in C) plus two counts and a search over the head: every
# LF ends a line in CRLF and there is no other CR and no NUL. Anything that fails it takes the
# slow path, which names the error (or accepts what only the fast check was too strict for).
# Then one more regex, over the lower-cased head, picks out the fields the proxy reads and
# the hop-by-hop ones it drops. Header parsing is most of the proxy's per-request CPU, hence
# the shape: every step is one pass in C, none is a Python loop over lines.
_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_BLOCK = re.compile(rb"(?:" + _TOKEN + rb":[^\r\n\x00]*\r\n)*")
_FAST_BLOCK = re.compile(rb"(?:" + _TOKEN + rb":.*\r\n)*")
_READ = frozenset({b"connection", b"proxy-connection", b"content-length", b"transfer-encoding", b"host"})
# "\r\n" name ":" value, for every field the proxy reads or drops; the value runs to the CR
_SPECIAL = re.compile(rb"\r\n(" + b"|".join(sorted(_READ | HOP_BY_HOP)) + rb"):([^\r]*)")
_METHODS = frozenset({b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"CONNECT", b"TRACE"})


def _split_head(head: bytes, limits: Limits) -> tuple[int, dict[bytes, list[bytes]], bytes]:
    """(end of the first line, values of the fields the proxy reads, block minus hop-by-hop).

    ``head`` is a complete head ending in CRLF CRLF; the block keeps each line's CRLF and
    the case the peer used.
    """
    first_end = head.index(b"\r\n")
    start, stop = first_end + 2, len(head) - 2
    lines = head.count(b"\n")
    if (
        _FAST_BLOCK.fullmatch(head, start, stop) is None
        or head.count(b"\r") != lines
        or b"\x00" in head
        or stop - start > limits.max_line
    ):
        _check_block(head[start:stop], limits)
    if lines - 2 > limits.max_headers:
        raise HttpError(431, f"more than {limits.max_headers} header fields")
    special: dict[bytes, list[bytes]] = {}
    kept: list[bytes] = []
    pos = start
    for match in _SPECIAL.finditer(head.lower(), first_end, stop):
        name = match[1]
        value_start, value_end = match.span(2)
        if name in _READ:
            value = head[value_start:value_end].strip(b" \t")
            found = special.get(name)
            if found is None:
                special[name] = [value]
            else:
                found.append(value)
        if name in HOP_BY_HOP:
            kept.append(head[pos : match.start() + 2])
            pos = value_end + 2
    if not kept:
        return first_end, special, head[start:stop]
    kept.append(head[pos:stop])
    return first_end, special, b"".join(kept)


def _check_block(block: bytes, limits: Limits) -> None:
    """The slow, precise check of a header block: raises the error that names what is wrong."""
    if _BLOCK.fullmatch(block) is None or len(block) > limits.max_line and _longest_line(block) > limits.max_line:
        for line in block.split(b"\r\n"):
            _check_field(line, limits)


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
    values = special.get(b"connection")
    other = special.get(b"proxy-connection")
    if values is None and other is None:
        return _NO_TOKENS
    if other is None and values is not None and len(values) == 1:
        tokens = _TOKEN_SETS.get(values[0])  # the usual "keep-alive" or "close"
        if tokens is not None:
            return tokens
    found: set[bytes] = set()
    for value in (values or []) + (other or []):
        found.update(t.strip().lower() for t in value.split(b","))
    tokens = frozenset(found)
    if other is None and values is not None and len(values) == 1 and len(values[0]) <= 32 and len(_TOKEN_SETS) < 64:
        _TOKEN_SETS[values[0]] = tokens  # few distinct short values occur; the cache stays tiny
    return tokens


_NO_TOKENS: frozenset[bytes] = frozenset()
# Connection values already split into tokens (a pure function's results): at most 64
# entries of at most 32 bytes, so a peer cannot grow it
_TOKEN_SETS: dict[bytes, frozenset[bytes]] = {}


def parse_request(head: bytes, limits: Limits = DEFAULT_LIMITS) -> Request:
    """Parse a complete request head (ending in CRLF CRLF) addressed to a forward proxy."""
    first_end, special, end_to_end = _split_head(head, limits)
    if first_end > limits.max_line:
        raise HttpError(414, f"the request line is longer than {limits.max_line} bytes")
    block = head[first_end + 2 : -2]
    connection = _connection_tokens(special) if special else _NO_TOKENS
    plain = _PLAIN_REQUEST_LINE.fullmatch(head[:first_end].decode("latin-1"))
    if plain is not None:
        method, target, host, port_text, path, minor = plain.groups()
        port = int(port_text) if port_text else 80
        if method != "CONNECT" and 0 < port < 65536:
            authority = f"{host}:{port_text}" if port_text else host
            return Request(method, target, _VERSIONS[minor], block, end_to_end, host, port, path or "/", special,
                           authority, connection)
    parts = head[:first_end].split(b" ")
    if len(parts) != 3 or parts[0] not in _METHODS and (not parts[0] or not _is_token(parts[0])):
        raise HttpError(400, "malformed request line")
    method_b, target_b, version = parts
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        raise HttpError(400 if not version.startswith(b"HTTP/") else 505, "unsupported HTTP version")
    try:
        method, target = method_b.decode("ascii"), target_b.decode("ascii")
    except UnicodeDecodeError:
        raise HttpError(400, "non-ASCII request target") from None
    if not target.isprintable():
        raise HttpError(400, "invalid character in the request target")
    if method == "CONNECT":
        host, port = parse_authority(target, default_port=None)
        return Request(method, target, version, block, end_to_end, host, port, "", special, target, connection)
    authority, host, port, path = _parse_absolute(target)
    return Request(method, target, version, block, end_to_end, host, port, path, special, authority, connection)


# The usual request line, parsed in one match: a token method, an absolute-form target with a
# lower-case scheme, a plain name or IPv4 host, an optional port and a path of printable ASCII
# without a fragment, then HTTP/1.1 or HTTP/1.0. Anything else takes the general parser.
_PLAIN_REQUEST_LINE = re.compile(
    "(" + _TOKEN.decode("ascii") + r") (http://([A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?(/[!\"$-~]*)?) HTTP/1\.([01])",
    re.ASCII,
)
_VERSIONS = {"1": b"HTTP/1.1", "0": b"HTTP/1.0"}
# The usual absolute-form target: lower-case scheme, a plain name or IPv4 host, an optional
# port, a path without a fragment. Anything else takes the general (slower) parser below.
_PLAIN_ABSOLUTE = re.compile(r"http://([A-Za-z0-9.\-]+)(?::([0-9]{1,5}))?(/[^#]*)?", re.ASCII)


def _parse_absolute(target: str) -> tuple[str, str, int, str]:
    plain = _PLAIN_ABSOLUTE.fullmatch(target)
    if plain is not None:
        host, port_text, path = plain.groups()
        port = int(port_text) if port_text else 80
        if 0 < port < 65536:
            return target[7 : plain.end(2) if port_text else plain.end(1)], host, port, path or "/"
    if target.startswith("/"):
        # origin-form (RFC 9112 §3.2.1): inside a terminated TLS connection, or addressed to a
        # gateway; the flow knows which and refuses it otherwise (host "" marks it).
        return "", "", 0, target.split("#", 1)[0]
    scheme, sep, rest = target.partition("://")
    if not sep:
        # RFC 9112 §3.2.2: a request to a proxy carries the absolute-form target.
        raise HttpError(400, NOT_A_PROXY_REQUEST)
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


NOT_A_PROXY_REQUEST = "not a proxy request: the request target must be an absolute http:// URI"


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
        first_end, special, end_to_end = _split_head(head, limits)
    except HttpError as exc:
        raise HttpError(502, f"upstream sent a bad response head: {exc.reason}") from None
    line = head[:first_end]
    version, _, rest = line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version != b"HTTP/1.1" and version != b"HTTP/1.0" or len(code) != 3 or not code.isdigit():
        raise HttpError(502, "upstream sent a malformed status line")
    connection = _connection_tokens(special) if special else _NO_TOKENS
    return Response(int(code), version, reason, head[first_end + 2 : -2], end_to_end, special, connection, line)


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


# Enum member lookups cost ~100 ns each on Python 3.11; the per-message code uses aliases.
_F_NONE = Framing.NONE
_F_LENGTH = Framing.LENGTH
_F_CHUNKED = Framing.CHUNKED
_F_UNTIL_CLOSE = Framing.UNTIL_CLOSE


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
    special = request.special
    if b"transfer-encoding" not in special and b"content-length" not in special:
        return _F_NONE, 0  # the usual request: no body
    codings = _transfer_codings(special)
    if codings:
        if b"content-length" in special:
            raise HttpError(400, "both Transfer-Encoding and Content-Length")
        if codings[-1] != b"chunked" or request.version != b"HTTP/1.1":
            raise HttpError(400, "a request Transfer-Encoding must end in chunked")
        return _F_CHUNKED, 0
    length = _content_length(special, 400)
    if length:
        return _F_LENGTH, length
    return _F_NONE, 0


def response_framing(response: Response, method: str) -> tuple[Framing, int]:
    """How the response body is delimited (RFC 9112 §6.3, rules 1-7 for responses)."""
    status = response.status
    if method == "HEAD" or status < 200 or status == 204 or status == 304:
        return _F_NONE, 0
    special = response.special
    if b"transfer-encoding" in special:
        codings = _transfer_codings(special)
        if codings:
            if codings[-1] == b"chunked":
                return _F_CHUNKED, 0
            return _F_UNTIL_CLOSE, 0
    length = _content_length(special, 502)
    if length is None:
        return _F_UNTIL_CLOSE, 0
    return (_F_LENGTH, length) if length else (_F_NONE, 0)


def serialize_head(first_line: bytes, block: bytes, extra: bytes = b"") -> bytes:
    """A head from its first line, its header block and extra header lines (each with CRLF)."""
    return first_line + b"\r\n" + block + extra + b"\r\n"


class _Chunk(Enum):
    SIZE = "size"
    DATA = "data"
    DATA_END = "data-end"
    TRAILER = "trailer"
    DONE = "done"


_C_SIZE = _Chunk.SIZE
_C_DATA = _Chunk.DATA
_C_DATA_END = _Chunk.DATA_END
_C_TRAILER = _Chunk.TRAILER
_C_DONE = _Chunk.DONE


class BodyFramer:
    """Finds where a body ends in a byte stream; ``feed`` returns how many bytes are body.

    The caller forwards ``data[:n]`` unchanged; anything after belongs to the next message.
    """

    __slots__ = ("framing", "remaining", "limits", "done", "_state", "_line", "_trailer_bytes")

    def __init__(self, framing: Framing, length: int = 0, limits: Limits = DEFAULT_LIMITS) -> None:
        self.framing = framing
        self.remaining = length
        self.limits = limits
        self.done = framing is _F_NONE
        self._state = _C_SIZE
        self._line = bytearray()
        self._trailer_bytes = 0

    def feed_payload(self, data: bytes, payload: list[bytes]) -> int:
        """As ``feed``, and append the body's payload (chunked framing removed) to ``payload``."""
        if self.framing is not _F_CHUNKED:
            n = self.feed(data)
            if n:
                payload.append(data if n == len(data) else data[:n])
            return n
        if self.done:
            return 0
        return self._feed_chunked(data, payload)

    def feed(self, data: bytes) -> int:
        if self.done:
            return 0
        if self.framing is _F_UNTIL_CLOSE:
            return len(data)
        if self.framing is _F_LENGTH:
            n = min(self.remaining, len(data))
            self.remaining -= n
            self.done = self.remaining == 0
            return n
        return self._feed_chunked(data)

    def eof(self) -> None:
        """The stream ended; raises unless that is a valid end of this body."""
        if self.framing is _F_UNTIL_CLOSE:
            self.done = True
        if not self.done:
            raise HttpError(502, "the connection closed in the middle of a body")

    def _feed_chunked(self, data: bytes, payload: list[bytes] | None = None) -> int:
        # RFC 9112 §7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF,
        # last-chunk = 1*("0") [ chunk-ext ] CRLF, then trailer-section CRLF.
        pos, end = 0, len(data)
        while pos < end and not self.done:
            if self._state is _C_DATA:
                n = min(self.remaining, end - pos)
                if payload is not None and n:
                    payload.append(data[pos : pos + n])
                pos += n
                self.remaining -= n
                if self.remaining == 0:
                    self._state = _C_DATA_END
            else:
                pos = self._feed_line(data, pos)
        return pos

    def _feed_line(self, data: bytes, pos: int) -> int:
        newline = data.find(b"\n", pos)
        stop = len(data) if newline < 0 else newline + 1
        self._line += data[pos:stop]
        limit = self.limits.max_chunk_line if self._state is not _C_TRAILER else self.limits.max_line
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
        if self._state is _C_DATA_END:
            if line:
                raise HttpError(400, "chunk data longer than its size")
            self._state = _C_SIZE
        elif self._state is _C_SIZE:
            self._chunk_size(line)
        else:
            self._trailer_line(line)

    def _chunk_size(self, line: bytes) -> None:
        size_text = line.split(b";", 1)[0].rstrip(b" \t")
        if not size_text or len(size_text) > 16 or not all(c in _HEX for c in size_text):
            raise HttpError(400, "invalid chunk size")
        self.remaining = int(size_text, 16)
        self._state = _C_DATA if self.remaining else _C_TRAILER

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > self.limits.max_trailers:
            raise HttpError(431, "the trailer section is too large")
        if not line:
            self._state = _C_DONE
            self.done = True


def encode_chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (RFC 9112 §7.1); never call it with b"" (that ends the body)."""
    return b"%x\r\n" % len(data) + data + b"\r\n"


LAST_CHUNK = b"0\r\n\r\n"


def replace_fields(block: bytes, drop: frozenset[bytes], extra: bytes = b"") -> bytes:
    """``block`` without the fields named in ``drop`` (lower-case), then ``extra`` lines."""
    kept = [line for line in block.split(b"\r\n") if line and line[: line.find(b":")].lower() not in drop]
    return b"".join(line + b"\r\n" for line in kept) + extra


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Content Too Large",
    414: "URI Too Long",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def error_response(status: int, body: str, *, close: bool, extra: str = "") -> bytes:
    """A complete ``text/plain`` response the proxy itself sends; ``extra``: header lines with CRLF."""
    payload = body.encode("utf-8")
    head = (
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(payload)}\r\n{extra}"
    )
    if close:
        head += "Connection: close\r\n"
    return head.encode("ascii") + b"\r\n" + payload
