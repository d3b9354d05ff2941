"""[network] rate: parsing, and token buckets on an injected clock."""

from __future__ import annotations

import pytest

from ringfence.credentials import RateLimiter, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("120/min", (120, 60.0)),
        ("10/s", (10, 1.0)),
        ("1000/hour", (1000, 3600.0)),
        ("5/second", (5, 1.0)),
        ("2/day", (2, 86400.0)),
        (" 3 / Minutes ", (3, 60.0)),
        ("7/h", (7, 3600.0)),
    ],
)
def test_parse_rate(text: str, rate: tuple[int, float]) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0/s", "count must be above 0"),
        ("-1/s", "not a rate"),
        ("1.5/s", "not a rate"),
        ("10", "not a rate"),
        ("10/fortnight", "not a rate"),
        ("/s", "not a rate"),
        ("١٢/s", "not a rate"),  # non-ASCII digits
        (10, "not a rate"),
    ],
)
def test_parse_rate_refuses(text: object, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_rate(text)


def test_bucket_allows_a_burst_then_refills_continuously() -> None:
    limiter = RateLimiter([("api.example.com", 2, 1.0)])
    assert limiter.check("api.example.com", 443, 100.0) == ("api.example.com", 0.0)
    assert limiter.check("api.example.com", 443, 100.0) == ("api.example.com", 0.0)
    assert limiter.check("api.example.com", 443, 100.0) == ("api.example.com", pytest.approx(0.5))
    assert limiter.check("api.example.com", 443, 100.25) == ("api.example.com", pytest.approx(0.25))
    assert limiter.check("api.example.com", 443, 100.5) == ("api.example.com", 0.0)
    # a long pause refills to the burst, not beyond
    for _ in range(2):
        assert limiter.check("api.example.com", 443, 1000.0)[1] == 0.0
    assert limiter.check("api.example.com", 443, 1000.0)[1] > 0


def test_no_rule_applies() -> None:
    limiter = RateLimiter([("api.example.com", 1, 60.0)])
    assert limiter.check("pypi.org", 443, 0.0) == ("", 0.0)
    assert RateLimiter([]).check("pypi.org", 443, 0.0) == ("", 0.0)


def test_a_wildcard_bucket_is_shared_by_its_subdomains() -> None:
    limiter = RateLimiter([("*.example.com", 2, 60.0)])
    assert limiter.check("a.example.com", 443, 0.0) == ("*.example.com", 0.0)
    assert limiter.check("b.example.com", 443, 0.0) == ("*.example.com", 0.0)
    assert limiter.check("c.example.com", 443, 0.0) == ("*.example.com", pytest.approx(30.0))


def test_the_most_specific_rule_counts_the_request() -> None:
    limiter = RateLimiter(
        [
            ("*.example.com", 1, 60.0),
            ("*.api.example.com", 1, 60.0),
            ("v1.api.example.com", 5, 1.0),
            ("v1.api.example.com:8443", 1, 3600.0),
            ("10.0.0.0/8", 1, 60.0),
            ("10.1.0.0/16", 1, 60.0),
        ]
    )
    assert limiter.check("v1.api.example.com", 443, 0.0) == ("v1.api.example.com", 0.0)
    assert limiter.check("v1.api.example.com", 8443, 0.0) == ("v1.api.example.com:8443", 0.0)
    assert limiter.check("v2.api.example.com", 443, 0.0) == ("*.api.example.com", 0.0)
    assert limiter.check("www.example.com", 443, 0.0) == ("*.example.com", 0.0)
    assert limiter.check("10.1.2.3", 443, 0.0) == ("10.1.0.0/16", 0.0)
    assert limiter.check("10.2.2.3", 443, 0.0) == ("10.0.0.0/8", 0.0)
    # the exact rule's own bucket: the wildcard's is untouched by it
    for _ in range(4):
        assert limiter.check("v1.api.example.com", 443, 0.0)[1] == 0.0
    assert limiter.check("v1.api.example.com", 443, 0.0)[1] > 0


def test_a_clock_that_goes_back_refills_nothing() -> None:
    limiter = RateLimiter([("api.example.com", 1, 10.0)])
    assert limiter.check("api.example.com", 443, 50.0)[1] == 0.0
    assert limiter.check("api.example.com", 443, 40.0)[1] == pytest.approx(10.0)
    assert limiter.check("api.example.com", 443, 55.0)[1] == pytest.approx(5.0)
    assert limiter.check("api.example.com", 443, 60.0)[1] == 0.0
