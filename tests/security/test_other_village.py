"""Another village's QR code or link: a 404 page saying what it is and what to do, naming
nothing of it (core.access.village_object_or_404, aidao.views.page_not_found)."""

import re
import uuid

from django.test import RequestFactory
from django.urls import reverse

from aidao.views import page_not_found
from core.access import OtherVillageObject
from notifications.services import announcement_withdraw
from store.models import Reservation
from tests.security.state import database_state, state_changes
from tests.security.url_table import URLS
from villagers.middleware import COUNTY_VILLAGE_SESSION_KEY

# The read-only API answers a token only (tests/reports/test_api.py).
NOT_PAGES = ("api",)
STAFF_WORDS = (
    "This is another village's {what} The code or link you opened belongs to another "
    "village: only that village's staff can open it. Back to the start page"
)
VILLAGER_WORDS = (
    "This is another village's {what} The code or link you opened belongs to another "
    "village, so it does not open here. Ask your village's manager. Back to the start page"
)
NOT_FOUND = "This page does not exist Back to the start page"
# A button's answer (a POST): nothing was opened, and nothing was done.
STAFF_SENT_WORDS = (
    "This is another village's {what} What you sent concerns another village, so nothing "
    "was done: only that village's staff can do it. Back to the start page"
)
VILLAGER_SENT_WORDS = (
    "This is another village's {what} What you sent concerns another village, so nothing "
    "was done. Ask your village's manager. Back to the start page"
)


def main_text(response) -> str:
    """The words of the page's main part (the layout's menu is the reader's own)."""
    main = response.content.decode().split("<main", 1)[1].split("</main>", 1)[0]
    return " ".join(re.sub(r"<[^>]+>", " ", main.split(">", 1)[1]).split())


def test_every_page_of_another_villages_object_says_so_and_names_nothing(cast, table):
    """Found by a probe: another village's QR code or link (an activity's check-in code, a
    household's counter, a receipt, an item) answered a bare "This page does not exist".
    Each page of an object of village X, opened by village Y's manager, is a 404 saying it
    is another village's and what to do, and the page's words are only those."""
    client = cast.client("manager_y")
    pages = [
        request
        for request in table
        if request.get["manager_y"] == "404"
        and not request.url.startswith("/admin/")
        and not any(word in request.key for word in NOT_PAGES)
    ]
    assert len(pages) > 30
    wrong = [
        said for request in pages if (said := _not_said(client.get(request.url), _named(request)))
    ]
    assert not wrong, "\n".join(wrong)


def _named(request) -> str:
    return f"{request.key} {request.url}"


def _not_said(response, asked: str, words: str = STAFF_WORDS) -> str:
    """'' when `response` (to `asked`) is the other-village page in `words`, else what it
    was instead."""
    said = main_text(response)
    pattern = re.escape(words).replace(re.escape("{what}"), "(.+?)")
    if response.status_code == 404 and re.fullmatch(pattern, said):
        return ""
    return f"{asked}: {response.status_code} {said!r}"


def test_every_button_on_another_villages_object_says_so(cast, table):
    """Found by a probe: a POST button of another village's object (a reservation's
    hand-over, a thanks link's revoke, an announcement's withdrawal) answered a bare 404.
    Every POST of village Y's manager on an object of village X says what it is, and, as
    found by a later probe, in a button's words: what was sent, not "the code or link you
    opened"; and that nothing was done, which it was not."""
    client = cast.client("manager_y")
    buttons = [
        request
        for request in table
        if request.post and request.post["manager_y"] == "404" and "api" not in request.key
    ]
    assert len(buttons) > 25
    before = database_state()
    wrong = [
        said
        for request in buttons
        if (
            said := _not_said(
                client.post(request.url, request.data), _named(request), STAFF_SENT_WORDS
            )
        )
    ]
    assert not wrong, "\n".join(wrong)
    assert state_changes(before, database_state()) == []


