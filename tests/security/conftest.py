"""The security sweep's cast: one of every object behind a URL, all of household A / village X.

Other people request these objects (villager B, village Y's manager, the county admin), so
every object id in the permission matrix belongs to someone else for most roles.
"""

import copy
import datetime
import io
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings as settings_module
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook
from PIL import Image

from core.months import previous_month
from notifications.services import announcement_post
from points.activities import activity_checkin, activity_open
from points.models import InspectionRound, Rule
from points.publicity import objection_raise
from points.services import declaration_submit, proposal_approve, proposal_create
from reports.models import ExportJob
from reports.notice import notice_publish
from store.models import Donation, Donor, Item, StockMovement, Zone
from store.services import (
    donation_record,
    item_save,
    redemption_create,
    reservation_create,
    stock_purchase,
    zones_ensure,
)
from tests.factories import MemberFactory, ParticipationFactory, PassedInspectionFactory
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE
from villagers.models import Household, Referral, Village
from wishwall import services as wish_services

HOUSEHOLD_PHONE = "13700001111"
ROLES = (
    "anon",
    "villager_a",
    "villager_b",
    "manager_x",
    "supervisor_x",
    "manager_y",
    "county",
    "county_x",
    "township",
    "township_x",
    "township_z",
    "secretary_x",
)


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English msgids, whatever translations get compiled later."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def png_upload(name="photo.png"):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 200, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@dataclass
class Cast:
    """The people and one of each object; attributes are read by the URL table's builders."""

    in_publicity: Any
    objection: Any
    export_job: Any
    users: dict[str, Any]
    village_x: Any
    village_y: Any
    village_z: Any
    household_a: Any
    household_b: Any
    member_a: Any
    card_a: Any
    rule: Any
    proposal: Any
    entry: Any
    batch: Any
    declaration: Any
    item: Any
    redemption: Any
    reservation: Any
    wish: Any
    wish_fulfilled: Any
    inspection: Any
    participation: Any
    group_x: Any
    access_attempt: Any
    access_log: Any
    access_failure: Any
    donation: Any
    role_group: Any
    household_ct: Any
    referral: Any
    published_notice: Any
    inspection_round: Any = None
    activity: Any = None  # open for check-in, nobody checked in yet
    checkin: Any = None  # household A's check-in, with a photo, to another activity
    announcement: Any = None
    # Household A's proposal of the batch, waiting for the supervisor (B's is sent up).
    pending: Any = None
    # Village Y's household, whose villager login (users["villager_y"], not one of ROLES: the
    # URL table's answers are X's roles') meets X's objects as another village's.
    household_y: Any = None

    # Each role's session data, from its first sign-in (see client).
    sessions: dict[str, dict] = field(default_factory=dict, repr=False)

    def client(self, role: str, **client_kwargs) -> Client:
        """A fresh client signed in as `role` (county_x and township_x have chosen village X,
        township_z their own village Z), on a session of its own. The role signs in once
        (force_login, its signals); every later client gets a new session holding the same
        data, as a sign-in would write it: the sweeps ask for a client a request."""
        client = Client(**client_kwargs)
        if role == "anon":
            return client
        if role in self.sessions:
            session = import_module(settings_module.SESSION_ENGINE).SessionStore()
            session.update(self.sessions[role])
            session.create()
            client.cookies[settings_module.SESSION_COOKIE_NAME] = session.session_key
            return client
        client.force_login(self.users[role])
        chosen = {"county_x": self.village_x, "township_x": self.village_x}
        chosen["township_z"] = self.village_z
        session = client.session
        if role in chosen:
            session["county_village_id"] = chosen[role].pk
            session.save()
        self.sessions[role] = dict(session.items())
        return client


# The people the cast is made of (tests/conftest.py's fixtures).
PEOPLE = (
    "village_x",
    "village_y",
    "group_x",
    "household_a",
    "household_b",
    "card_a",
    "card_b",
    "card_y",
    "villager_a",
    "villager_b",
    "manager_x",
    "supervisor_x",
    "manager_y",
    "county_admin",
    "village_z",
    "township_officer",
    "township_officer_z",
    "secretary_x",
)


