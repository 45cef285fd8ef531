"""A village's months have a beginning and an end: from its first (Village.started_on, the
day it started using the app) to the current one.

Found by a probe: the staff's month pages' "←" went back month by month to 2000-01, and the
county's did too, showing zeros beside today's figures; a month to come, one before 2000 or
one that is no month, typed into a month page's address answered a bare "page does not
exist" on some pages and another month's page on others; and an ended month with no records
could be published, an all-zero signed notice. Every page with a month, year or day in its
address now reads it through core.months.asked_within: outside the records it says which
months exist and links to the first and to the current; the "←" stops at the first; the
notice of a month before the first is not published, and one of an empty month only when the
supervisor ticks that nothing was recorded.
"""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.months import add_months, month_of
from reports.models import PublishedNotice
from reports.notice import STANDING_SECTIONS, notice_publish, notice_sections
from store.models import Donation, Donor
from store.services import donation_record
from tests.conftest import form_key
from villagers.models import Village

TODAY = timezone.localdate()
THIS = month_of(TODAY)
FIRST = add_months(THIS, -2)  # the village started on the 10th, two months ago
STARTED = FIRST.replace(day=10)
LAST = add_months(THIS, -1)


@pytest.fixture
def started(village_x, village_y):
    """Every village of the deployment started on STARTED (the county's pages reach back to
    the earliest)."""
    Village.objects.update(started_on=STARTED)
    village_x.refresh_from_db()
    return village_x


def _path(name, *before):
    """The address of a page naming a month in its path; None: a month that is none (13)."""

    def address(month):
        year, number = (month.year, month.month) if month else (2024, 13)
        return reverse(name, args=[*before, year, number]), {}

    return address


def _year(name):
    def address(month):
        return reverse(name, args=[month.year if month else 0]), {}

    return address


def _query(name, key, written):
    def address(month):
        return reverse(name), {key: format(month, written) if month else "2024-13"}

    return address


MONTH_LINKS, DAY_LINKS = ("%Y-%m", "Months from"), ("%Y-%m-%d", "Days from")
# (client, method, the address, the page its links lead to, how months are written there)
PAGES = {
    "notice": ("client_supervisor_x", "get", _path("reports:notice_month"), None),
    "notice_xlsx": (
        "client_supervisor_x",
        "get",
        _path("reports:notice_xlsx"),
        _path("reports:notice_month"),
    ),
    "notice_publish": (
        "client_supervisor_x",
        "post",
        _path("reports:notice_publish"),
        _path("reports:notice_month"),
    ),
    "notice_countersign": (
        "client_secretary_x",
        "post",
        _path("reports:notice_countersign"),
        _path("reports:notice_month"),
    ),
    "month_report": ("client_manager_x", "get", _path("reports:month_report"), None),
    "month_report_xlsx": (
        "client_manager_x",
        "get",
        _path("reports:month_report_xlsx"),
        _path("reports:month_report"),
    ),
    "year_report": ("client_manager_x", "get", _year("reports:year_report"), None),
    "year_report_xlsx": (
        "client_manager_x",
        "post",
        _year("reports:year_report_xlsx"),
        _year("reports:year_report"),
    ),
    "board": ("client_villager_a", "get", _path("reports:board_month"), None),
    "board_display": (
        "client_villager_a",
        "get",
        _path("reports:board_display"),
        _path("reports:board_month"),
    ),
    "summary_month": (
        "client_supervisor_x",
        "get",
        _query("store:summary_month", "month", "%Y-%m"),
        None,
    ),
    "summary_day": (
        "client_supervisor_x",
        "get",
        _query("store:summary_day", "day", "%Y-%m-%d"),
        None,
    ),
    "county": (
        "client_county",
        "get",
        _query("reports:county_overview", "month", "%Y-%m"),
        None,
    ),
    "county_export": (
        "client_county",
        "post",
        _query("reports:county_overview", "month", "%Y-%m"),
        _query("reports:county_overview", "month", "%Y-%m"),
    ),
}


def _unit(page: str) -> str:
    return "year" if page.startswith("year") else "day" if page == "summary_day" else "month"


