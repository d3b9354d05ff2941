"""The leak guard: does a request carry a credential's value to a host it is not for? (pure)

The proxy hands the guard every value worth watching, secrets and placeholders alike, each
with the hosts it may go to. The guard looks for each value in what the request would send
(target, headers, body) and reports the first one headed somewhere else.

Rules this module keeps:

- a value is looked for in its raw bytes; percent-encoded (``quote(value, safe="")`` with
  upper- and lower-case hex, and the ``+``-for-space form) when that differs; and in base64
  and base64url at each of the three alignments it can have inside a longer base64 text.
  For an alignment only the stable inner part is used, the characters that depend on the
  value's bytes alone; alignments whose stable part is shorter than 12 characters are left
  out (too short to mean anything);
- a value shorter than 8 characters is not watched: it would match ordinary traffic;
- a needle is checked only against hosts that none of its owners may send it to (the same
  secret may belong to two credentials);
- a ``Hit`` names the credential, the kind (``secret``/``placeholder``) and the encoding,
  never the value, and so do the guard's and the scanner's reprs;
- a scanner only inspects: it keeps a tail of the longest needle's length − 1 bytes so a
  needle split across chunks is found, but it holds no data back from the caller.

What it is not: a defence against an agent that transforms a value on purpose (it can
reverse a placeholder as easily as send it). The boundary is that the agent never holds a
secret; the guard catches accidents and careless tools, and makes a placeholder useless
anywhere but its own hosts.

The search is one ``needle in data`` per needle (CPython's fast search: about 8 µs per
64 KiB for a 40-byte needle). Measured on 64 KiB with 20 needles: this loop ~200 µs; one
compiled ``re`` alternation of the escaped needles 470-1000 µs; a pre-check of needles
sharing a first 5 bytes (the placeholders' ``rfph_``) 150-260 µs depending on the mix, as a
5-byte search costs 5 times a 40-byte one. The plain loop is the simplest, and within a
third of the best in every mix tried.
"""

from __future__ import annotations

from ringfence._struct import record
from ringfence.credentials.placeholder import PREFIX as _PLACEHOLDER_PREFIX
from ringfence.policy.hosts import HostRules

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Iterable

MIN_VALUE_LENGTH = 8
MIN_BASE64_STABLE = 12
_CACHE_LIMIT = 4096


@record
class Hit:
    """A value found where it may not go. Never holds the value."""

    credential: str
    kind: str  # "secret" | "placeholder"
    encoding: str  # "raw" | "percent" | "base64"


class _Needle:
    __slots__ = ("data", "hit", "owners")

    def __init__(self, data: bytes, hit: Hit, owners: list[HostRules]) -> None:
        self.data = data
        self.hit = hit
        self.owners = owners  # the host rules of every credential this value belongs to

    def __repr__(self) -> str:
        return f"_Needle({self.hit!r}, {len(self.data)} bytes)"

    def applies(self, host: str, port: int) -> bool:
        return not any(rules.decide_name(host, port).allowed for rules in self.owners)


def encoded_forms(value: str) -> list[tuple[str, bytes]]:
    """``(encoding, needle)`` for every form of ``value`` the guard looks for, raw first."""
    raw = value.encode("utf-8")
    forms: list[tuple[str, bytes]] = [("raw", raw)]
    forms += [("percent", form) for form in _percent_forms(value)]
    forms += [("base64", form) for form in _base64_forms(raw)]
    unique: dict[bytes, str] = {}
    for encoding, form in forms:
        unique.setdefault(form, encoding)
    return [(encoding, form) for form, encoding in unique.items()]


def _percent_forms(value: str) -> list[bytes]:
    from urllib.parse import quote, quote_plus

    upper = quote(value, safe="")
    lower = _lower_hex(upper)
    plus = quote_plus(value, safe="")
    return [form.encode("ascii") for form in (upper, lower, plus) if form != value]


def _lower_hex(text: str) -> str:
    parts = text.split("%")
    return parts[0] + "".join("%" + part[:2].lower() + part[2:] for part in parts[1:])


