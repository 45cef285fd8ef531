"""Fixtures for the page-cost tests: village X's shelves and rules, English text."""

from tests.points.conftest import _media_in_tmp, rule_clean, rule_litter  # noqa: F401
from tests.store.conftest import _english, make_item, oil, redeem, rice, zones_x  # noqa: F401
