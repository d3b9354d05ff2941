"""Per-run placeholders: what the sandbox sees where a secret would be.

A placeholder is ``rfph_`` and random base62 characters, as long as the secret (at least
24 characters), so that a response scrubber can usually put the placeholder itself where an
echoed secret was without changing any length; ``mask_for`` derives a same-length stand-in
from it when the lengths differ (a refreshed secret of another length).
"""

from __future__ import annotations

PREFIX = "rfph_"
MIN_LENGTH = 24
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def make_placeholder(secret_length: int) -> str:
    """A fresh random placeholder of ``max(secret_length, 24)`` characters."""
    import secrets  # only runs with credentials pay for it

    length = max(secret_length, MIN_LENGTH)
    return PREFIX + "".join(secrets.choice(_BASE62) for _ in range(length - len(PREFIX)))


def mask_for(placeholder: str, secret: str) -> str:
    """A string of exactly ``len(secret)`` characters derived from ``placeholder``: the
    placeholder itself when the lengths agree, cut short or extended by repeating its random
    part otherwise. It never depends on the secret's characters, only on its length."""
    if not placeholder:
        raise ValueError("an empty placeholder has no mask")
    length = len(secret)
    if len(placeholder) >= length:
        return placeholder[:length]
    random_part = placeholder[len(PREFIX):] if placeholder.startswith(PREFIX) else ""
    filler = random_part or placeholder
    repeats = (length - len(placeholder)) // len(filler) + 1
    return (placeholder + filler * repeats)[:length]
