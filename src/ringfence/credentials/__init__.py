"""Credentials stay outside: secrets resolved and injected by the proxy, never in the sandbox.

The building blocks, all free of I/O but ``SecretStore`` (which reads variables, files and
runs commands): ``SecretStore`` resolves the secrets; ``make_placeholder``/``mask_for`` make
what the sandbox sees instead; ``LeakGuard`` finds a secret or placeholder headed for a host
it is not for; ``Scrubber`` takes secrets out of responses; ``RateLimiter`` and
``RequestPolicy`` apply ``[network] rate`` and the request rules.

``ringfence run`` imports nothing of this area unless a policy has credentials or rules, so
every name here loads on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see ringfence._struct: typing is not imported at run time

if TYPE_CHECKING:
    from ringfence.credentials.errors import CredentialError
    from ringfence.credentials.guard import BodyScanner, Hit, LeakGuard
    from ringfence.credentials.placeholder import make_placeholder, mask_for
    from ringfence.credentials.ratelimit import RateLimiter, parse_rate
    from ringfence.credentials.rules import Refusal, RequestPolicy
    from ringfence.credentials.scrub import Scrubber
    from ringfence.credentials.sources import SecretStore

__all__ = [
    "BodyScanner",
    "CredentialError",
    "Hit",
    "LeakGuard",
    "RateLimiter",
    "Refusal",
    "RequestPolicy",
    "Scrubber",
    "SecretStore",
    "make_placeholder",
    "mask_for",
    "parse_rate",
]

_LAZY = {
    "CredentialError": "errors",
    "BodyScanner": "guard",
    "Hit": "guard",
    "LeakGuard": "guard",
    "make_placeholder": "placeholder",
    "mask_for": "placeholder",
    "RateLimiter": "ratelimit",
    "parse_rate": "ratelimit",
    "Refusal": "rules",
    "RequestPolicy": "rules",
    "Scrubber": "scrub",
    "SecretStore": "sources",
}


from ringfence._lazy import lazy_getattr  # noqa: E402 - after the names it serves

__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