def _asked(page: str, month) -> str:
    """How the page's heading repeats the month asked for."""
    unit = _unit(page)
    if month is None:
        return {"year": "0000", "day": "2024-13", "month": "2024-13"}[unit]
    return format(month, {"year": "%Y", "day": "%Y-%m-%d", "month": "%Y-%m"}[unit])


def _request(request, page, month):
    client_name, method, address, _links = PAGES[page]
    client = request.getfixturevalue(client_name)
    url, data = address(month)
    if page == "county_export":
        url = reverse("reports:county_export")
    if method == "post":
        return client.post(url, {**data, "idempotency_key": form_key(), "confirm": "yes"})
    return client.get(url, data)


@pytest.mark.parametrize("page", PAGES)
def test_a_month_outside_the_records_says_which_exist(request, started, card_a, page):
    """Before the village's first month, after the current one, or no month at all: a 404
    that says so in words, which months exist, and links to the first and the current."""
    unit = _unit(page)
    links = PAGES[page][3] or PAGES[page][2]
    if unit == "year":
        outside = {
            "before": datetime.date(STARTED.year - 1, 1, 1),
            "after": datetime.date(TODAY.year + 1, 1, 1),
        }
        first, last = STARTED.replace(month=1, day=1), THIS.replace(month=1)
    elif unit == "day":
        outside = {
            "before": FIRST - datetime.timedelta(days=1),
            "after": TODAY + datetime.timedelta(days=1),
        }
        first, last = FIRST, TODAY
    else:
        outside = {"before": add_months(FIRST, -1), "after": add_months(THIS, 1)}
        first, last = FIRST, THIS
    expected = {
        "before": "Nothing is recorded for {asked}",
        "after": "{asked} has not come yet",
        "shape": f"“{{asked}}” is not a {'date' if unit == 'day' else unit}",
    }
    for why, month in [*outside.items(), ("shape", None)]:
        response = _request(request, page, month)
        text = response.content.decode()
        assert response.status_code == 404, (page, why)
        assert expected[why].format(asked=_asked(page, month)) in text, (page, why)
        assert "can be opened" in text
        for shown in (first, last):
            url, data = links(shown)
            href = url + (f"?{next(iter(data))}={next(iter(data.values()))}" if data else "")
            assert f'href="{href}"' in text, (page, why, shown)
        assert not PublishedNotice.objects.exists()


def test_the_public_notice_outside_the_records_is_not_found_and_names_nothing(started, client_anon):
    """Found by a second read: the address on the paper notice, asked for a month outside
    the records, answered the staff's page: the village's first month, and links to notice
    pages a stranger cannot open. It is not found, as a month not published is."""
    code = started.code
    for month in (add_months(FIRST, -1), add_months(THIS, 1)):
        url = reverse("reports:notice_public", args=[code, month.year, month.month])
        response = client_anon.get(url)
        text = response.content.decode()
        assert response.status_code == 404, month
        assert "can be opened" not in text and f"{FIRST:%Y-%m}" not in text, month
        assert reverse("reports:notice_month", args=[THIS.year, THIS.month]) not in text
    response = client_anon.get(reverse("reports:notice_public", args=[code, 2024, 13]))
    assert response.status_code == 404 and "can be opened" not in response.content.decode()


@pytest.mark.parametrize(
    "page", ["notice", "month_report", "board", "summary_month", "summary_day", "county"]
)
def test_the_previous_link_stops_at_the_first_month(request, started, card_a, page):
    """The first month (day) links to none before it; the one after it links back to it."""
    first = FIRST
    response = _request(request, page, first)
    assert response.status_code == 200, page
    assert response.context["previous"] is None
    after = first + datetime.timedelta(days=1) if page == "summary_day" else add_months(first, 1)
    response = _request(request, page, after)
    previous = response.context["previous"]
    assert previous in (first, f"{first:%Y-%m}"), page


def test_the_year_report_begins_with_the_first_year_and_month(started, client_manager_x):
    """The first year links to none before it, and its months before the village's first
    link to no month report (their page would say there is nothing)."""
    response = client_manager_x.get(reverse("reports:year_report", args=[STARTED.year]))
    assert response.context["previous"] is None
    for month in range(1, 13):
        link = reverse("reports:month_report", args=[STARTED.year, month])
        day = datetime.date(STARTED.year, month, 1)
        assert (link in response.text) == (FIRST <= day <= TODAY), month


