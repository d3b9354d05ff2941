"""Host rules of ``[network] allow`` / ``deny``: parsing, normalisation and matching.

Rules this module keeps:

- a name is compared case-insensitively, without a trailing dot, in its IDNA (A-label) form;
- ``example.com`` matches that name only; ``*.example.com`` matches its subdomains, never
  ``example.com`` itself;
- ``host:port`` restricts a rule to one port; without a port any port matches;
- IP literals (``127.0.0.1``, ``::1`` or ``[::1]:443``) and CIDRs (``10.0.0.0/8``) match
  addresses, never names;
- a wildcard must leave at least two labels (``*`` and ``*.com`` are refused), and so must a
  wildcard over a well-known public suffix (``*.co.uk``).
"""

from __future__ import annotations

from ringfence._struct import record
from enum import Enum

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time
if TYPE_CHECKING:
    import ipaddress

    IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
    IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
else:

    def __getattr__(name: str) -> object:
        """``IPAddress`` / ``IPNetwork`` at run time, loading ``ipaddress`` only when asked."""
        if name in ("IPAddress", "IPNetwork"):
            import ipaddress

            kind = "Address" if name == "IPAddress" else "Network"
            return getattr(ipaddress, f"IPv4{kind}") | getattr(ipaddress, f"IPv6{kind}")
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _could_be_ip(text: str) -> bool:
    """Cheap pre-check: only these can be IP literals (``ipaddress`` loads only for them)."""
    return ":" in text or text.replace(".", "").isdigit()

# Two-label public suffixes that a wildcard must not cover on its own. Not the whole Public
# Suffix List (that would be a download or a dependency): the ones people actually type.
_PUBLIC_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "com.au", "net.au", "org.au", "co.nz",
        "co.jp", "ne.jp", "or.jp", "com.br", "com.cn", "com.mx", "co.in", "co.za",
        "com.tr", "com.tw", "co.kr", "com.sg", "com.hk", "github.io", "gitlab.io",
        "herokuapp.com", "vercel.app", "netlify.app", "pages.dev", "workers.dev",
        "appspot.com", "cloudfront.net", "amazonaws.com", "azurewebsites.net",
        "blob.core.windows.net", "web.app", "firebaseapp.com", "fly.dev", "onrender.com",
    }
)

_FORM = "a host name (example.com), a subdomain wildcard (*.example.com), an IP address or CIDR, optionally with :PORT"


class HostRuleError(ValueError):
    """A host rule is malformed; the message says why and what is expected."""


class RuleKind(Enum):
    EXACT = "exact"
    WILDCARD = "wildcard"
    ADDRESS = "address"
    NETWORK = "network"


