"""Scrubber: secrets replaced by same-length masks in streams cut anywhere; nothing held
back unless it could begin a secret."""

from __future__ import annotations

import pytest

from ringfence.credentials import Scrubber

SECRET = b"sk-live-0123456789"
MASK = b"rfph_AAAAAAAAAAAAA"


def feed_all(scrubber: Scrubber, chunks: list[bytes]) -> bytes:
    return b"".join(scrubber.feed(chunk) for chunk in chunks) + scrubber.flush()


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 17, 18, 19, 1000])
def test_any_chunking(size: int) -> None:
    data = b"HTTP body " + SECRET + b" then " + SECRET + SECRET + b" sk-live-not " + SECRET
    expected = data.replace(SECRET, MASK)
    assert feed_all(Scrubber({SECRET: MASK}), cut(data, size)) == expected


def test_needle_at_the_very_end_is_held_then_replaced() -> None:
    scrubber = Scrubber({SECRET: MASK})
    assert scrubber.feed(b"token: " + SECRET[:-1]) == b"token: "
    assert scrubber.feed(SECRET[-1:]) == MASK
    assert scrubber.flush() == b""
    scrubber = Scrubber({SECRET: MASK})
    assert scrubber.feed(b"end " + SECRET) == b"end " + MASK


def test_a_prefix_that_never_completes_is_released_by_flush() -> None:
    scrubber = Scrubber({SECRET: MASK})
    assert scrubber.feed(b"abc sk-li") == b"abc "
    assert scrubber.feed(b"ne") == b"sk-line"  # no longer a prefix of the secret: released
    assert scrubber.feed(b"sk-") == b""
    assert scrubber.flush() == b"sk-"


def test_sse_chunks_are_not_delayed() -> None:
    scrubber = Scrubber({SECRET: MASK})
    events = [b'data: {"delta": "hello"}\n\n', b'data: {"delta": "' + SECRET + b'"}\n\n', b"data: [DONE]\n\n"]
    out = [scrubber.feed(event) for event in events]
    assert out == [events[0], events[1].replace(SECRET, MASK), events[2]]
    assert scrubber.flush() == b""


@pytest.mark.parametrize("size", [1, 2, 4, 100])
def test_overlapping_needles_mask_every_byte(size: int) -> None:
    needles = {b"abcdef": b"111111", b"defghi": b"222222", b"cd": b"33"}
    data = b"xxabcdefghiyy abcdef cdz"
    out = feed_all(Scrubber(needles), cut(data, size))
    assert len(out) == len(data)
    for needle in needles:
        assert needle not in out
    assert out[:2] == b"xx" and out[11:14] == b"yy " and out[-1:] == b"z"
    # every byte that belonged to some occurrence is replaced
    assert not set(out[2:11]) & set(b"abcdefghi")


def test_shortest_needle_inside_a_longer_one_held() -> None:
    scrubber = Scrubber({b"abcdef": b"111111", b"cd": b"22"})
    out = scrubber.feed(b"zabcd")  # "abcd" could still become "abcdef": held, "cd" masked in it
    assert out == b"z"
    assert scrubber.feed(b"zz") == b"ab22zz"


def test_scrub_whole_block() -> None:
    block = b"HTTP/1.1 200 OK\r\nX-Echo: " + SECRET + b"\r\n\r\n"
    assert Scrubber({SECRET: MASK}).scrub(block) == block.replace(SECRET, MASK)


def test_replacement_must_keep_the_length() -> None:
    with pytest.raises(ValueError, match="as long as its needle"):
        Scrubber({SECRET: b"short"})
    with pytest.raises(ValueError, match="empty"):
        Scrubber({b"": b""})


def test_no_needles_passes_everything() -> None:
    scrubber = Scrubber({})
    assert scrubber.feed(b"abc") == b"abc"
    assert scrubber.flush() == b""


def test_repr_shows_no_needle() -> None:
    scrubber = Scrubber({SECRET: MASK})
    scrubber.feed(SECRET[:5])
    assert SECRET[:5].decode() not in repr(scrubber) and "1 needles, 5 bytes held" in repr(scrubber)


def test_fresh_scrubbers_share_needles_but_not_what_is_held() -> None:
    template = Scrubber({b"secret-value": b"XXXXXXXXXXXX"})
    first, second = template.fresh(), template.fresh()
    assert first.feed(b"abc secret-") == b"abc "  # holds the possible start of a needle
    assert second.feed(b"value here") == b"value here"  # nothing of the first's stream
    assert first.feed(b"value!") == b"XXXXXXXXXXXX!"
    assert first.flush() == b"" and second.flush() == b""


def test_a_chunk_without_needles_passes_through_uncopied() -> None:
    chunk = b"x" * 100_000
    assert Scrubber({b"secret-value": b"XXXXXXXXXXXX"}).feed(chunk) is chunk


def test_the_hold_back_is_the_longest_suffix_that_starts_a_needle() -> None:
    """The fast hold-back (candidates found by first byte) agrees with the definition on
    random data over a small alphabet, where prefixes recur and overlap."""
    import random

    rng = random.Random(20261208)
    for _ in range(3000):
        needles = {bytes(rng.choice(b"abc") for _ in range(rng.randint(1, 7))) for _ in range(rng.randint(1, 3))}
        scrubber = Scrubber({n: b"*" * len(n) for n in needles})
        data = bytes(rng.choice(b"abcd") for _ in range(rng.randint(0, 12)))
        expected = next((length for length in range(min(len(data), max(map(len, needles)) - 1), 0, -1)
                         if any(n.startswith(data[-length:]) and length < len(n) for n in needles)), 0)
        assert scrubber._hold_length(data) == expected, (needles, data)
