"""ID numbers and phones never show in full, except on the audited full-ID page (manager)."""

import pytest
from django.urls import reverse

from core.models import AuditEvent
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE
from villagers.masking import mask_id_number, mask_phone

HOUSEHOLD_PHONE = "13912345678"  # HouseholdFactory's phone


@pytest.mark.parametrize(
    "client_name", ["client_manager_x", "client_supervisor_x", "client_county_x"]
)
def test_list_and_detail_mask_for_every_role(client_name, request, card_a, member_a):
    client = request.getfixturevalue(client_name)
    pages = [
        client.get(reverse("reports:household_list")).text,
        client.get(reverse("reports:household_list"), {"q": "王"}).text,
        client.get(reverse("reports:household", kwargs={"pk": card_a.household_id})).text,
        client.get(reverse("villagers:card_print", kwargs={"pk": card_a.pk})).text,
    ]
    for text in pages:
        for secret in (SECRET_ID, SECRET_PHONE, HOUSEHOLD_PHONE):
            assert secret not in text
    assert mask_id_number(SECRET_ID) in pages[2]
    assert mask_phone(SECRET_PHONE) in pages[2]
    assert mask_phone(HOUSEHOLD_PHONE) in pages[0]


def test_search_cannot_probe_id_numbers(client_supervisor_x, member_a):
    """Searching by an ID number finds nobody, so the list cannot confirm who holds it."""
    page = client_supervisor_x.get(reverse("reports:household_list"), {"q": SECRET_ID[-6:]})
    assert page.context["page"].paginator.count == 0


def test_full_id_page_for_manager_is_audited(client_manager_x, manager_x, member_a):
    url = reverse("villagers:member_view_id", kwargs={"pk": member_a.pk})
    assert client_manager_x.get(url).status_code == 405  # never by a plain link
    response = client_manager_x.post(url)
    assert response.status_code == 200
    assert SECRET_ID in response.text and SECRET_PHONE in response.text
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="member.view_id")
    assert event.actor == manager_x
    assert event.object_id == str(member_a.pk)
    assert event.village_id == member_a.household.village_id


@pytest.mark.parametrize(
    ("client_name", "status"),
    [
        ("client_supervisor_x", 403),
        ("client_county_x", 403),
        ("client_villager_a", 403),
        ("client_manager_y", 404),
    ],
)
def test_full_id_page_refused_to_others(client_name, status, request, member_a):
    client = request.getfixturevalue(client_name)
    response = client.post(reverse("villagers:member_view_id", kwargs={"pk": member_a.pk}))
    assert response.status_code == status
    assert SECRET_ID not in response.text
    assert not AuditEvent.objects.filter(action="member.view_id").exists()


def test_admin_changelist_masks_id(client_manager_x, member_a):
    text = client_manager_x.get(reverse("admin:villagers_member_changelist")).text
    assert member_a.name in text
    assert SECRET_ID not in text
    change = client_manager_x.get(reverse("admin:villagers_member_change", args=[member_a.pk])).text
    assert SECRET_ID not in change and SECRET_PHONE not in change


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("610630196503040019", "6106**********0019"),
        ("61063019650304001X", "6106**********001X"),
        ("１３９００００００１２", "１３９****００１２"),
        ("tel 139-0000-0012", "tel 139******0012"),
        ("电话138-1234-5678", "电话138******5678"),
        ("138 - 1234 - 5678", "138**********5678"),
        ("+86 138-1234-5678", "+86 138******5678"),
        ("8613812345678", "86138****5678"),
        ("610630 19880101 1234", "6106************1234"),
        ("610630880101123", "6106*******1123"),
        ("1965", "1965"),
        ("1965-03-04", "1965-03-04"),
        # Found by a second read: other ways of writing a number were shown in full.
        ("139.1234.5678", "139******5678"),
        ("139/1234/5678", "139******5678"),
        ("(139)1234-5678", "(139******5678"),
        ("610630.19650304.0019", "6106************0019"),
        ("1965.03.04", "1965.03.04"),
        ("2024/01/05", "2024/01/05"),
        ("价格 12.50 元", "价格 12.50 元"),
        # Found by a probe: a day of 8 digits was shown "202*0305", and any run of 8 to 10
        # digits with one to three of them hidden: neither hidden nor readable. A day is
        # shown as typed; another run that may be a landline's number is hidden whole.
        ("20240305", "20240305"),
        ("２０２４０３０５", "２０２４０３０５"),
        ("20241305", "********"),
        ("电话 8511234567", "电话 **********"),
        ("12345678", "********"),
        ("一组12号", "一组12号"),
        ("", ""),
    ],
)
def test_a_cell_is_shown_with_anything_like_an_id_number_or_phone_masked(text, shown):
    from villagers.masking import mask_cell

    assert mask_cell(text) == shown


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("R0000123", "R0000123"),
        ("6106300101001", "6106300101001"),
        ("X００１", "X００１"),
        ("13900000012", "139****0012"),
        ("610630196503040019", "6106**********0019"),
        # With the country code (found by a second read): a phone still.
        ("8613812345678", "86138****5678"),
        ("+86 138 1234 5678", "+86 138******5678"),
        ("８６１３８１２３４５６７８", "８６１３８****５６７８"),
        # A superscript is a "digit" to str.isdigit() that int() refuses (found by the
        # roster fuzz: a 500 on the preview).
        ("X²01", "X²01"),
    ],
)
def test_a_household_number_is_masked_only_with_a_phones_or_an_id_numbers_digits(number, shown):
    from villagers.masking import mask_household_number

    assert mask_household_number(number) == shown
