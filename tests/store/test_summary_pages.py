"""The store's day and month summaries: their neighbours stop at today and at the village's
first month, as the reports' do; a day or month outside them is a page saying which exist."""

import datetime

from django.urls import reverse
from django.utils import timezone

from core.months import add_months, next_month
from villagers.models import Village

DAY, MONTH = reverse("store:summary_day"), reverse("store:summary_month")


def test_the_summaries_link_to_no_day_or_month_to_come(client_supervisor_x, card_a):
    """Found by a probe of the county's month: this month's summary linked to next month
    ("2027-01 →") and today's to tomorrow, empty pages a click on for ever. The links stop
    at today; a day or month to come typed into the address says it has not come yet (it
    showed today's, as if the address were right)."""
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    coming = next_month(today.replace(day=1))
    page = client_supervisor_x.get(MONTH).content.decode()
    assert f"?month={coming:%Y-%m}" not in page and f"{coming:%Y-%m} →" not in page
    typed = client_supervisor_x.get(MONTH, {"month": f"{coming:%Y-%m}"})
    assert typed.status_code == 404 and f"{coming:%Y-%m} has not come yet" in typed.text
    page = client_supervisor_x.get(DAY).content.decode()
    assert f"?day={tomorrow:%Y-%m-%d}" not in page
    typed = client_supervisor_x.get(DAY, {"day": f"{tomorrow:%Y-%m-%d}"})
    assert typed.status_code == 404 and f"{tomorrow:%Y-%m-%d} has not come yet" in typed.text
    # A month gone by still links to the next one.
    last = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    page = client_supervisor_x.get(MONTH, {"month": f"{last:%Y-%m}"}).content.decode()
    assert f"?month={today:%Y-%m}" in page


def test_the_summaries_begin_with_the_villages_first_month(client_supervisor_x, village_x, card_a):
    """Found by a probe: the links went back to 2000-01 (and a day before 2000 showed today's
    summary). They stop at the village's first month; a day or month before it, or one that
    is none, says which exist and links to the first and to today's."""
    today = timezone.localdate()
    first = add_months(today.replace(day=1), -2)
    Village.objects.filter(pk=village_x.pk).update(started_on=first.replace(day=17))
    page = client_supervisor_x.get(MONTH, {"month": f"{first:%Y-%m}"})
    assert page.context["previous"] is None and f"?month={next_month(first):%Y-%m}" in page.text
    day = client_supervisor_x.get(DAY, {"day": f"{first:%Y-%m-%d}"})
    assert day.context["previous"] is None and day.context["summary"]["day"] == first
    before = first - datetime.timedelta(days=1)
    for url, asked, heading, first_link in [
        (MONTH, f"{before:%Y-%m}", f"Nothing is recorded for {before:%Y-%m}", f"{first:%Y-%m}"),
        (DAY, f"{before:%Y-%m-%d}", f"Nothing is recorded for {before:%Y-%m-%d}", f"{first}"),
        (MONTH, "1999-12", "Nothing is recorded for 1999-12", f"{first:%Y-%m}"),
        (MONTH, "2024-13", "“2024-13” is not a month", f"{first:%Y-%m}"),
        (DAY, "2024-02-30", "“2024-02-30” is not a date", f"{first}"),
    ]:
        key = "month" if url == MONTH else "day"
        refused = client_supervisor_x.get(url, {key: asked})
        assert refused.status_code == 404 and heading in refused.text, asked
        assert f'href="{url}?{key}={first_link}"' in refused.text
        assert "can be opened" in refused.text