def _base64_forms(raw: bytes) -> list[bytes]:
    """The stable inner part of ``raw``'s base64 at each alignment, standard and URL-safe."""
    import base64

    forms: list[bytes] = []
    for align in range(3):
        encoded = base64.b64encode(b"\0" * align + raw).rstrip(b"=")
        # Character i covers bits [6i, 6i + 6): it depends on the value alone when those
        # bits lie inside the value's bits [8 * align, 8 * (align + len(raw))).
        start = -(-8 * align // 6)
        end = 8 * (align + len(raw)) // 6
        stable = encoded[start:end]
        if len(stable) >= MIN_BASE64_STABLE:
            forms.append(stable)
            forms.append(stable.translate(_URLSAFE))
    return forms


_URLSAFE = bytes.maketrans(b"+/", b"-_")


class _Search:
    """The needles that apply to one destination."""

    __slots__ = ("_needles", "max_length")

    def __init__(self, needles: list[_Needle]) -> None:
        self._needles = tuple((n.data, n.hit) for n in needles)
        self.max_length = max(len(n.data) for n in needles)

    def find(self, data: bytes) -> Hit | None:
        for needle, hit in self._needles:
            if needle in data:
                return hit
        return None


class BodyScanner:
    """Looks for needles in a body fed in chunks, across chunk boundaries."""

    __slots__ = ("_keep", "_search", "_tail")

    def __init__(self, search: _Search | None) -> None:
        self._search = search
        self._keep = search.max_length - 1 if search is not None else 0
        self._tail = b""

    def __repr__(self) -> str:
        return f"BodyScanner(active={self._search is not None})"

    def feed(self, chunk: bytes) -> Hit | None:
        """The first needle found in what was fed so far (its end in ``chunk``), or None."""
        if self._search is None:
            return None
        data = self._tail + chunk
        hit = self._search.find(data)
        self._tail = data[-self._keep:] if self._keep else b""
        return hit


class LeakGuard:
    """Needles from every watched value, each with the hosts it may go to."""

    __slots__ = ("_needles", "_searches")

    def __init__(self, needles: list[_Needle]) -> None:
        self._needles = needles
        self._searches: dict[tuple[str, int], _Search | None] = {}

    @classmethod
    def build(cls, entries: Iterable[tuple[str, str, HostRules]]) -> LeakGuard:
        """A guard for ``(credential name, value, hosts it may go to)`` entries; a value
        starting with the placeholder prefix counts as a placeholder, any other as a secret."""
        by_data: dict[bytes, _Needle] = {}
        for credential, value, rules in entries:
            if len(value) < MIN_VALUE_LENGTH:
                continue
            kind = "placeholder" if value.startswith(_PLACEHOLDER_PREFIX) else "secret"
            for encoding, data in encoded_forms(value):
                needle = by_data.get(data)
                if needle is None:
                    by_data[data] = _Needle(data, Hit(credential, kind, encoding), [rules])
                elif rules not in needle.owners:
                    needle.owners.append(rules)
        return cls(list(by_data.values()))

    def __repr__(self) -> str:
        names = sorted({n.hit.credential for n in self._needles})
        return f"LeakGuard({len(self._needles)} needles, credentials={names})"

    def find(self, data: bytes, host: str, port: int) -> Hit | None:
        """The first needle in ``data`` that may not go to ``host:port`` (a normalised name
        or IP literal), or None."""
        search = self._search_for(host, port)
        return search.find(data) if search is not None else None

    def scanner(self, host: str, port: int) -> BodyScanner:
        """A scanner for one body headed to ``host:port``; trivial when nothing applies."""
        return BodyScanner(self._search_for(host, port))

    def _search_for(self, host: str, port: int) -> _Search | None:
        key = (host, port)
        if key in self._searches:
            return self._searches[key]
        needles = [n for n in self._needles if n.applies(host, port)]
        search = _Search(needles) if needles else None
        if len(self._searches) >= _CACHE_LIMIT:
            self._searches.clear()
        self._searches[key] = search
        return search
