"""The villager's front door: `/` is the card login, the card's QR code opens it with the number
filled in, and pages a villager may open send the signed-out there (staff pages to theirs)."""

import re

import pytest
import segno
from django.test import Client
from django.urls import reverse

from tests.conftest import PIN
from tests.factories import HouseholdFactory
from villagers.card_views import card_login_url

LIMIT = 5


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_front_door_is_the_card_login_with_a_small_link_for_staff(client_anon):
    page = client_anon.get(reverse("home"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="card_number"' in html and 'name="pin"' in html
    assert f'action="{reverse("card_login")}"' in html
    assert f'href="{reverse("login")}"' in html
    assert "form-control-lg" in html


def test_signed_in_people_go_to_their_own_start(client_villager_a, client_manager_x):
    assert client_villager_a.get(reverse("home")).url == reverse("points:me")
    assert client_manager_x.get(reverse("home")).url == reverse("reports:dashboard")


def test_a_villagers_pages_link_the_title_straight_to_the_balance(
    client_villager_a, client_manager_x
):
    """The title bar's link is a villager's way home on every page: through `/` (a redirect)
    it took a round trip more, half a second on 3G (found by the phone's 3G probe)."""
    for url in (reverse("store:catalogue"), reverse("wishwall:wall")):
        html = client_villager_a.get(url).content.decode()
        brand = re.search(r'<a class="navbar-brand[^"]*" href="([^"]+)"', html).group(1)
        assert brand == reverse("points:me")


def _brand(client, url: str) -> str:
    html = client.get(url).content.decode()
    return re.search(r'<a class="navbar-brand[^"]*" href="([^"]+)"', html).group(1)


def test_staff_pages_link_the_title_straight_to_their_start(
    client_manager_x, client_county, client_secretary_x, village_x
):
    """The staff's title bar went through `/` (a redirect to their start) where the
    villager's links straight: a round trip more on every way home. It now links where `/`
    sends each of them: the dashboard, or a county admin's county overview until they look
    into a village (then that village's dashboard)."""
    catalogue, pick = reverse("store:catalogue"), reverse("villagers:village_pick")
    assert _brand(client_manager_x, catalogue) == reverse("reports:dashboard")
    assert _brand(client_secretary_x, reverse("reports:dashboard")) == reverse("reports:dashboard")
    assert _brand(client_county, pick) == reverse("reports:county_overview")
    assert client_county.get("/").url == reverse("reports:county_overview")
    client_county.post(pick, {"village": village_x.pk})
    assert _brand(client_county, catalogue) == reverse("reports:dashboard")
    for client in (client_manager_x, client_county, client_secretary_x):
        assert client.get("/").url == reverse("reports:dashboard")


def test_error_pages_link_back_to_each_ones_start(
    client_villager_a, client_manager_x, client_anon, village_y
):
    """The error pages' "Back to the start page" went through `/` (a redirect) after the
    title bar stopped doing so: it links where `/` sends each of them."""

    def back(client, url):
        html = client.get(url).content.decode()
        return re.search(r'<a href="([^"]+)"[^>]*>Back to the start page', html).group(1)

    missing = "/no-such-page/"
    assert back(client_villager_a, missing) == reverse("points:me")
    assert back(client_manager_x, missing) == reverse("reports:dashboard")
    assert back(client_anon, missing) == reverse("home")
    # Refused (403), and another village's object (the 404 that says so).
    assert back(client_villager_a, reverse("reports:dashboard")) == reverse("points:me")
    household_y = HouseholdFactory(group__village=village_y)
    other = reverse("reports:household", kwargs={"pk": household_y.pk})
    assert back(client_manager_x, other) == reverse("reports:dashboard")


def test_from_the_front_door_to_the_balance_page_in_one_post(client_anon, card_a):
    response = client_anon.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
    assert response.status_code == 302 and response.url == reverse("points:me")
    assert client_anon.get(response.url).status_code == 200


def test_qr_link_fills_in_the_number_and_starts_on_the_pin(client_anon, card_a):
    html = client_anon.get(reverse("card_login"), {"card": card_a.number}).content.decode()
    card_input = re.search(r'<input[^>]*name="card_number"[^>]*>', html).group(0)
    pin_input = re.search(r'<input[^>]*name="pin"[^>]*>', html).group(0)
    assert f'value="{card_a.number}"' in card_input
    assert "autofocus" in pin_input and "autofocus" not in card_input
    # Without a number the cursor starts on the card number.
    html = client_anon.get(reverse("card_login")).content.decode()
    assert "autofocus" in re.search(r'<input[^>]*name="card_number"[^>]*>', html).group(0)


def test_the_filled_in_page_tells_nothing_about_cards(client_anon, card_a, card_b):
    """An issued, a recalled-looking, a locked-out and an unknown number look alike."""
    for _ in range(LIMIT):  # card B is locked out
        client_anon.post(reverse("card_login"), {"card_number": card_b.number, "pin": "0000"})

    def page(number):
        html = client_anon.get(reverse("card_login"), {"card": number}).content.decode()
        return _without_tokens(html).replace(number, "NUMBER")

    assert page(card_a.number) == page(card_b.number) == page("101099999")


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("１０１０００００２", "101000002"),  # full-width digits, as typed on a Chinese phone
        ("<script>alert(1)</script>", "1"),
        ("9" * 500, "999999999"),
        ("", ""),
    ],
)
def test_odd_card_parameters_are_cleaned(client_anon, db, given, shown):
    response = client_anon.get(reverse("card_login"), {"card": given})
    assert response.status_code == 200
    card_input = re.search(r'<input[^>]*name="card_number"[^>]*>', response.content.decode())
    assert (f'value="{shown}"' in card_input.group(0)) if shown else "value=" not in card_input[0]
    assert "<script>alert" not in response.content.decode()


