"""A day read aloud says its year when it is not this year's (core.templatetags.dates)."""

import datetime

from django.utils import timezone

from core.templatetags.dates import spoken_day


def test_a_day_of_another_year_is_said_with_its_year():
    now = timezone.localtime()
    this_year = now.replace(month=3, day=5, hour=10)
    assert spoken_day(this_year) == "3月5日"
    last_year = datetime.datetime(now.year - 1, 12, 31, 23, 30, tzinfo=now.tzinfo)
    assert spoken_day(last_year) == f"{now.year - 1}年12月31日"
    # Stored in UTC: 31 December 16:30 UTC is already 1 January in Beijing.
    utc = datetime.datetime(now.year - 1, 12, 31, 16, 30, tzinfo=datetime.UTC)
    assert spoken_day(utc) == "1月1日"
