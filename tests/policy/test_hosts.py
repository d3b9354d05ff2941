"""Host rules: parsing, normalisation, matching, deny wins."""

from __future__ import annotations

import ipaddress

import pytest

from ringfence.policy.hosts import HostRuleError, HostRules, RuleKind, normalize_host, parse_host_rule


@pytest.mark.parametrize(
    ("text", "kind", "name", "port"),
    [
        ("pypi.org", RuleKind.EXACT, "pypi.org", None),
        ("PyPI.Org.", RuleKind.EXACT, "pypi.org", None),
        ("*.pythonhosted.org", RuleKind.WILDCARD, "pythonhosted.org", None),
        ("api.github.com:443", RuleKind.EXACT, "api.github.com", 443),
        ("*.example.com:8443", RuleKind.WILDCARD, "example.com", 8443),
        ("bücher.example", RuleKind.EXACT, "xn--bcher-kva.example", None),
        ("127.0.0.1", RuleKind.ADDRESS, "", None),
        ("127.0.0.1:8080", RuleKind.ADDRESS, "", 8080),
        ("::1", RuleKind.ADDRESS, "", None),
        ("[::1]:443", RuleKind.ADDRESS, "", 443),
        ("10.0.0.0/8", RuleKind.NETWORK, "", None),
        ("fd00::/8", RuleKind.NETWORK, "", None),
    ],
)
def test_parse_good(text: str, kind: RuleKind, name: str, port: int | None) -> None:
    rule = parse_host_rule(text)
    assert (rule.kind, rule.name, rule.port) == (kind, name, port)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("*", "first label"),
        ("*.com", "public suffix"),
        ("*.co.uk", "public suffix"),
        ("*.github.io", "public suffix"),
        ("a*.example.com", "first label"),
        ("*.*.example.com", "only one"),
        ("https://example.com", "URL"),
        ("example.com/path", "URL"),
        ("example.com:0", "port"),
        ("example.com:http", "port"),
        ("0.0.0.0/0", "every address"),
        ("exa mple.com", "not a host name"),
        ("", "empty"),
        ("-bad.example.com", "not a host name"),
    ],
)
def test_parse_bad(text: str, says: str) -> None:
    with pytest.raises(HostRuleError, match=says):
        parse_host_rule(text)


def test_normalize() -> None:
    assert normalize_host("WWW.Example.COM.") == "www.example.com"
    assert normalize_host("[::1]") == "::1"
    assert normalize_host("ÖBB.at") == "xn--bb-eka.at"
    with pytest.raises(HostRuleError):
        normalize_host("a..b")


RULES = HostRules.parse(
    ["pypi.org", "*.pythonhosted.org", "api.github.com:443", "10.1.0.0/16", "127.0.0.1"],
    ["evil.pythonhosted.org", "10.1.2.3"],
)


@pytest.mark.parametrize(
    ("host", "port", "allowed", "rule"),
    [
        ("pypi.org", 443, True, "pypi.org"),
        ("pypi.org", 80, True, "pypi.org"),
        ("www.pypi.org", 443, False, ""),  # exact names do not cover subdomains
        ("files.pythonhosted.org", 443, True, "*.pythonhosted.org"),
        ("pythonhosted.org", 443, False, ""),  # a wildcard never covers the bare domain
        ("evil.pythonhosted.org", 443, False, "evil.pythonhosted.org"),  # deny wins
        ("api.github.com", 443, True, "api.github.com:443"),
        ("api.github.com", 80, False, ""),
        ("xpypi.org", 443, False, ""),
        ("10.1.9.9", 22, True, "10.1.0.0/16"),
        ("10.1.2.3", 22, False, "10.1.2.3"),
        ("127.0.0.1", 80, True, "127.0.0.1"),
        ("localhost", 80, False, ""),  # a name is not its address
    ],
)
def test_decide(host: str, port: int, allowed: bool, rule: str) -> None:
    verdict = RULES.decide_name(host, port)
    assert (verdict.allowed, verdict.rule) == (allowed, rule)


def test_ipv4_mapped_ipv6_is_its_ipv4() -> None:
    assert RULES.address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), 80)
    assert not RULES.address_allowed(ipaddress.ip_address("::ffff:10.1.2.3"), 80)
