"""Another village's QR code or link: a 404 page saying what it is and what to do, naming
nothing of it (core.access.village_object_or_404, aidao.views.page_not_found)."""

import re

from django.urls import reverse

from villagers.middleware import COUNTY_VILLAGE_SESSION_KEY

# Files (photos, recordings) and the county's exports are not pages a code or link opens.
NOT_PAGES = ("photo", "audio", "export", "api")
STAFF_WORDS = (
    "This is another village's {what} The code or link you opened belongs to another "
    "village: only that village's staff can open it. Back to the start page"
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
    wrong = []
    for request in pages:
        response = client.get(request.url)
        said = main_text(response)
        what = said.removeprefix("This is another village's ").split(" The code")[0]
        if response.status_code != 404 or said != STAFF_WORDS.format(what=what) or not what:
            wrong.append(f"{request.key} {request.url}: {response.status_code} {said!r}")
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
