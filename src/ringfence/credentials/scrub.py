"""Response scrubbing: replace secrets in a byte stream with same-length masks (pure).

Rules this module keeps:

- every byte of every occurrence of a needle is replaced, overlapping occurrences included
  (where two overlap, both ranges end up masked);
- a replacement has exactly its needle's length, so what comes out is as long as what went
  in and a Content-Length or chunk framing stays right;
- ``feed`` holds back only what might be the start of a needle: the longest suffix of what
  it has seen that is a proper prefix of some needle. A server-sent-events stream is not
  delayed unless its last bytes could begin a secret; ``flush`` releases the rest;
- a needle split across any number of chunks is found (byte-by-byte feeding included);
- the scrubber's repr shows how many needles it has, never them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Mapping


class Scrubber:
    """Replaces each needle with its replacement in a stream fed in chunks."""

    __slots__ = ("_firsts", "_held", "_held_out", "_longest", "_pairs", "_prefixes")

    def __init__(self, replacements: Mapping[bytes, bytes]) -> None:
        for needle, replacement in replacements.items():
            if not needle:
                raise ValueError("a scrubber needle must not be empty")
            if len(replacement) != len(needle):
                raise ValueError(
                    f"a replacement must be as long as its needle ({len(replacement)} != {len(needle)} bytes)"
                )
        self._pairs = tuple(replacements.items())
        # every proper prefix of every needle, for the hold-back test
        self._prefixes = frozenset(n[:i] for n in replacements for i in range(1, len(n)))
        self._longest = max((len(n) for n in replacements), default=0)
        self._firsts = tuple({n[:1] for n in replacements})  # a held suffix starts with one of these
        self._held = b""  # the held bytes as they came
        self._held_out = b""  # the same bytes with the replacements already made in them

    def __repr__(self) -> str:
        return f"Scrubber({len(self._pairs)} needles, {len(self._held)} bytes held)"

    def fresh(self) -> Scrubber:
        """A new scrubber with the same needles and nothing held (shares the prepared tables:
        one per response costs no more than a few attribute copies)."""
        other = Scrubber.__new__(Scrubber)
        other._pairs, other._prefixes, other._longest = self._pairs, self._prefixes, self._longest
        other._firsts = self._firsts
        other._held = other._held_out = b""
        return other

    def feed(self, chunk: bytes) -> bytes:
        """``chunk`` with every needle replaced, less what might start a needle (held back)."""
        if not self._pairs:
            return chunk
        if not self._held and not any(needle in chunk for needle, _ in self._pairs):
            # the usual chunk: nothing held, nothing to replace; no copy unless a tail is held
            keep = self._hold_length(chunk)
            if not keep:
                return chunk
            self._held = self._held_out = chunk[-keep:]
            return chunk[:-keep]
        original = self._held + chunk
        out = self._replace(original, bytearray(self._held_out + chunk))
        keep = self._hold_length(original)
        cut = len(original) - keep
        self._held, self._held_out = original[cut:], bytes(out[cut:])
        return bytes(out[:cut])

    def flush(self) -> bytes:
        """Whatever is held back (no needle can complete any more)."""
        out, self._held, self._held_out = self._held_out, b"", b""
        return out

    def scrub(self, data: bytes) -> bytes:
        """``data`` with every needle replaced, as a whole (a header block): nothing held."""
        if not self._pairs:
            return data
        return bytes(self._replace(data, bytearray(data)))

    def _replace(self, original: bytes, out: bytearray) -> bytearray:
        # Found in the original bytes, written into ``out``: an occurrence overlapping one
        # already replaced is still found, and both ranges end up masked.
        for needle, replacement in self._pairs:
            start = original.find(needle)
            while start >= 0:
                out[start : start + len(needle)] = replacement
                start = original.find(needle, start + 1)
        return out

    def _hold_length(self, data: bytes) -> int:
        """The length of the longest suffix of ``data`` that is a proper prefix of a needle.

        Only a suffix that starts with some needle's first byte can be one: those positions
        are found with ``bytes.find`` (C) in the last ``longest - 1`` bytes, usually none in
        a bulk chunk, instead of slicing and hashing every suffix length (most of the
        scrub's cost per MB). For each first byte the leftmost match is its longest."""
        end = len(data)
        start = end - min(end, self._longest - 1)
        best = 0
        for first in self._firsts:
            at = data.find(first, start)
            while 0 <= at and end - at > best:
                if data[at:] in self._prefixes:
                    best = end - at
                    break
                at = data.find(first, at + 1)
        return best