@pytest.fixture
def cast(request, settings, _security_cast_of_module, db):
    """One of every object behind a URL. Built once per test module where no test of the
    module commits nor makes people of its own (tests/conftest.py, _security_cast_of_module):
    each test then runs in a transaction rolled back after it, on a copy of the objects and
    their files, as Django's setUpTestData does (`db` comes after the module's cast: its
    transaction is inside). Otherwise built for the test."""
    if _security_cast_of_module is None:
        return cast_build(**{name: request.getfixturevalue(name) for name in PEOPLE})
    built, media = _security_cast_of_module
    request.getfixturevalue("_media_in_tmp")  # never the real MEDIA_ROOT
    shutil.copytree(media, settings.MEDIA_ROOT, dirs_exist_ok=True)
    return copy.deepcopy(built)


def cast_build(
    *,
    village_x,
    village_y,
    group_x,
    household_a,
    household_b,
    card_a,
    card_b,
    card_y,
    villager_a,
    villager_b,
    manager_x,
    supervisor_x,
    manager_y,
    county_admin,
    village_z,
    township_officer,
    township_officer_z,
    secretary_x,
) -> Cast:
    Household.objects.filter(pk=household_a.pk).update(phone=HOUSEHOLD_PHONE)
    household_a.refresh_from_db()
    member_a = MemberFactory(
        household=household_a, name="王大山", id_number=SECRET_ID, phone=SECRET_PHONE
    )
    rule = Rule.objects.create(
        village=village_x,
        code="E01",
        category=Rule.Category.LIVING_ENVIRONMENT,
        description="yard kept clean",
        points=5,
    )
    today = timezone.localdate()
    (proposal,) = proposal_create(
        village=village_x,
        households=[household_a],
        rule=rule,
        reason="clean yard",
        occurred_on=today,
        actor=manager_x,
        photo=png_upload(),
    )
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    pending = proposal_create(
        village=village_x,
        households=[household_a, household_b],
        rule=rule,
        reason="village road swept",
        occurred_on=today,
        actor=manager_x,
    )
    declaration = declaration_submit(
        user=villager_a, description="helped a neighbour", occurred_on=today, photo=png_upload()
    )
    zones_ensure(village=village_x)
    zones_ensure(village=village_y)
    zones_ensure(village=village_z)
    item = item_save(
        item=Item(
            village=village_x,
            zone=Zone.objects.get(village=village_x, code="grain_oil"),
            name="大米 10kg",
            unit="袋",
            points_price=20,
        ),
        actor=manager_x,
    )
    stock_purchase(
        item=item,
        quantity=30,
        fund_source=StockMovement.FundSource.POVERTY_BUREAU,
        cost_yuan="50.00",
        actor=manager_x,
    )
    redemption = redemption_create(
        village=village_x,
        household=household_a,
        lines={item.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    wish = wish_services.wish_post(
        household=household_a,
        actor=villager_a,
        title="一辆轮椅",
        kind="health",
        story="父亲腿脚不便",
        photo=png_upload(),
    )
    fulfilled = wish_services.wish_post(
        household=household_a, actor=villager_a, title="书包", kind="study", story="上学用"
    )
    wish_services.wish_moderate(wish=fulfilled, actor=manager_x, hide_household=False)
    wish_services.wish_match(
        wish=fulfilled,
        actor=supervisor_x,
        donor=None,
        new_donor_name="顺达公司",
        new_donor_kind="company",
        note="",
    )
    wish_services.wish_fulfil(
        wish=fulfilled,
        actor=supervisor_x,
        date=today,
        given="书包一个",
        thanks="谢谢",
        photo=png_upload(),
    )
    # An award still in its publicity period, with an open objection by villager B.
    Village.objects.filter(pk=village_x.pk).update(publicity_days=3)
    village_x.refresh_from_db()
    (in_publicity,) = proposal_create(
        village=village_x,
        households=[household_a],
        rule=rule,
        reason="helped at the school",
        occurred_on=today,
        actor=manager_x,
    )
    proposal_approve(proposal_ids=[in_publicity.pk], actor=supervisor_x)
    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="not seen")
    Village.objects.filter(pk=village_x.pk).update(publicity_days=0)
    village_x.refresh_from_db()
    workbook = io.BytesIO()
    Workbook().save(workbook)
    export_job = ExportJob.objects.create(
        kind=ExportJob.Kind.YEAR_REPORT,
        requested_by=manager_x,
        village=village_x,
        status=ExportJob.Status.DONE,
        filename="year.xlsx",
        content=workbook.getvalue(),
    )
    # Last month's notice, published by the supervisor (this month stays a running notice,
    # the month before last a draft).
    last_month = previous_month(today)
    published_notice = notice_publish(
        village=village_x,
        year=last_month.year,
        month=last_month.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    meeting = Rule.objects.create(
        village=village_x,
        code="C05",
        category=Rule.Category.COLLECTIVE_ACTIVITY,
        description="villagers' meeting",
        points=2,
    )
    activity = activity_open(village=village_x, rule=meeting, title="村民大会", actor=manager_x)
    labour_day = activity_open(village=village_x, rule=meeting, title="义务劳动", actor=manager_x)
    checkin = activity_checkin(activity=labour_day, user=villager_a, photo=png_upload())
    announcement = announcement_post(
        village=village_x,
        actor=manager_x,
        text="周六义务劳动",
        photo=png_upload(),
        audio=SimpleUploadedFile("voice.webm", b"\x1a\x45\xdf\xa3" + b"\x00" * 64),
    )
    attempt = AccessAttempt.objects.create(
        username="nobody", ip_address="10.0.0.1", user_agent="x", failures_since_start=1
    )
    return Cast(
        users={
            "villager_a": villager_a,
            "villager_b": villager_b,
            "manager_x": manager_x,
            "supervisor_x": supervisor_x,
            "manager_y": manager_y,
            "county": county_admin,
            "county_x": county_admin,
            "township": township_officer,
            "township_x": township_officer,
            "township_z": township_officer_z,
            "secretary_x": secretary_x,
            "villager_y": card_y.household.users.get(is_staff=False),
        },
        village_x=village_x,
        village_y=village_y,
        village_z=village_z,
        household_a=household_a,
        household_y=card_y.household,
        household_b=household_b,
        member_a=member_a,
        card_a=card_a,
        rule=rule,
        proposal=proposal,
        entry=proposal.entry,
        batch=pending[0].batch,
        pending=pending[0],
        declaration=declaration,
        item=item,
        redemption=redemption,
        reservation=reservation_create(household=household_a, lines={item.pk: 1}, actor=villager_a),
        wish=wish,
        wish_fulfilled=fulfilled,
        announcement=announcement,
        inspection=PassedInspectionFactory(household=household_a),
        participation=ParticipationFactory(household=household_a),
        group_x=group_x,
        access_attempt=attempt,
        access_log=AccessLog.objects.create(
            username="nobody", ip_address="10.0.0.1", user_agent="x"
        ),
        access_failure=AccessFailureLog.objects.create(
            username="nobody", ip_address="10.0.0.1", user_agent="x", locked_out=False
        ),
        donation=donation_record(
            village=village_x,
            donor=Donor(village=village_x, name="爱心人士", kind="person"),
            kind=Donation.Kind.MONEY,
            value_yuan="500.00",
            thanks="感谢",
            actor=manager_x,
        ),
        role_group=Group.objects.get(name="Manager"),
        in_publicity=in_publicity,
        objection=objection,
        export_job=export_job,
        published_notice=published_notice,
        household_ct=ContentType.objects.get_for_model(Household),
        # An item sent up: household B's pending proposal of the batch.
        referral=Referral.objects.create(
            village=village_x,
            household=household_b,
            kind=Referral.Kind.PROPOSAL,
            object_id=pending[1].pk,
            why="test: sent up",
            requested_by=manager_x,
        ),
        activity=activity,
        checkin=checkin,
        # Last month's round, so this month's may still be saved.
        inspection_round=InspectionRound.objects.create(
            village=village_x,
            group=group_x,
            date=today.replace(day=1) - datetime.timedelta(days=1),
            created_by=manager_x,
        ),
    )


def login_url() -> str:
    return reverse("login")


@pytest.fixture
def production_cookies(settings):
    """This process's cookie settings set to what a production process has."""
    from tests.security.deployment import COOKIE_SETTINGS, production_settings  # it imports us

    values = production_settings(*COOKIE_SETTINGS)
    for name, value in values.items():
        setattr(settings, name, value)
    return values


@pytest.fixture
def table(cast, caplog):
    """The URL table's requests over the cast (a fresh one for each test); a URL pattern
    without a row fails here, naming it."""
    from tests.security.matrix import discover, requests_for  # it imports us

    # Refusals are logged as warnings (django.request, django.security): thousands.
    caplog.set_level(logging.CRITICAL, logger="django")
    requests, missing = requests_for(cast, discover())
    assert not missing, (
        "These URL patterns have no row in tests/security/url_table.py (add one saying who may "
        "reach them): " + ", ".join(sorted(missing))
    )
    assert len(requests) > 200  # the admin's pages are in, not only the apps'
    return requests
