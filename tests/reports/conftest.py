from tests.store.conftest import _english, make_item, oil, redeem, rice, zones_x  # noqa: F401
