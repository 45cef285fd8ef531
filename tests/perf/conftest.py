"""Fixtures for the generator and health-check tests: English text."""

from tests.store.conftest import _english  # noqa: F401
