"""Destination decisions: host rules, anti-rebinding vetting of resolved addresses, and the
messages a refusal carries. Pure functions over ``HostRules``; no I/O.

Rules this module keeps:

- a destination is decided by ``HostRules.decide_name`` on its normalised form: deny wins,
  nothing matched means refused; IP literals are decided by address rules only;
- a name that passed is still refused if ANY address it resolves to is one the agent must
  not reach by name (loopback, link-local including cloud metadata, private, unique local,
  CGNAT, multicast, unspecified, reserved, or one of this host's own addresses), unless that
  exact address is allowed by an address or CIDR rule: that is what stops DNS rebinding;
- the proxy connects only to the addresses vetted here and never resolves the name again.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ringfence.policy.hosts import HostRuleError, HostRules, normalize_host

if TYPE_CHECKING:  # a type alias only; hosts.py may define it for type checkers alone
    from ringfence.policy.hosts import IPAddress

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")  # RFC 6598 shared address space


@dataclass(frozen=True)
class Outcome:
    """A decision about one destination; ``message`` is the text shown to the agent."""

    allowed: bool
    host: str  # normalised
    port: int
    rule: str
    reason: str
    message: str = ""
    literal: bool = False  # the host is an IP literal: decided by address rules, never vetted


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _display(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Decider:
    """Decides destinations against one rule set, caching verdicts (the rules are immutable)."""

    _CACHE_MAX = 4096

    def __init__(self, rules: HostRules) -> None:
        self.rules = rules
        self._cache: dict[tuple[str, int], Outcome] = {}

    def decide(self, host: str, port: int) -> Outcome:
        """Decide a host as the agent wrote it; raises ``HostRuleError`` for a malformed name."""
        key = (host, port)
        outcome = self._cache.get(key)
        if outcome is None:
            outcome = self._decide(host, port)
            if len(self._cache) >= self._CACHE_MAX:
                self._cache.clear()
            self._cache[key] = outcome
        return outcome

    def _decide(self, host: str, port: int) -> Outcome:
        name = normalize_host(host)
        verdict = self.rules.decide_name(name, port)
        if verdict.allowed:
            return Outcome(True, name, port, verdict.rule, "", literal=_literal(name) is not None)
        where = _display(name, port)
        if verdict.rule:
            reason = f"denied by [network] deny rule {verdict.rule!r}"
            hint = f"to allow it, remove {verdict.rule!r} from [network] deny\n"
            message = f"ringfence: blocked {where} ({reason})\n{hint}"
        else:
            reason = "not in [network] allow"
            message = f"ringfence: blocked {where} ({reason})\n{_allow_hint(name)}"
        return Outcome(False, name, port, verdict.rule, reason, message)

    def vet(self, outcome: Outcome, addresses: Iterable[IPAddress], local: frozenset[IPAddress]) -> Outcome:
        """Re-check an allowed *name* against the addresses it resolved to (anti-rebinding)."""
        for address in addresses:
            kind = forbidden_kind(address, local)
            if kind and not self.rules.address_allowed(address, outcome.port):
                shown = unmap(address)
                reason = f"{outcome.host} resolves to {shown}, {kind}"
                where = _display(outcome.host, outcome.port)
                message = f"ringfence: blocked {where} ({reason})\n{_allow_hint(str(shown))}"
                return Outcome(False, outcome.host, outcome.port, "", reason, message)
        return outcome


def _allow_hint(host: str) -> str:
    return f'to allow it, add to the policy:\n[network]\nallow = ["{host}"]\n'


def unmap(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 address (``::ffff:a.b.c.d``), else itself."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forbidden_kind(address: IPAddress, local: frozenset[IPAddress] = frozenset()) -> str:
    """Why a name must not lead to this address ("" if it may): the kind, for messages."""
    address = unmap(address)
    checks = (
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address (cloud metadata lives there)"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT, "a CGNAT address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (address in local, "an address of this host"),
        (not address.is_global, "a non-global address"),
    )
    for hit, kind in checks:
        if hit:
            return kind
    return ""


def parse_address(text: str) -> IPAddress:
    """An IP address from getaddrinfo's sockaddr text (drops an IPv6 zone id)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


__all__ = ["Decider", "HostRuleError", "Outcome", "forbidden_kind", "parse_address", "unmap"]
