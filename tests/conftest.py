"""The fixed cast every test can use.

Village X has villager households A and B (cards issued, 100 opening points each), a
manager, a supervisor and a party secretary (组长); village Y has its own manager and
household; both are in one township, with its officer; village Z is in another township,
with its own officer; the county admin oversees all three. Each person has a logged-in
client fixture: `client_<person>`.
"""

import functools
import secrets
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection, connections, transaction
from django.test import Client, TransactionTestCase

from core.access import Role
from points.services import card_issue
from tests.factories import (
    HouseholdFactory,
    ParticipationFactory,
    PassedInspectionFactory,
    TownshipFactory,
    UserFactory,
    VillageFactory,
    VillageGroupFactory,
)
from tests.queue_worker import Workers, queue_tables_empty
from tests.tables_empty import install as tables_empty_install
from tests.template_db import kept_test_database, migrated_template

PIN = "2486"
PASSWORD = "Correct-Horse-42"
# The project's own packages, what runs in production: for the tests that read their source.
PROJECT_PACKAGES = (
    "aidao",
    "core",
    "villagers",
    "points",
    "store",
    "wishwall",
    "reports",
    "notifications",
)


def form_key() -> str:
    """A fresh one-time form key, as a page that moves points or goods draws it."""
    return secrets.token_urlsafe(24)


def make_staff(role, *, village=None, county=None, township=None, username, household=None):
    user = UserFactory(
        username=username,
        is_staff=True,
        village=village,
        county=county,
        township=township,
        household=household,
        display_name=username,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


@contextmanager
def behind_the_app():
    """Write as an intruder or a bug would, for the checks of `audit_ledger` to find: the
    append-only triggers and the foreign keys are off (deferred checks run at once) until
    the block ends."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


@functools.cache
def _pin_hash() -> str:
    return make_password(PIN)


def issue_card(household, actor, pin=PIN, at=None):
    """Issue the household's card (and 100 opening points); `at` dates it in the past.

    The cast's PIN goes in hashed once, as the bulk loaders pass it (card_issue's `pin_hash`):
    its checks of a new PIN are tested where a PIN is chosen (tests/villagers), and the
    cast's cards are the setup of most tests. Any other PIN is checked as a page sends it.
    """
    PassedInspectionFactory(household=household)
    ParticipationFactory(household=household)
    if pin == PIN:
        return card_issue(household=household, actor=actor, pin="", pin_hash=_pin_hash(), at=at)
    return card_issue(household=household, actor=actor, pin=pin, at=at)


# Each connection's database before the run sets its test database up (which renames it).
_OWN_DATABASES = {alias: connections[alias].settings_dict["NAME"] for alias in connections}


def databases_under_test() -> list[str]:
    """The aliases pointing at a test database this run set up. A run of tests that need no
    database (the layer checks alone, say) sets none up: its connections still point at the
    developer's own database, which must never be emptied (nor, on a fresh checkout, does it
    have the tables)."""
    return [
        alias
        for alias in connections
        if connections[alias].settings_dict["NAME"] != _OWN_DATABASES[alias]
    ]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(
    django_db_modify_db_settings_parallel_suffix,
    django_db_blocker,
    django_db_keepdb,
    django_db_createdb,
):
    """Each test database is created as a copy of one migrated template (tests/template_db.py);
    one kept by --reuse-db is migrated as it is."""
    with django_db_blocker.unblock():
        if django_db_keepdb and not django_db_createdb and kept_test_database():
            return
        template = migrated_template()
    settings.DATABASES["default"].setdefault("TEST", {})["TEMPLATE"] = template


@pytest.fixture(scope="session", autouse=True)
def _tables_emptied_by_delete(django_db_setup, django_db_blocker):
    """After a transactional test the tables are emptied by DELETE, in milliseconds, not by
    Django's flush (tests/tables_empty.py)."""
    flush = TransactionTestCase._fixture_teardown
    with django_db_blocker.unblock():
        tables_empty_install(databases_under_test())
    yield
    TransactionTestCase._fixture_teardown = flush