def test_a_shared_link_leads_through_the_card_login_and_back(client_anon, card_a):
    target = reverse("wishwall:mine")
    response = client_anon.get(target)
    assert response.status_code == 302
    assert response.url.startswith(reverse("card_login")) and "next=" in response.url
    login_page = client_anon.get(response.url).content.decode()
    assert f'name="next" value="{target}"' in login_page
    signed_in = client_anon.post(
        reverse("card_login"), {"card_number": card_a.number, "pin": PIN, "next": target}
    )
    assert signed_in.url == target


def test_next_to_another_site_is_ignored(client_anon, card_a):
    response = client_anon.post(
        reverse("card_login"),
        {"card_number": card_a.number, "pin": PIN, "next": "https://evil.example/"},
    )
    assert response.url == reverse("points:me")


def test_staff_pages_still_send_the_signed_out_to_the_staff_login(client_anon, db):
    response = client_anon.get(reverse("villagers:household_list"))
    assert response.url.startswith(reverse("login"))


def test_signing_out_villagers_land_on_the_front_door_staff_on_their_login(
    client_villager_a, client_manager_x
):
    assert client_villager_a.post(reverse("logout")).url == reverse("home")
    assert client_manager_x.post(reverse("logout")).url == reverse("login")


def _qr_of(html: str) -> str:
    return re.search(r"<svg.*?</svg>", html, re.S).group(0)


def test_printed_card_qr_holds_the_card_login_url(client_manager_x, card_a, settings):
    page = client_manager_x.get(reverse("villagers:card_print", args=[card_a.pk]))
    expected = f"http://testserver/accounts/card-login/?card={card_a.number}"
    request = page.wsgi_request
    assert card_login_url(request, card_a.number) == expected
    svg = segno.make_qr(expected, error="m").svg_inline(scale=6, border=4, omitsize=True)
    assert _qr_of(page.content.decode()) == svg
    # A deployment prints its public address, whichever address the manager used.
    settings.CARD_LOGIN_BASE_URL = "https://aixin.example.gov.cn"
    assert card_login_url(request, card_a.number) == (
        f"https://aixin.example.gov.cn/accounts/card-login/?card={card_a.number}"
    )
    page = client_manager_x.get(reverse("villagers:card_print", args=[card_a.pk]))
    assert "aixin" not in page.content.decode()  # drawn, not written out
    svg = segno.make_qr(card_login_url(request, card_a.number), error="m")
    assert _qr_of(page.content.decode()) == svg.svg_inline(scale=6, border=4, omitsize=True)


def test_the_sheet_and_the_replacement_slip_print_the_url_too(client_manager_x, card_a):
    sheet = client_manager_x.get(reverse("villagers:card_sheet"), {"card": [card_a.pk]})
    expected = segno.make_qr(
        f"http://testserver/accounts/card-login/?card={card_a.number}", error="m"
    ).svg_inline(scale=3, border=1, omitsize=True)
    assert expected in sheet.content.decode()


def test_the_counter_scanner_reads_the_number_off_the_url(client_manager_x, card_a):
    scanned = f"https://aixin.example.gov.cn/accounts/card-login/?card={card_a.number}"
    response = client_manager_x.get(reverse("store:counter"), {"card": scanned})
    assert response.url == reverse("store:counter_household", args=[card_a.household_id])


def test_an_old_card_holding_only_the_number_still_works(client_manager_x, card_a):
    response = client_manager_x.get(reverse("store:counter"), {"card": card_a.number})
    assert response.url == reverse("store:counter_household", args=[card_a.household_id])
    assert Client().post(
        reverse("card_login"), {"card_number": card_a.number, "pin": PIN}
    ).url == reverse("points:me")
