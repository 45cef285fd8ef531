"""Months: the one place their boundaries are worked out (reports, notices, caps, summaries).

A month is named by its first day (a date). Spans of instants are in local time
(TIME_ZONE), half-open [start, end), so an index on a timestamp can serve them.
"""

import datetime

from django.core.exceptions import ValidationError
from django.http import Http404
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


def requested_month(year: int, month: int) -> datetime.date:
    """The first day of a month named in a URL; 404 for a month that cannot be reported.

    Refuses month 13, years beyond any C long (OverflowError), the future and before 2000.
    """
    try:
        first = datetime.date(year, month, 1)
    except (ValueError, OverflowError) as error:
        raise Http404 from error
    if first > timezone.localdate() or first < EARLIEST_DAY:
        raise Http404
    return first


def month_from_text(text: str) -> datetime.date | None:
    """The first day of a 'YYYY-MM' month (ASCII digits, 2000-9000), else None."""
    try:  # strptime reads ASCII digits only (int() took '٢٠٢٤-٠٣' and '2_024-3')
        first = datetime.datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        return None
    # Month 0001-01 has no previous month to link to (that was a 500).
    return first if 2000 <= first.year <= 9000 else None