@pytest.fixture(autouse=True)
def _empty_cache():
    """Pages cache rendered bodies; ids are reused across tests, so each starts empty."""
    cache.clear()
    yield
    cache.clear()


def _commits(item) -> bool:
    """Whether a test commits (a transactional test, a live server's)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool({"transactional_db", "live_server"} & set(item.fixturenames))


def _cast_shareable(item) -> bool:
    """Whether a test may run while a cast built before it is in the database: it does not
    commit, nor make people of its own (the cast's usernames and village codes are theirs;
    the people fixtures all start from a village)."""
    own_people = {"village_x", "village_y", "village_z"} & set(item.fixturenames)
    return not _commits(item) and not own_people


@pytest.fixture(scope="module")
def _security_cast_of_module(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """The security sweep's cast (tests/security/conftest.py) built once for the module, in
    a transaction rolled back when the module is done; None where a test of the module
    commits or makes people of its own (the cast is then built for each test). A test of
    the module that takes no cast but reads the database sees it there. Photos go to a
    folder of the module's, copied into each test's MEDIA_ROOT."""
    from django.test import override_settings
    from django.utils import translation

    from tests.security.conftest import PEOPLE, cast_build

    tests = [item for item in request.session.items if item.module is request.module]
    if not all(_cast_shareable(item) for item in tests):
        yield None
        return
    media = tmp_path_factory.mktemp("cast-media")
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with (
                override_settings(MEDIA_ROOT=media, LANGUAGE_CODE="en"),
                translation.override("en"),
            ):
                people = people_make()
                built = cast_build(**{name: people[name] for name in PEOPLE})
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    yield built, media
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def queue_workers(request, transactional_db):
    """Start real task-queue workers on the test database: `queue_workers(2)` (see
    tests/queue_worker.py); stopped, and the queue emptied, when the test ends."""
    workers = Workers(request.node.name)

    def start(count: int = 1, *args: str, env: dict[str, str] | None = None) -> Workers:
        workers.start(count, *args, env=env)
        return workers

    yield start
    workers.stop()
    queue_tables_empty()


def village_x_make():
    return VillageFactory(name="啊道村", code="101")


def village_y_make():
    return VillageFactory(name="富村", code="202")


def village_z_make():
    return VillageFactory(name="石村", code="303", township=TownshipFactory(name="集义鄉"))


def group_x_make(village_x):
    return VillageGroupFactory(village=village_x, name="啊道")


def group_y_make(village_y):
    return VillageGroupFactory(village=village_y, name="东组")


def household_a_make(group_x):
    return HouseholdFactory(group=group_x, head_name="王大山", number="X001")


def household_b_make(group_x):
    return HouseholdFactory(group=group_x, head_name="李秀英", number="X002")


def household_y_make(group_y):
    return HouseholdFactory(group=group_y, head_name="赵四", number="Y001")


def villager_of(card):
    """The villager login of a card's household."""
    return card.household.users.get(is_staff=False)


def people_make() -> dict:
    """The fixed cast, made at once, as the fixtures below make each person (the security
    sweep's cast is built once per module from it: tests/security/conftest.py)."""
    people = {"village_x": village_x_make(), "village_y": village_y_make()}
    people["village_z"] = village_z_make()
    people["group_x"] = group_x_make(people["village_x"])
    people["group_y"] = group_y_make(people["village_y"])
    for name, make in STAFF.items():
        people[name] = make(people)
    people["household_a"] = household_a_make(people["group_x"])
    people["household_b"] = household_b_make(people["group_x"])
    people["household_y"] = household_y_make(people["group_y"])
    for card, household, manager in CARDS:
        people[card] = issue_card(people[household], people[manager])
    people["villager_a"] = villager_of(people["card_a"])
    people["villager_b"] = villager_of(people["card_b"])
    return people