def _object_of_x(cast, request) -> bool:
    """Whether the request's address names one of village X's objects (not a month)."""
    row = URLS.get(request.key)
    kwargs = row.kwargs(cast) if row is not None else {}
    return any(key == "pk" or key.endswith("_pk") for key in kwargs)


def test_every_page_and_button_of_a_villager_says_another_villages_object_is_so(cast, table):
    """Found by a probe: a villager of village Y opening household A's wish to change or
    withdraw it, or its declaration's photo, or an announcement's photo or recording, was
    answered a bare 404. Every page and button a villager of X may use on an object of X
    answers a villager of Y that it is another village's, and what to do."""
    client = cast.client("villager_y")
    asked = []
    for request in table:
        if not request.url.startswith("/admin/") and _object_of_x(cast, request):
            if request.get["villager_a"] in ("200", "R"):
                asked.append((request, client.get(request.url), VILLAGER_WORDS))
            if request.post and request.post["villager_a"] in ("200", "R"):
                response = client.post(request.url, request.data)
                asked.append((request, response, VILLAGER_SENT_WORDS))
    assert len(asked) > 8
    wrong = [
        said
        for request, response, words in asked
        if (said := _not_said(response, _named(request), words))
    ]
    assert not wrong, "\n".join(wrong)


def test_an_overseer_looking_into_another_village_is_offered_the_objects_village(cast):
    client = cast.client("county_x")
    session = client.session
    session[COUNTY_VILLAGE_SESSION_KEY] = cast.village_z.pk  # looking into another village
    session.save()
    url = reverse("villagers:household_detail", args=[cast.household_a.pk])
    response = client.get(url)
    assert response.status_code == 404
    assert "This is another village's household" in main_text(response)
    pick = f'href="/registry/villages/?village={cast.village_x.pk}&amp;next=%2Fregistry%2F'
    assert pick in response.content.decode()
    assert cast.household_a.head_name not in response.content.decode()


def test_a_button_of_another_village_is_told_what_was_sent_in_chinese_too(cast):
    """Found by a probe: a button (a POST) of another village's object answered "the code
    or link you opened" (您扫的二维码或打开的链接), where nothing was opened: it says what
    was sent, and that nothing was done, in Chinese as in English."""
    buttons = {
        "manager_y": reverse(
            "store:reservation_hand_over", args=[cast.household_a.pk, cast.reservation.pk]
        ),
        "villager_y": reverse("wishwall:withdraw", args=[cast.wish.pk]),
    }
    said = {}
    for role, url in buttons.items():
        client = cast.client(role, headers={"Accept-Language": "zh-hans"})
        response = client.post(url, {"key": str(uuid.uuid4())})
        assert response.status_code == 404, role
        said[role] = main_text(response)
    sent = "您刚才提交的内容涉及其他村，所以没有办理"
    assert said["manager_y"].startswith(f"这户是其他村的 {sent}：只有那个村的工作人员能办。")
    assert said["villager_y"].startswith(f"这个心愿是其他村的 {sent}。有事请找本村的管理员。")
    assert not any("二维码" in words or "链接" in words for words in said.values())


def test_an_overseer_sending_a_button_of_another_village_is_told_what_was_sent(cast):
    """The same for a county admin or a township officer looking into another village than
    the object's, who is offered its village (no button of theirs meets one today: the
    handler is asked as a POST's 404 would ask it)."""
    request = RequestFactory().post("/store/", HTTP_ACCEPT_LANGUAGE="en")
    request.user, request.village = cast.users["county_x"], cast.village_z
    request.session = {}
    response = page_not_found(request, OtherVillageObject(Reservation, cast.village_x.pk))
    assert response.status_code == 404
    assert main_text(response) == (
        "This is another village's reservation What you sent concerns another village than "
        "the one you are looking into, so nothing was done. Look into its village Back to "
        "the start page"
    )


