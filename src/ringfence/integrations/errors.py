"""The integrations area's errors: an optional package an adapter needs is missing."""

from __future__ import annotations

from ringfence.errors import RingfenceError


class IntegrationError(RingfenceError):
    """An adapter cannot be built: its optional package is missing or unusable."""