# The staff of the cast, each made from the villages they work in.
STAFF = {
    "manager_x": lambda p: make_staff(Role.MANAGER, village=p["village_x"], username="manager_x"),
    "supervisor_x": lambda p: make_staff(
        Role.SUPERVISOR, village=p["village_x"], username="supervisor_x"
    ),
    "manager_y": lambda p: make_staff(Role.MANAGER, village=p["village_y"], username="manager_y"),
    "county_admin": lambda p: make_staff(
        Role.COUNTY_ADMIN, county=p["village_x"].township.county, username="county"
    ),
    "township_officer": lambda p: make_staff(
        Role.TOWNSHIP_OFFICER, township=p["village_x"].township, username="township"
    ),
    "township_officer_z": lambda p: make_staff(
        Role.TOWNSHIP_OFFICER, township=p["village_z"].township, username="township_z"
    ),
    "secretary_x": lambda p: make_staff(
        Role.PARTY_SECRETARY, village=p["village_x"], username="secretary_x"
    ),
}
# Each card of the cast: (card, its household, the manager who issues it).
CARDS = (
    ("card_a", "household_a", "manager_x"),
    ("card_b", "household_b", "manager_x"),
    ("card_y", "household_y", "manager_y"),
)


@pytest.fixture
def village_x(db):
    return village_x_make()


@pytest.fixture
def village_y(db):
    return village_y_make()


@pytest.fixture
def village_z(db):
    """A village of another township of the same county."""
    return village_z_make()


@pytest.fixture
def group_x(village_x):
    return group_x_make(village_x)


@pytest.fixture
def group_y(village_y):
    return group_y_make(village_y)


@pytest.fixture
def manager_x(village_x):
    return STAFF["manager_x"]({"village_x": village_x})


@pytest.fixture
def supervisor_x(village_x):
    return STAFF["supervisor_x"]({"village_x": village_x})


@pytest.fixture
def manager_y(village_y):
    return STAFF["manager_y"]({"village_y": village_y})


@pytest.fixture
def county_admin(village_x, village_y):
    return STAFF["county_admin"]({"village_x": village_x})


@pytest.fixture
def township_officer(village_x, village_y):
    """The officer of the township of villages X and Y."""
    return STAFF["township_officer"]({"village_x": village_x})


@pytest.fixture
def township_officer_z(village_z):
    """The officer of village Z's township: X and Y are not theirs."""
    return STAFF["township_officer_z"]({"village_z": village_z})


@pytest.fixture
def secretary_x(village_x):
    """Village X's party secretary, head of its leading group (组长)."""
    return STAFF["secretary_x"]({"village_x": village_x})


@pytest.fixture
def household_a(group_x):
    return household_a_make(group_x)


@pytest.fixture
def household_b(group_x):
    return household_b_make(group_x)


@pytest.fixture
def household_y(group_y):
    return household_y_make(group_y)


@pytest.fixture
def card_a(household_a, manager_x):
    return issue_card(household_a, manager_x)


@pytest.fixture
def card_b(household_b, manager_x):
    return issue_card(household_b, manager_x)


@pytest.fixture
def card_y(household_y, manager_y):
    return issue_card(household_y, manager_y)


@pytest.fixture
def villager_a(card_a):
    return villager_of(card_a)


@pytest.fixture
def villager_b(card_b):
    return villager_of(card_b)


def _client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def client_anon():
    return Client()


@pytest.fixture
def client_villager_a(villager_a):
    return _client_for(villager_a)


@pytest.fixture
def client_villager_b(villager_b):
    return _client_for(villager_b)


@pytest.fixture
def client_manager_x(manager_x):
    return _client_for(manager_x)


@pytest.fixture
def client_supervisor_x(supervisor_x):
    return _client_for(supervisor_x)


@pytest.fixture
def client_manager_y(manager_y):
    return _client_for(manager_y)


@pytest.fixture
def client_county(county_admin, village_x):
    client = _client_for(county_admin)
    return client


@pytest.fixture
def client_township(township_officer):
    return _client_for(township_officer)


@pytest.fixture
def client_township_z(township_officer_z):
    return _client_for(township_officer_z)


@pytest.fixture
def client_secretary_x(secretary_x):
    return _client_for(secretary_x)
