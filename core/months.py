"""Months: the one place their boundaries are worked out (reports, notices, caps, summaries).

A month is named by its first day (a date). Spans of instants are in local time
(TIME_ZONE), half-open [start, end), so an index on a timestamp can serve them.
"""

import datetime
import re
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

# No deed, donation or stock movement of the scheme is older than this (it began in 2019):
# a date before it is a slip of the keyboard (0001-01-01), never a record to keep.
EARLIEST_DAY = datetime.date(2000, 1, 1)


def past_day_check(day: datetime.date) -> None:
    """Refuse a day in the future or before EARLIEST_DAY: the day something happened."""
    if day > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."))
    if day < EARLIEST_DAY:
        raise ValidationError(
            _("The date is too far in the past (the earliest allowed is %(day)s).")
            % {"day": EARLIEST_DAY}
        )


def day_within_check(day: datetime.date, first: datetime.date, last: datetime.date) -> None:
    """Refuse a day outside [first, last], naming the days allowed: told only "not in the
    future" or "too far back", a villager could not tell which days would do."""
    if not first <= day <= last:
        raise ValidationError(
            _("Choose a date from %(first)s to %(last)s.")
            % {"first": first.isoformat(), "last": last.isoformat()},
            code="day_out_of_range",
        )


# A month whose public notice is published is closed: what the notice shows stays as it was
# published. The notice lives in reports, above the apps that write what it shows, so
# reports tells how to know (reports.apps) and those writers ask `closed_month_check`.
_closed_month_finders = []


def closed_month_finder_register(finder) -> None:
    """`finder(village_id, first_day)` says whether that month of the village is closed."""
    if finder not in _closed_month_finders:
        _closed_month_finders.append(finder)


def closed_month_check(village_id: int, day: datetime.date, message: str) -> None:
    """Refuse `day` (with `message`, which may name %(month)s) when its month is closed in
    the village. The caller holds the lock the closing takes (the village's row, see
    reports.notice.notice_publish), so no notice is published between this check and its
    commit."""
    first = month_of(day)
    if any(finder(village_id, first) for finder in _closed_month_finders):
        raise ValidationError(message % {"month": f"{first:%Y-%m}"}, code="published")


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day `months` later (or earlier), clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def month_of(day: datetime.date) -> datetime.date:
    """The first day of `day`'s month."""
    return day.replace(day=1)


def previous_month(day: datetime.date) -> datetime.date:
    return add_months(month_of(day), -1)


def next_month(day: datetime.date) -> datetime.date:
    return add_months(month_of(day), 1)


def month_days(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """[first day of `day`'s month, first day of the next)."""
    return month_of(day), next_month(day)


def local_start(day: datetime.date) -> datetime.datetime:
    """The instant a local day begins."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def month_span(year: int, month: int) -> tuple[datetime.datetime, datetime.datetime]:
    """The month in local time as [start, end) instants."""
    first = datetime.date(year, month, 1)
    return local_start(first), local_start(next_month(first))


def months_ending(last: datetime.date, count: int = 12) -> list[datetime.date]:
    """First days of `count` months ending with `last`'s month, oldest first."""
    first = month_of(last)
    return [add_months(first, -offset) for offset in range(count - 1, -1, -1)]


# The units an address may name a stretch of the records by (asked_within).
MONTH, YEAR, DAY = "month", "year", "day"
# How each is written in an address: ASCII digits only ('٢٠٢٤-٠٣' and '2_024-3' are none).
_SHAPES = {
    MONTH: re.compile(r"([0-9]{4})-([0-9]{1,2})"),
    YEAR: re.compile(r"([0-9]{4})"),
    DAY: re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})"),
}
# How the page writes each.
_WRITTEN = {MONTH: "%Y-%m", YEAR: "%Y", DAY: "%Y-%m-%d"}
# As much of what was typed as the page repeats.
ASKED_SHOWN = 20


class OutsideRecords(Http404):
    """A month, year or day named in an address that the records do not reach: none at all
    (2024-13, 'abc'), one to come, or one before the records' first month. A 404 whose page
    says which exist, with a link to the first and to the current (aidao.views.
    page_not_found): `first` and `last` are their first days, `why` is "shape", "before" or
    "after"."""

    def __init__(self, *, unit: str, asked: str, why: str, first, last, first_url, last_url):
        super().__init__(f"{unit} {asked!r}: {why}")
        self.unit, self.asked, self.why = unit, asked[:ASKED_SHOWN], why
        self.first, self.last = first, last
        self.first_url, self.last_url = first_url, last_url

    @property
    def first_text(self) -> str:
        return format(self.first, _WRITTEN[self.unit])

    @property
    def last_text(self) -> str:
        return format(self.last, _WRITTEN[self.unit])


def _read(asked: str, unit: str) -> datetime.date | None:
    """The first day of the month, year or day `asked` is written as, else None."""
    shape = _SHAPES[unit].fullmatch(asked or "")
    if shape is None:
        return None
    parts = [int(part) for part in shape.groups()] + [1, 1]
    try:
        return datetime.date(*parts[:3])
    except ValueError:  # month 13, day 31 of April, year 0
        return None


def asked_within(
    asked: str, *, unit: str, since: datetime.date, link: Callable[[datetime.date], str]
) -> datetime.date:
    """The first day of the month ('YYYY-MM'), year ('YYYY') or the day ('YYYY-MM-DD') an
    address names, when the records reach it: from the month of `since` (when the village
    started using the app; for the county's pages the earliest village's) to today. Else
    OutsideRecords, whose page links to the first and the current by `link(first day)`.

    Every page with a month, year or day in its address reads it here."""
    today = timezone.localdate()
    if unit == YEAR:
        first, last = since.replace(month=1, day=1), today.replace(month=1, day=1)
    else:
        first, last = month_of(since), (today if unit == DAY else month_of(today))
    first = min(first, last)  # a start typed in the future still reaches today
    day = _read(asked, unit)
    if day is not None and first <= day <= last:
        return day
    why = "shape" if day is None else ("before" if day < first else "after")
    raise OutsideRecords(
        unit=unit,
        asked=asked or "",
        why=why,
        first=first,
        last=last,
        first_url=link(first),
        last_url=link(last),
    )


def month_in_path(year: int, month: int, *, since: datetime.date, page: str) -> datetime.date:
    """The month of an address /<year>/<month>/ of `page` (a URL name taking the two), within
    the records from `since` (asked_within); its page links to `page`'s first and current."""
    return asked_within(
        f"{year:04d}-{month:02d}",
        unit=MONTH,
        since=since,
        link=lambda first: reverse(page, args=[first.year, first.month]),
    )


def month_before(first: datetime.date, since: datetime.date) -> datetime.date | None:
    """The month before `first` when the records from `since` reach it (the "←" link)."""
    before = previous_month(first)
    return before if before >= month_of(since) else None


def month_after(first: datetime.date) -> datetime.date | None:
    """The month after `first` when it has begun (the "→" link)."""
    after = next_month(first)
    return after if after <= timezone.localdate() else None
