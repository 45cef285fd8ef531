"""The store's day and month summaries: their neighbours stop at today, as the reports' do."""

import datetime

from django.urls import reverse
from django.utils import timezone

from core.months import next_month

DAY, MONTH = reverse("store:summary_day"), reverse("store:summary_month")


def test_the_summaries_link_to_no_day_or_month_to_come(client_supervisor_x, card_a):
    """Found by a probe of the county's month: this month's summary linked to next month
    ("2027-01 →") and today's to tomorrow, empty pages a click on for ever, and one typed
    into the address showed as if it were over. A day or month to come is today's or this
    month's, as a mangled one is; the links stop there."""
    today = timezone.localdate()
    tomorrow = today + datetime.timedelta(days=1)
    coming = next_month(today.replace(day=1))
    page = client_supervisor_x.get(MONTH).content.decode()
    assert f"?month={coming:%Y-%m}" not in page and f"{coming:%Y-%m} →" not in page
    typed = client_supervisor_x.get(MONTH, {"month": f"{coming:%Y-%m}"})
    assert (typed.context["summary"]["year"], typed.context["summary"]["month"]) == (
        today.year,
        today.month,
    )
    page = client_supervisor_x.get(DAY).content.decode()
    assert f"?day={tomorrow:%Y-%m-%d}" not in page
    typed = client_supervisor_x.get(DAY, {"day": f"{tomorrow:%Y-%m-%d}"})
    assert typed.context["summary"]["day"] == today
    # A month gone by still links to the next one; the first month to none before it.
    last = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    page = client_supervisor_x.get(MONTH, {"month": f"{last:%Y-%m}"}).content.decode()
    assert f"?month={today:%Y-%m}" in page
    page = client_supervisor_x.get(MONTH, {"month": "2000-01"}).content.decode()
    assert "?month=1999-12" not in page and "?month=2000-02" in page


def test_the_day_summary_links_to_no_day_before_2000(client_supervisor_x, card_a):
    """Found by the second read: the month summary's links start in 2000, but a day before
    it showed, linking to the day before it for ever (to 0001-01-01). A day before 2000 is
    today's, as a mangled one is; the first day of 2000 links to none before it."""
    typed = client_supervisor_x.get(DAY, {"day": "1999-12-31"})
    assert typed.context["summary"]["day"] == timezone.localdate()
    first = client_supervisor_x.get(DAY, {"day": "2000-01-01"})
    assert first.context["summary"]["day"] == datetime.date(2000, 1, 1)
    assert "?day=1999-12-31" not in first.text and "?day=2000-01-02" in first.text
