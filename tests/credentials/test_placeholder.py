"""Placeholders: per-run random, as long as the secret (at least 24); masks keep lengths."""

from __future__ import annotations

import pytest

from ringfence.credentials import make_placeholder, mask_for

BASE62 = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@pytest.mark.parametrize(("secret_length", "length"), [(0, 24), (10, 24), (24, 24), (40, 40), (108, 108)])
def test_placeholder_shape(secret_length: int, length: int) -> None:
    placeholder = make_placeholder(secret_length)
    assert len(placeholder) == length
    assert placeholder.startswith("rfph_")
    assert set(placeholder[5:]) <= BASE62


def test_placeholders_are_random() -> None:
    assert len({make_placeholder(40) for _ in range(50)}) == 50


@pytest.mark.parametrize("secret_length", [1, 4, 5, 23, 24, 40, 41, 100, 250])
def test_mask_has_the_secret_length_and_comes_from_the_placeholder(secret_length: int) -> None:
    placeholder = make_placeholder(40)
    secret = "!" * secret_length
    mask = mask_for(placeholder, secret)
    assert len(mask) == secret_length
    assert "!" not in mask
    assert set(mask) <= BASE62 | set("_")
    assert mask[:40] == placeholder[:secret_length]


def test_mask_is_the_placeholder_when_the_lengths_agree() -> None:
    secret = "sk-ant-" + "x" * 33
    placeholder = make_placeholder(len(secret))
    assert mask_for(placeholder, secret) == placeholder


def test_mask_depends_only_on_the_secret_length() -> None:
    placeholder = make_placeholder(30)
    assert mask_for(placeholder, "a" * 50) == mask_for(placeholder, "b" * 50)


def test_empty_placeholder() -> None:
    with pytest.raises(ValueError):
        mask_for("", "secret")
