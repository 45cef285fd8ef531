"""Notifications: the cast of tests/conftest.py with rules, an item and wishes."""

import pytest
from django.utils import translation

from tests.points.conftest import make_rule
from tests.queue_worker import queue_tables_empty
from tests.store.conftest import make_item, redeem  # noqa: F401 - fixtures used here too
from tests.wishwall.conftest import (  # noqa: F401 - fixtures used here too
    approved_wish_a,
    donor_x,
    fulfilled_wish_a,
    matched_wish_a,
    wish_a,
)


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English msgids (an SMS is worded in Chinese by itself)."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_jobs_from_before(request):
    """Transactional tests elsewhere (the browser's) may leave committed jobs behind: the
    queue starts empty here (in the test's transaction; queue_workers empties it after)."""
    if "db" in request.fixturenames and "queue_workers" not in request.fixturenames:
        request.getfixturevalue("db")
        queue_tables_empty()


@pytest.fixture(autouse=True)
def _never_quiet(settings):
    """Quiet hours are tested on their own: elsewhere a message goes at once, day or night."""
    settings.SMS_QUIET_HOURS = (0, 0)


@pytest.fixture
def rule_clean(village_x):
    return make_rule(village_x, "E01", 5, description="courtyard kept clean")


@pytest.fixture
def rule_litter(village_x):
    return make_rule(village_x, "D01", -20, description="littering")


@pytest.fixture
def soap(village_x, manager_x):
    from store.services import zones_ensure

    zones_ensure(village=village_x)
    return make_item(village_x, "daily", "肥皂", 2, 8, manager_x, low_stock_threshold=5, unit="块")