def test_the_notice_of_a_month_before_the_first_is_not_published(started, supervisor_x):
    before = add_months(FIRST, -1)
    with pytest.raises(ValidationError, match="before the village started using the app"):
        notice_publish(
            village=started,
            year=before.year,
            month=before.month,
            actor=supervisor_x,
            empty_confirmed=True,
        )
    assert not PublishedNotice.objects.exists()


def _said(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_an_empty_month_is_published_only_when_the_supervisor_says_so(
    started, card_a, supervisor_x, client_supervisor_x
):
    """Nothing was recorded last month (the cards were issued this month): its draft says
    so and asks for a second tick; sent without it (the form skipped) nothing is
    published, in words; with it, the empty notice is."""
    draft = client_supervisor_x.get(reverse("reports:notice_month", args=[LAST.year, LAST.month]))
    assert f"Nothing of {LAST:%Y-%m} is on its notice" in draft.text
    assert 'name="empty" value="yes" id="notice-empty" required' in draft.text
    assert "Nothing of this month is on its notice: publish it all the same" in draft.text
    url = reverse("reports:notice_publish", args=[LAST.year, LAST.month])
    refused = client_supervisor_x.post(url, {"idempotency_key": form_key(), "confirm": "yes"})
    assert "to publish it all the same, tick the box" in _said(refused)
    assert not PublishedNotice.objects.exists()
    with pytest.raises(ValidationError) as service:
        notice_publish(village=started, year=LAST.year, month=LAST.month, actor=supervisor_x)
    assert service.value.code == "empty" and not PublishedNotice.objects.exists()
    sent = {"idempotency_key": form_key(), "confirm": "yes", "empty": "yes"}
    assert client_supervisor_x.post(url, sent).status_code == 302
    assert PublishedNotice.objects.get().month == LAST


def test_a_month_with_a_record_needs_no_second_tick(
    started, card_a, manager_x, supervisor_x, client_supervisor_x
):
    donation_record(
        village=started,
        donor=Donor.objects.create(village=started, name="爱心企业", kind="company"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(100),
        thanks="谢谢",
        actor=manager_x,
        received_on=LAST.replace(day=3),
    )
    draft = client_supervisor_x.get(reverse("reports:notice_month", args=[LAST.year, LAST.month]))
    assert 'name="empty"' not in draft.text and "is on its notice" not in draft.text
    notice_publish(village=started, year=LAST.year, month=LAST.month, actor=supervisor_x)
    assert PublishedNotice.objects.get().month == LAST


def test_every_section_of_the_notice_is_a_record_or_what_stands(started, card_a):
    """What "nothing recorded" reads (reports.notice.nothing_recorded): a section added to
    the notice is one or the other, said here."""
    records = {
        "awards",
        "deductions",
        "carried",
        "reversals",
        "publicity",
        "cancelled",
        "redemptions",
        "donations",
    }
    keys = {section.key for section in notice_sections(started, THIS.year, THIS.month)}
    assert keys <= records | STANDING_SECTIONS | {"ledger"}, keys


def test_the_overviews_first_month_is_the_readers_villages_earliest(
    started, village_z, client_county, client_township
):
    """Found by a second read: the overview reached back to the deployment's earliest
    village for every reader, so a township officer's "←" led to months before any village
    of theirs. Village Z (another township) started a year before X and Y: the county admin
    reaches its months, the officer of X and Y does not, and is told their first month."""
    Village.objects.filter(pk=village_z.pk).update(started_on=add_months(FIRST, -12))
    earlier = add_months(FIRST, -1)
    url = reverse("reports:county_overview")
    assert client_county.get(url, {"month": f"{earlier:%Y-%m}"}).status_code == 200
    refused = client_township.get(url, {"month": f"{earlier:%Y-%m}"})
    assert refused.status_code == 404
    assert f'href="{url}?month={FIRST:%Y-%m}"' in refused.content.decode()
    first_page = client_township.get(url, {"month": f"{FIRST:%Y-%m}"}).content.decode()
    assert f"?month={earlier:%Y-%m}" not in first_page  # no "←" past their first month
    export = client_township.post(
        reverse("reports:county_export"),
        {"month": f"{earlier:%Y-%m}", "idempotency_key": form_key()},
    )
    assert export.status_code == 404