def normalize_host(host: str) -> str:
    """The canonical form of a host name: lower case, no trailing dot, IDNA A-labels.

    IP literals come back in their compressed form (brackets removed). Raises
    ``HostRuleError`` for a name that is not a valid host name.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if _could_be_ip(text):
        import ipaddress

        try:
            return str(ipaddress.ip_address(text))
        except ValueError:
            pass
    text = text.rstrip(".").lower()
    if not text or len(text) > 253:
        raise HostRuleError(f"{host!r} is not a host name")
    if not text.isascii():
        text = _to_alabel(host, text)
    for label in text.split("."):
        if not label or len(label) > 63 or not _is_ldh(label):
            raise HostRuleError(f"{host!r} is not a host name")
    return text


def _to_alabel(original: str, text: str) -> str:
    import idna  # lazy: only internationalised names need it

    try:
        return idna.encode(text, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise HostRuleError(f"{original!r} is not a valid internationalised name: {exc}") from None


def _is_ldh(label: str) -> bool:
    # letters, digits, hyphen (RFC 1123); underscore is tolerated because real service
    # names (_dmarc, SRV-style) use it and it cannot widen a match.
    return all(c.isalnum() or c in "-_" for c in label) and not label.startswith("-")


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise HostRuleError(f"{text!r}: unclosed '['")
        host, rest = text[: end + 1], text[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise HostRuleError(f"{text!r}: unexpected text after ']'")
        return host, _port(text, rest[1:])
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, _port(text, port)
    return text, None  # a bare IPv6 literal has several colons and no port


def _port(rule: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise HostRuleError(f"{rule!r}: port {text!r} is not a number from 1 to 65535")
    return int(text)


@record
class HostRule:
    """One parsed host rule; ``text`` is what the policy said, for messages and the audit log."""

    text: str
    kind: RuleKind
    name: str = ""
    network: IPNetwork | None = None
    port: int | None = None

    def matches_name(self, host: str, port: int) -> bool:
        """Does this rule match a normalised host *name* (not an IP literal) on ``port``?"""
        if self.port is not None and self.port != port:
            return False
        if self.kind is RuleKind.EXACT:
            return host == self.name
        if self.kind is RuleKind.WILDCARD:
            return host.endswith("." + self.name)
        return False

    def matches_address(self, address: IPAddress, port: int) -> bool:
        """Does this rule name this IP address (as a literal or inside a CIDR) on ``port``?"""
        if self.port is not None and self.port != port:
            return False
        if self.network is None:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.version == self.network.version and address in self.network


def parse_host_rule(text: str) -> HostRule:
    """Parse one rule of ``[network] allow``/``deny``; raises ``HostRuleError`` naming the form."""
    if not isinstance(text, str) or not text.strip():
        raise HostRuleError(f"{text!r} is empty; expected {_FORM}")
    raw = text.strip()
    if "://" in raw or "/" in raw and not _looks_like_cidr(raw):
        raise HostRuleError(f"{raw!r} looks like a URL; expected {_FORM}")
    if "/" in raw:
        return _parse_cidr(raw)
    host, port = _split_port(raw)
    address = _ip_or_none(host)
    if address is not None:
        import ipaddress

        return HostRule(raw, RuleKind.ADDRESS, network=ipaddress.ip_network(address), port=port)
    if host.startswith("*."):
        return _parse_wildcard(raw, host[2:], port)
    if "*" in host:
        raise HostRuleError(f"{raw!r}: '*' is allowed only as a whole first label ('*.example.com')")
    try:
        return HostRule(raw, RuleKind.EXACT, name=normalize_host(host), port=port)
    except HostRuleError as exc:
        raise HostRuleError(f"{exc}; expected {_FORM}") from None


def _parse_wildcard(raw: str, rest: str, port: int | None) -> HostRule:
    if "*" in rest:
        raise HostRuleError(f"{raw!r}: only one leading '*.' is allowed")
    try:
        base = normalize_host(rest)
    except HostRuleError as exc:
        raise HostRuleError(f"{exc}; expected {_FORM}") from None
    if "." not in base or base in _PUBLIC_SUFFIXES:
        raise HostRuleError(
            f"{raw!r} covers a whole public suffix; name a registrable domain such as '*.example.com'"
        )
    return HostRule(raw, RuleKind.WILDCARD, name=base, port=port)


def _looks_like_cidr(text: str) -> bool:
    return text.count("/") == 1 and text.rsplit("/", 1)[1].isdigit()


def _parse_cidr(raw: str) -> HostRule:
    import ipaddress

    try:
        network = ipaddress.ip_network(raw, strict=False)
    except ValueError as exc:
        raise HostRuleError(f"{raw!r} is not a valid CIDR: {exc}") from None
    if network.prefixlen == 0:
        raise HostRuleError(f"{raw!r} allows every address; name the networks you need")
    return HostRule(raw, RuleKind.NETWORK, network=network)


def _ip_or_none(text: str) -> IPAddress | None:
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not _could_be_ip(text):
        return None
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@record
class Verdict:
    """The outcome of matching a destination against the allow and deny lists."""

    allowed: bool
    rule: str  # the rule that decided, or "" when nothing matched (default deny)


class HostRules:
    """The allow and deny lists together: deny wins, nothing matched means refused."""

    def __init__(self, allow: tuple[HostRule, ...], deny: tuple[HostRule, ...]) -> None:
        self.allow = allow
        self.deny = deny

    @classmethod
    def parse(cls, allow: list[str] | tuple[str, ...], deny: list[str] | tuple[str, ...]) -> HostRules:
        return cls(tuple(map(parse_host_rule, allow)), tuple(map(parse_host_rule, deny)))

    def decide_name(self, host: str, port: int) -> Verdict:
        """Decide a normalised name (see ``normalize_host``) or an IP literal on ``port``."""
        address = _ip_or_none(host)
        if address is not None:
            return self.decide_address(address, port)
        for rule in self.deny:
            if rule.matches_name(host, port):
                return Verdict(False, rule.text)
        for rule in self.allow:
            if rule.matches_name(host, port):
                return Verdict(True, rule.text)
        return Verdict(False, "")

    def decide_address(self, address: IPAddress, port: int) -> Verdict:
        """Decide an IP address: only address and CIDR rules can allow or deny it."""
        for rule in self.deny:
            if rule.matches_address(address, port):
                return Verdict(False, rule.text)
        for rule in self.allow:
            if rule.matches_address(address, port):
                return Verdict(True, rule.text)
        return Verdict(False, "")

    def address_allowed(self, address: IPAddress, port: int) -> bool:
        """Is this exact address explicitly allowed (the anti-rebinding exception)?"""
        return self.decide_address(address, port).allowed