def test_another_villages_reservation_handed_over_at_a_households_counter_says_so(cast):
    """The hand-over's address names the household whose counter it is, and the reservation:
    at one of village Y's own counters, village X's reservation answered a bare 404."""
    url = reverse(
        "store:reservation_hand_over",
        kwargs={"household_pk": cast.household_y.pk, "pk": cast.reservation.pk},
    )
    response = cast.client("manager_y").post(url, {"key": str(uuid.uuid4())})
    assert not _not_said(response, url, STAFF_SENT_WORDS)
    assert "This is another village's reservation" in main_text(response)


def test_what_the_village_keeps_from_its_own_people_stays_a_bare_404(cast):
    """Only another village's object is told so: household A's declaration photo and its
    wish to change or withdraw are to villager B as if they did not exist, a withdrawn
    announcement's photo to a villager, and manager X's export to the village's supervisor
    and to the county admin, as before."""
    own = {
        "villager_b": [
            ("get", reverse("points:declaration_photo", args=[cast.declaration.pk])),
            ("get", reverse("wishwall:revise", args=[cast.wish.pk])),
            ("post", reverse("wishwall:revise", args=[cast.wish.pk])),
            ("post", reverse("wishwall:withdraw", args=[cast.wish.pk])),
        ],
        "villager_a": [
            ("get", reverse("notifications:announcement_photo", args=[cast.announcement.pk])),
            ("get", reverse("notifications:announcement_audio", args=[cast.announcement.pk])),
        ],
        "supervisor_x": [
            ("get", reverse("reports:export_status", args=[cast.export_job.pk])),
            ("get", reverse("reports:export_download", args=[cast.export_job.pk])),
        ],
        "county_x": [
            ("get", reverse("reports:export_status", args=[cast.export_job.pk])),
            ("get", reverse("reports:export_download", args=[cast.export_job.pk])),
        ],
    }
    announcement_withdraw(announcement=cast.announcement, actor=cast.users["manager_x"])
    wrong = []
    for role, asked in own.items():
        client = cast.client(role)
        for method, url in asked:
            response = getattr(client, method)(url)
            if response.status_code != 404 or main_text(response) != NOT_FOUND:
                wrong.append(f"{role} {method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_every_other_village_message_of_the_catalogue_says_it_one_way():
    """Found in review: the roster's messages added after the catalogue was made to say
    其他村 one way (a person registered in another village, a file naming or looking like
    another village's) said 别的村 again."""
    import polib
    from django.conf import settings

    catalogue = polib.pofile(str(settings.BASE_DIR / "locale/zh_Hans/LC_MESSAGES/django.po"))
    said = [
        entry.msgid
        for entry in catalogue.translated_entries()
        if "别的村" in entry.msgstr + "".join(entry.msgstr_plural.values())
    ]
    assert not said, said


def test_in_chinese_each_kind_is_said_in_plain_words_of_its_own(cast, table):
    """ "这是别的村的户" read stiffly: the kind's name was put into one sentence, whatever its
    measure word. Each kind met has its own heading (这户是其他村的, 这张积分卡是其他村的), and
    the page says 其他村 as every other-village message does, never 别的村."""
    client = cast.client("manager_y", headers={"Accept-Language": "zh-hans"})
    headings, wrong = set(), []
    for request in table:
        if request.get["manager_y"] != "404" or request.url.startswith(("/admin/", "/api/")):
            continue
        response = client.get(request.url)
        heading = re.search(r"<h1[^>]*>([^<]*)</h1>", response.content.decode()).group(1)
        headings.add(heading)
        said = main_text(response)
        if not heading.endswith("是其他村的") or heading.startswith("这是") or "别的村" in said:
            wrong.append(f"{request.key}: {said}")
    assert not wrong, "\n".join(wrong)
    assert {"这户是其他村的", "这张积分卡是其他村的", "这个活动是其他村的"} <= headings
    assert len(headings) > 12
