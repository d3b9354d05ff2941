"""Destination decisions, refusal messages and anti-rebinding vetting."""

from __future__ import annotations

import ipaddress

import pytest

from ringfence.policy.hosts import HostRuleError, HostRules
from ringfence.proxy.policy import Decider, forbidden_kind

ip = ipaddress.ip_address


def decider(allow: list[str], deny: list[str] | None = None) -> Decider:
    return Decider(HostRules.parse(allow, deny or []))


@pytest.mark.parametrize(
    ("allow", "deny", "host", "port", "allowed"),
    [
        (["example.com"], [], "example.com", 443, True),
        (["example.com"], [], "EXAMPLE.com.", 443, True),
        (["example.com"], [], "www.example.com", 443, False),
        (["*.example.com"], [], "www.example.com", 80, True),
        (["*.example.com"], ["bad.example.com"], "bad.example.com", 80, False),  # deny wins
        (["example.com:443"], [], "example.com", 80, False),
        (["10.0.0.0/8"], [], "10.1.2.3", 80, True),
        (["10.0.0.0/8"], [], "ten.example", 80, False),
        ([], [], "example.com", 443, False),
    ],
)
def test_decide(allow: list[str], deny: list[str], host: str, port: int, allowed: bool) -> None:
    assert decider(allow, deny).decide(host, port).allowed is allowed


def test_refusal_message_names_the_line_that_would_allow_it() -> None:
    outcome = decider(["other.org"]).decide("example.com", 443)
    assert outcome.message == (
        "ringfence: blocked example.com:443 (not in [network] allow)\n"
        "to allow it, add to the policy:\n[network]\nallow = [\"example.com\"]\n"
    )


def test_refusal_message_names_the_deny_rule() -> None:
    outcome = decider(["*.example.com"], ["bad.example.com"]).decide("bad.example.com", 443)
    assert outcome.rule == "bad.example.com"
    assert "denied by [network] deny rule 'bad.example.com'" in outcome.message


def test_invalid_host_raises() -> None:
    with pytest.raises(HostRuleError):
        decider(["example.com"]).decide("exa mple.com", 80)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("100.64.0.1", "CGNAT"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("93.184.216.34", ""),
        ("2606:4700::1111", ""),
    ],
)
def test_forbidden_kind(address: str, kind: str) -> None:
    found = forbidden_kind(ip(address))
    assert (kind in found) if kind else found == ""


def test_own_interface_address_is_forbidden() -> None:
    assert "this host" in forbidden_kind(ip("93.184.216.34"), frozenset({ip("93.184.216.34")}))


@pytest.mark.parametrize(
    ("allow", "addresses", "allowed"),
    [
        (["evil.test"], ["93.184.216.34"], True),
        (["evil.test"], ["93.184.216.34", "127.0.0.1"], False),  # any bad address refuses
        (["evil.test"], ["169.254.169.254"], False),
        (["evil.test"], ["::ffff:10.0.0.1"], False),
        (["evil.test", "127.0.0.1"], ["127.0.0.1"], True),  # that exact address is allowed
        (["evil.test", "10.0.0.0/8"], ["10.9.9.9"], True),
        (["evil.test", "127.0.0.1:8080"], ["127.0.0.1"], False),  # allowed on another port only
    ],
)
def test_vet(allow: list[str], addresses: list[str], allowed: bool) -> None:
    d = decider(allow)
    outcome = d.vet(d.decide("evil.test", 80), [ip(a) for a in addresses], frozenset())
    assert outcome.allowed is allowed
    if not allowed:
        assert "resolves to" in outcome.reason
        assert "to allow it, add to the policy" in outcome.message
