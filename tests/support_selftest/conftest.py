"""The support servers' own tests use the same fixtures as the end-to-end tests."""

from tests.support.fixtures import *  # noqa: F403 - pytest finds fixtures by module attribute
