"""LeakGuard: a secret or placeholder headed for a host it is not for, raw or encoded,
whole or across chunks; the host it is for passes; nothing reports the value."""

from __future__ import annotations

import base64
import os
from urllib.parse import quote

import pytest

from ringfence.credentials import Hit, LeakGuard, make_placeholder
from ringfence.policy import HostRules

SECRET = "sk-ant-api03-Ab+/9xYz_Q-0123456789=="  # has characters that percent-encoding changes
TOKEN = "ghp_0123456789abcdefghijABCDEFGHIJ012345"
PLACEHOLDER = make_placeholder(len(SECRET))


def rules(*hosts: str) -> HostRules:
    return HostRules.parse(list(hosts), ())


@pytest.fixture
def guard() -> LeakGuard:
    return LeakGuard.build(
        [
            ("anthropic", SECRET, rules("api.anthropic.com")),
            ("anthropic", PLACEHOLDER, rules("api.anthropic.com")),
            ("github", TOKEN, rules("api.github.com:443")),
        ]
    )


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data)


@pytest.mark.parametrize(
    ("data", "hit"),
    [
        (SECRET.encode(), Hit("anthropic", "secret", "raw")),
        (b"POST /v1/x HTTP/1.1\r\nx-api-key: " + SECRET.encode() + b"\r\n", Hit("anthropic", "secret", "raw")),
        (b"GET /collect?k=" + SECRET.encode() + b"&x=1", Hit("anthropic", "secret", "raw")),
        (b"GET /collect?k=" + quote(SECRET, safe="").encode(), Hit("anthropic", "secret", "percent")),
        (b"GET /collect?k=" + quote(SECRET, safe="").replace("%2B", "%2b").replace("%2F", "%2f").encode(),
         None),  # mixed-case hex is not one of the forms looked for
        (b"GET /collect?k=" + quote(SECRET, safe="").replace("%2B", "%2b").replace("%2F", "%2f")
         .replace("%3D", "%3d").encode(), Hit("anthropic", "secret", "percent")),
        (b"k=" + SECRET.replace("/", "%2F").replace("+", "%2B").replace("=", "%3D").encode(),
         Hit("anthropic", "secret", "percent")),
        (b"Authorization: Basic " + b64(b"user:" + SECRET.encode()), Hit("anthropic", "secret", "base64")),
        (b'{"blob": "' + b64url(TOKEN.encode()) + b'"}', Hit("github", "secret", "base64")),
        (b"x-api-key: " + PLACEHOLDER.encode(), Hit("anthropic", "placeholder", "raw")),
        (b64(PLACEHOLDER.encode()), Hit("anthropic", "placeholder", "base64")),
    ],
)
def test_found_when_headed_elsewhere(guard: LeakGuard, data: bytes, hit: Hit | None) -> None:
    assert guard.find(data, "collector.example.net", 443) == hit


@pytest.mark.parametrize("before", range(7))
@pytest.mark.parametrize("after", range(3))
@pytest.mark.parametrize("encode", [b64, b64url])
def test_base64_inside_a_longer_blob_at_every_alignment(guard: LeakGuard, before: int, after: int,
                                                         encode: object) -> None:
    blob = encode(os.urandom(before) + TOKEN.encode() + os.urandom(after))  # type: ignore[operator]
    assert guard.find(b"data=" + blob, "collector.example.net", 443) == Hit("github", "secret", "base64")


def test_allowed_hosts_pass(guard: LeakGuard) -> None:
    both = SECRET.encode() + b" " + PLACEHOLDER.encode()
    assert guard.find(both, "api.anthropic.com", 443) is None
    assert guard.find(TOKEN.encode(), "api.github.com", 443) is None
    # the github rule names port 443: the same host on another port is elsewhere
    assert guard.find(TOKEN.encode(), "api.github.com", 8443) == Hit("github", "secret", "raw")
    # but a credential's own host still may not get another credential's value
    assert guard.find(TOKEN.encode(), "api.anthropic.com", 443) == Hit("github", "secret", "raw")


def test_clean_traffic_passes(guard: LeakGuard) -> None:
    data = os.urandom(65536) + b"GET /simple/requests/ HTTP/1.1\r\nHost: pypi.org\r\n"
    assert guard.find(data, "pypi.org", 443) is None


def test_a_value_shared_by_two_credentials_may_go_to_either(guard: LeakGuard) -> None:
    shared = LeakGuard.build([("a", TOKEN, rules("a.example.com")), ("b", TOKEN, rules("b.example.com"))])
    assert shared.find(TOKEN.encode(), "b.example.com", 443) is None
    assert shared.find(TOKEN.encode(), "a.example.com", 443) is None
    assert shared.find(TOKEN.encode(), "c.example.com", 443) == Hit("a", "secret", "raw")


def test_values_shorter_than_eight_characters_are_not_watched() -> None:
    guard = LeakGuard.build([("tiny", "abc1234", rules("a.example.com"))])
    assert guard.find(b"abc1234", "elsewhere.example.com", 443) is None


def test_a_needle_that_may_go_nowhere() -> None:
    guard = LeakGuard.build([("workspace .env", TOKEN, HostRules((), ()))])
    assert guard.find(TOKEN.encode(), "api.github.com", 443) == Hit("workspace .env", "secret", "raw")


@pytest.mark.parametrize("value", [SECRET, TOKEN, PLACEHOLDER])
def test_scanner_finds_needles_across_chunks(guard: LeakGuard, value: str) -> None:
    body = b"x" * 100 + value.encode() + b"y" * 100
    for chunk_size in (1, 2, 3, 7, 16, 40):
        scanner = guard.scanner("collector.example.net", 443)
        hits = [scanner.feed(body[i : i + chunk_size]) for i in range(0, len(body), chunk_size)]
        assert [h for h in hits if h is not None][:1] != [], chunk_size
    for split in range(1, len(value)):
        scanner = guard.scanner("collector.example.net", 443)
        assert scanner.feed(b"a=" + value.encode()[:split]) is None
        assert scanner.feed(value.encode()[split:] + b"&b=2") is not None


def test_scanner_finds_an_encoded_needle_across_chunks(guard: LeakGuard) -> None:
    body = b"k=" + quote(SECRET, safe="").encode()
    scanner = guard.scanner("collector.example.net", 443)
    hits = [scanner.feed(body[i : i + 1]) for i in range(len(body))]
    assert hits[-1] == Hit("anthropic", "secret", "percent")
    assert hits[:-1] == [None] * (len(body) - 1)


def test_scanner_fast_path_when_nothing_applies() -> None:
    guard = LeakGuard.build([("github", TOKEN, rules("api.github.com"))])
    scanner = guard.scanner("api.github.com", 443)
    assert repr(scanner) == "BodyScanner(active=False)"
    assert scanner.feed(TOKEN.encode()) is None


def test_nothing_shows_a_value(guard: LeakGuard) -> None:
    hit = guard.find(SECRET.encode(), "x.example.net", 443)
    scanner = guard.scanner("x.example.net", 443)
    scanner.feed(SECRET.encode()[:10])
    for text in (repr(hit), str(hit), repr(guard), repr(scanner)):
        for value in (SECRET, TOKEN, PLACEHOLDER, SECRET[:10]):
            assert value not in text
