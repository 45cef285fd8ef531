"""Every export's file says whose it is, what and of when: in UTF-8 for the browsers, in
ASCII for the programs that read no other name.

Found by the probe of the county's month: the county's and the township's files were
"county-2024-05.xlsx" and "township-2024-05.xlsx" whichever the county or the township, so
a county admin of two deployments, or a township officer sending files up, could not tell
them apart.
"""

import re
from urllib.parse import unquote

import pytest
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from reports import xlsx
from reports.exports import export_job_run
from reports.models import ExportJob
from tests.conftest import make_staff
from tests.factories import CountyFactory, TownshipFactory, VillageFactory

ASCII_NAME = re.compile(r"[A-Za-z0-9._-]+")


def names(response) -> tuple[str, str]:
    """The download's (UTF-8 name, ASCII name), as a browser reads its header."""
    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert header.startswith("attachment; ") and "\n" not in header and "\r" not in header
    fallback = re.search(r'filename="([^"]*)"', header).group(1)
    shown = unquote(re.search(r"filename\*=UTF-8''([^;\s]+)", header).group(1), errors="strict")
    assert ASCII_NAME.fullmatch(fallback), header
    return shown, fallback


def downloaded(client, job_url: str, data=None):
    """Ask for a background export, build it as the worker does and download it."""
    response = client.post(job_url, data or {})
    job = ExportJob.objects.get(pk=int(response.url.rstrip("/").split("/")[-1]))
    export_job_run(job.pk)
    return client.get(reverse("reports:export_download", args=[job.pk]))


def chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def this_month():
    return timezone.localdate().replace(day=1)


def test_the_notice_says_the_township_and_the_village(client_manager_x, village_x, this_month):
    url = reverse("reports:notice_xlsx", args=[this_month.year, this_month.month])
    month = f"{this_month:%Y-%m}"
    assert names(client_manager_x.get(url)) == (
        f"英旺鄉-啊道村-Public notice-{month}.xlsx",
        f"notice-101-{month}.xlsx",
    )
    assert names(chinese(client_manager_x).get(url))[0] == f"英旺鄉-啊道村-公示-{month}.xlsx"


def test_the_month_report_says_the_village(client_manager_y, village_y, this_month):
    url = reverse("reports:month_report_xlsx", args=[this_month.year, this_month.month])
    month = f"{this_month:%Y-%m}"
    assert names(client_manager_y.get(url)) == (
        f"英旺鄉-富村-Monthly report-{month}.xlsx",
        f"report-202-{month}.xlsx",
    )
    assert names(chinese(client_manager_y).get(url))[0] == f"英旺鄉-富村-月度报表-{month}.xlsx"


def test_the_year_report_says_the_village(client_manager_x, village_x, this_month):
    url = reverse("reports:year_report_xlsx", args=[this_month.year])
    assert names(downloaded(client_manager_x, url)) == (
        f"英旺鄉-啊道村-Year report-{this_month.year}.xlsx",
        f"year-101-{this_month.year}.xlsx",
    )
    job = ExportJob.objects.get()
    page = client_manager_x.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert f"英旺鄉-啊道村-Year report-{this_month.year}.xlsx" in page  # its download link
    chinese(client_manager_x)
    assert (
        names(downloaded(client_manager_x, url))[0]
        == f"英旺鄉-啊道村-年度报表-{this_month.year}.xlsx"
    )


def test_two_counties_files_are_told_apart(client_county, county_admin, village_x, this_month):
    other_county = CountyFactory(name="黄龙县")
    VillageFactory(name="山村", code="404", township=TownshipFactory(county=other_county))
    other = make_staff(Role.COUNTY_ADMIN, county=other_county, username="county_other")
    client_other = type(client_county)()
    client_other.force_login(other)
    url = reverse("reports:county_export")
    month = f"{this_month:%Y-%m}"
    assert names(downloaded(client_county, url)) == (
        f"宜川縣-County overview-{month}.xlsx",
        f"county-{county_admin.county_id}-{month}.xlsx",
    )
    assert names(downloaded(client_other, url)) == (
        f"黄龙县-County overview-{month}.xlsx",
        f"county-{other_county.pk}-{month}.xlsx",
    )
    last = (this_month - timezone.timedelta(days=1)).replace(day=1)
    shown, fallback = names(
        downloaded(chinese(client_county), url, {"month": f"{last:%Y-%m}", "sort": "-held"})
    )
    assert (shown, fallback) == (
        f"宜川縣-全县概况-{last:%Y-%m}.xlsx",
        f"county-{county_admin.county_id}-{last:%Y-%m}.xlsx",
    )


def test_two_townships_files_are_told_apart(
    client_township, client_township_z, village_x, village_z, this_month
):
    url = reverse("reports:county_export")
    month = f"{this_month:%Y-%m}"
    assert names(downloaded(client_township, url)) == (
        f"宜川縣-英旺鄉-Township overview-{month}.xlsx",
        f"township-{village_x.township_id}-{month}.xlsx",
    )
    assert names(downloaded(chinese(client_township_z), url)) == (
        f"宜川縣-集义鄉-乡镇总览-{month}.xlsx",
        f"township-{village_z.township_id}-{month}.xlsx",
    )


def test_a_name_holds_nothing_a_file_name_or_a_header_may_not():
    """A village named with a slash, quotes or a line break: the file is still saved under
    one name, in the folder asked, and the header is one header."""
    shown = xlsx.file_name('新/村:"一组"\r\n', "..", "Public notice", "2024-05")
    assert shown == "新 村 一组-Public notice-2024-05.xlsx"
    header = xlsx.content_disposition(shown, xlsx.ascii_file_name("notice", '1"\n0', "2024-05"))
    assert header == (
        'attachment; filename="notice-1-0-2024-05.xlsx"; '
        "filename*=UTF-8''%E6%96%B0%20%E6%9D%91%20%E4%B8%80%E7%BB%84-Public%20notice-2024-05.xlsx"
    )
