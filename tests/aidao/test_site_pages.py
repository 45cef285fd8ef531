"""Site-wide pieces: the web app manifest and icons, the large-type switch, the grouped menu."""

import json
import re
from collections import Counter

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from PIL import Image


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def test_manifest_makes_the_balance_page_installable(client_anon, db):
    response = client_anon.get(reverse("manifest"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/manifest+json")
    manifest = json.loads(response.content)
    assert manifest["name"] == "爱心超市"
    assert manifest["start_url"] == reverse("points:me")
    assert manifest["display"] == "standalone"
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["purpose"] == "any"}
    assert sizes == {"192x192", "512x512"}
    for icon in manifest["icons"]:
        path = finders.find(icon["src"].removeprefix("/static/"))
        assert path, icon["src"]
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert f"{image.width}x{image.height}" == icon["sizes"]


def test_favicon_ico_is_the_apps_icon_for_pages_that_name_none(client_anon, db):
    """The wish wall's and the board's screens name no icon, so the browser asks for
    /favicon.ico at every visit: a 404 was a wasted round trip on 3G."""
    response = client_anon.get("/favicon.ico")
    assert response.status_code == 302  # not 301: the icon's name changes with its content
    assert finders.find(response["Location"].removeprefix("/static/")), response["Location"]
    assert "max-age=86400" in response["Cache-Control"]


def test_every_page_links_the_manifest_and_the_home_screen_icons(client_anon, db):
    html = client_anon.get(reverse("card_login")).content.decode()
    assert f'rel="manifest" href="{reverse("manifest")}"' in html
    apple = re.search(r'rel="apple-touch-icon" href="([^"]+)"', html).group(1)
    assert finders.find(apple.removeprefix("/static/"))
    assert '<meta name="theme-color"' in html


def test_large_type_is_remembered_by_a_cookie_without_javascript(client_villager_a):
    home = reverse("points:me")
    assert 'class="large-type"' not in client_villager_a.get(home).content.decode()

    response = client_villager_a.post(reverse("large_type"), {"large": "1", "next": home})
    assert response.status_code == 302 and response["Location"] == home
    assert response.cookies["large_type"].value == "1"
    html = client_villager_a.get(home).content.decode()
    assert re.search(r'<html lang="[^"]+" class="large-type">', html)
    assert 'name="large" type="hidden" value="0"' in html  # the switch now turns it off

    response = client_villager_a.post(reverse("large_type"), {"large": "0", "next": home})
    assert response.cookies["large_type"]["max-age"] == 0
    assert 'class="large-type"' not in client_villager_a.get(home).content.decode()


def test_large_type_switch_only_goes_back_to_this_site(client_anon, db):
    response = client_anon.post(
        reverse("large_type"), {"large": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")
    assert client_anon.get(reverse("large_type")).status_code == 405


MENU = re.compile(r'<ul class="list-unstyled nav-menu-list">(.*?)</details>', re.S)


def menu_links(client) -> list[str]:
    html = client.get(reverse("store:catalogue")).content.decode()
    return re.findall(r'<a class="nav-link" href="([^"]+)"', MENU.search(html).group(1))


VILLAGER_MENU = {
    "points:me",
    "store:catalogue",
    "store:my_redemptions",
    "villagers:pin_change",
    "wishwall:mine",
    "wishwall:wall",
    "wishwall:echo",
    "points:declaration_new",
    "points:checkin_scan",
    "reports:notice",
    "reports:board",
    "store:my_reservations",
    "notifications:mine",
    "notifications:announcements",
}
STAFF_MENU = {
    "notifications:announcements",
    "points:settlement",
    "reports:household_list",
    "store:pick_list",
    "notifications:log",
    "points:round_list",
    "points:activity_list",
    "store:stock_list",
    "store:corrections",
    "store:redemption_list",
    "store:donation_list",
    "store:summary_month",
    "store:catalogue",
    "wishwall:queue",
    "wishwall:wall",
    "wishwall:echo",
    "points:declaration_list",
    "points:rule_list",
    "reports:notice",
    "reports:dashboard",
    "reports:month_report_current",
    "villagers:card_sheet_choose",
    "reports:board",
    "reports:cover",
    "reports:donations_traced",
    "points:publicity",
    "reports:village_referrals",
    "reports:audit",
    "admin:index",
}
PROPOSER_MENU = {"points:proposal_new", "points:activity_new", "points:proposals_mine"}


@pytest.fixture
def county_in_x(client_county, village_x):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    return client_county


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("client_villager_a", VILLAGER_MENU),
        (
            "client_manager_x",
            STAFF_MENU
            | PROPOSER_MENU
            | {"store:counter", "villagers:roster_upload", "points:carry_over_upload"},
        ),
        ("client_supervisor_x", STAFF_MENU | PROPOSER_MENU | {"points:approval_queue"}),
        (
            "county_in_x",
            STAFF_MENU
            | {"villagers:village_pick", "reports:county_overview", "reports:county_queue"},
        ),
    ],
)
def test_menu_lists_each_page_of_the_role_once(request, who, expected):
    links = menu_links(request.getfixturevalue(who))
    assert [link for link, n in Counter(links).items() if n > 1] == []
    assert set(links) == {reverse(name) for name in expected}


def test_menu_groups_have_headings(client_manager_x):
    html = client_manager_x.get(reverse("store:catalogue")).content.decode()
    groups = re.findall(r'<span class="nav-group-title" id="(nav-[a-z]+)">', html)
    assert groups == ["nav-registry", "nav-points", "nav-store", "nav-wishes", "nav-public"]
    for group in groups:
        assert f'aria-labelledby="{group}"' in html


def test_a_get_of_a_buttons_address_says_what_to_do_in_the_readers_language(client_villager_a):
    """Django's 405 had no body: after signing in again on the way back to a button pressed
    when the session had ended, the phone showed a blank page."""
    url = reverse("notifications:read")
    response = client_villager_a.get(url)
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "press the button again" in response.text and "My points" in response.text
    client_villager_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    assert "再按一次按钮" in client_villager_a.get(url).text


def test_the_apis_refusals_stay_its_own(client_anon, db):
    response = client_anon.post("/api/v1/overview")
    assert response.status_code in (401, 405)
    assert "<html" not in response.text
