"""``[network] rate``: request rate limits per host rule, as token buckets (pure).

Rules this module keeps:

- a rate is ``COUNT/UNIT``: ``"120/min"``, ``"10/s"``, ``"1000/hour"``, ``"5/second"``,
  ``"2/day"``; COUNT is a whole number above 0;
- each rule has one bucket, shared by every host it matches (``*.example.com`` limits the
  subdomains together). A bucket holds at most COUNT tokens (the burst), starts full and
  refills continuously at COUNT per period; a request takes one token or is refused;
- a request is counted by one rule only: the most specific that matches (a port before
  none; an exact name or address before a network, a longer network prefix before a
  shorter one, before any wildcard; a longer wildcard base before a shorter one; then
  policy order). A rule written for one host is the author's word for that host: counting
  it under a wildcard as well would let the wildcard's limit override it, and a refusal
  names one rule;
- time is what the caller passes in (monotonic seconds); a clock that goes back refills
  nothing. Not thread-safe: the proxy calls it from its event loop.
"""

from __future__ import annotations

from ringfence.policy.hosts import HostRule, HostRules, RuleKind, parse_host_rule

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    from collections.abc import Sequence

_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}  # fmt: skip
_FORM = "COUNT/UNIT such as \"120/min\" (units: s, min, hour, day)"


def parse_rate(text: object) -> tuple[int, float]:
    """``"120/min"`` -> ``(120, 60.0)``: (count, period in seconds); raises ``ValueError``."""
    if not isinstance(text, str):
        raise ValueError(f"{text!r} is not a rate; expected {_FORM}")
    count, slash, unit = text.strip().partition("/")
    count, unit = count.strip(), unit.strip().lower()
    if not slash or not count.isdigit() or not count.isascii() or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a rate; expected {_FORM}")
    if int(count) == 0:
        raise ValueError(f"{text!r} allows nothing; the count must be above 0")
    return int(count), _UNITS[unit]


def _specificity(rule: HostRule) -> tuple[int, int, int]:
    """Sort key, most specific first (see the module's rules)."""
    port = 0 if rule.port is not None else 1
    if rule.kind in (RuleKind.EXACT, RuleKind.ADDRESS):
        return (port, 0, 0)
    if rule.kind is RuleKind.NETWORK:
        assert rule.network is not None
        return (port, 1, -rule.network.prefixlen)
    return (port, 2, -len(rule.name))


class _Bucket:
    __slots__ = ("capacity", "pattern", "rate", "rules", "tokens", "updated")

    def __init__(self, pattern: str, count: int, period: float) -> None:
        self.pattern = pattern
        self.rules = HostRules((parse_host_rule(pattern),), ())
        self.capacity = float(count)
        self.rate = count / period  # tokens per second
        self.tokens = float(count)
        self.updated: float | None = None

    def take(self, now: float) -> float:
        """0.0 after taking a token, else the seconds until one is there."""
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        if self.updated is None or now > self.updated:
            self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Token buckets for ``(host rule, count, period seconds)`` rules."""

    __slots__ = ("_buckets", "_matches")

    def __init__(self, rules: Sequence[tuple[str, int, float]]) -> None:
        buckets = [_Bucket(pattern, count, period) for pattern, count, period in rules]
        buckets.sort(key=lambda b: _specificity(b.rules.allow[0]))  # stable: policy order breaks ties
        self._buckets = tuple(buckets)
        self._matches: dict[tuple[str, int], _Bucket | None] = {}

    def __repr__(self) -> str:
        return f"RateLimiter({[b.pattern for b in self._buckets]})"

    def check(self, host: str, port: int, now: float) -> tuple[str, float]:
        """``(rule, 0.0)`` when a request to ``host:port`` may go (a token is taken),
        ``(rule, seconds to wait)`` when it may not, ``("", 0.0)`` when no rule applies."""
        bucket = self._bucket_for(host, port)
        if bucket is None:
            return "", 0.0
        return bucket.pattern, bucket.take(now)

    def _bucket_for(self, host: str, port: int) -> _Bucket | None:
        key = (host, port)
        if key not in self._matches:
            if len(self._matches) >= 4096:
                self._matches.clear()
            self._matches[key] = next((b for b in self._buckets if b.rules.decide_name(host, port).allowed), None)
        return self._matches[key]
