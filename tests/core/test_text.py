"""Lists in the reader's language: 、 between Chinese items, ", " between English ones, in
messages (core.text.list_join) and on pages (the list_join filter); typed text without the
invisible characters a paste brings (core.text.typed_text_clean, on every POST)."""

from types import SimpleNamespace

import pytest
from django.db import transaction
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from core.text import clauses_join, list_join, typed_text_clean, typed_text_needs_cleaning
from tests.conftest import form_key
from wishwall.models import Wish


def test_a_list_is_joined_as_the_readers_language_joins_it():
    with translation.override("zh-hans"):
        assert list_join(["院落整洁", "个人卫生"]) == "院落整洁、个人卫生"
    with translation.override("en"):
        assert list_join(["yard clean", "personal hygiene clean"]) == (
            "yard clean, personal hygiene clean"
        )
        assert list_join([]) == ""


def test_pages_join_lists_the_same_way():
    template = Template("{% load lists %}{{ names|list_join }}")
    with translation.override("zh-hans"):
        assert template.render(Context({"names": ["张三", "李四"]})) == "张三、李四"
    with translation.override("en"):
        assert template.render(Context({"names": ["张三", "李四"]})) == "张三, 李四"


def test_clauses_of_one_sentence_are_joined_as_the_readers_language_joins_them():
    with translation.override("zh-hans"):
        assert (
            clauses_join(["大米：剩 1，要 2", "面粉：剩 0，要 1"])
            == "大米：剩 1，要 2；面粉：剩 0，要 1"
        )
    with translation.override("en"):
        assert clauses_join(["rice: 1 left", "flour: 0 left"]) == "rice: 1 left; flour: 0 left"


def test_typed_text_loses_the_invisible_characters_and_keeps_the_rest():
    pasted = "帮\u202e邻居\x01修\u200b屋\ufeff\x0b第二行\x0c第三行\t完\r\n👨\u200d👩\u200d👧"
    assert typed_text_clean(pasted) == "帮邻居修屋\n第二行\n第三行\t完\r\n👨\u200d👩\u200d👧"
    assert typed_text_needs_cleaning(pasted)
    assert not typed_text_needs_cleaning("大米 10kg ×2\n（第二袋）\t¥12.50 👨\u200d👩\u200d👧")
    assert all(typed_text_needs_cleaning(chr(c)) for c in (0x1B, 0x7F, 0x85, 0x202D, 0x2066))


def test_every_form_stores_what_was_meant(client_villager_a, villager_a):
    """The middleware cleans every POST field before the view: a wish pasted with an
    override and a word processor's line break is stored as it reads."""
    response = client_villager_a.post(
        reverse("wishwall:new"),
        {
            "title": "书包\u202e给孙子\x07",
            "kind": "study",
            "story": "上学用\x0b旧的坏了\u200b",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    wish = Wish.objects.get(household=villager_a.household)
    assert (wish.title, wish.story) == ("书包给孙子", "上学用\n旧的坏了")


# Characters that show nothing on their own, each alone and with white space around it.
UNSHOWN = [
    "\u2060",  # word joiner
    "\u3164",  # Hangul filler
    "\u200d",  # zero-width joiner
    "\u200c",  # zero-width non-joiner
    "\u00ad",  # soft hyphen
    "\u2800",  # blank Braille pattern
    "\u180e",  # Mongolian vowel separator
    "\u115f\u1160",  # Hangul choseong and jungseong fillers
    "\ufe0f",  # variation selector 16, no emoji before it
    "\u034f",  # combining grapheme joiner
    "\uffa0",  # halfwidth Hangul filler
    "\U000e0041",  # a tag character
    " \u3000\u2060 \u200d\u200c ",
]


def _wish_title(cast, text):
    from wishwall.models import Wish

    response = cast.client_villager_a.post(
        reverse("wishwall:new"),
        {"title": text, "kind": "study", "story": "上学用", "idempotency_key": form_key()},
    )
    return response, Wish.objects.filter(household=cast.villager_a.household)


def _household_head(cast, text):
    from villagers.models import Household

    response = cast.client_manager_x.post(
        reverse("villagers:household_create"),
        {"number": "X100", "group": cast.group_x.pk, "head_name": text, "status": "active"},
    )
    return response, Household.objects.filter(number="X100")


def _card_recall_reason(cast, text):
    from villagers.models import Card

    response = cast.client_manager_x.post(
        reverse("villagers:card_recall", kwargs={"pk": cast.card_a.household_id}),
        {"reason": text, "idempotency_key": form_key()},
    )
    return response, Card.objects.filter(pk=cast.card_a.pk, status=Card.Status.RECALLED)


def _proposal_reason(cast, text):
    from points.models import Proposal, Rule

    rule = Rule.objects.create(
        village=cast.card_a.household.village,
        code="E01",
        category=Rule.Category.LIVING_ENVIRONMENT,
        description="yard clean",
        points=5,
    )
    response = cast.client_manager_x.post(
        reverse("points:proposal_new"),
        {
            "rule": rule.pk,
            "households": [cast.card_a.household_id],
            "reason": text,
            "occurred_on": timezone.localdate().isoformat(),
            "idempotency_key": form_key(),
        },
    )
    return response, Proposal.objects.all()


def _objection_reason(cast, text):
    from points.models import Objection, Rule
    from points.services import proposal_approve, proposal_create

    village = cast.card_a.household.village
    village.publicity_days = 3
    village.save()
    rule = Rule.objects.create(
        village=village,
        code="E01",
        category=Rule.Category.LIVING_ENVIRONMENT,
        description="yard clean",
        points=5,
    )
    (proposal,) = proposal_create(
        households=[cast.card_a.household],
        rule=rule,
        actor=cast.manager_x,
        village=village,
        reason="院内种花",
        occurred_on=timezone.localdate(),
    )
    proposal_approve(proposal_ids=[proposal.pk], actor=cast.supervisor_x)
    response = cast.client_villager_b.post(
        reverse("points:objection_new", args=[proposal.pk]), {"reason": text}
    )
    return response, Objection.objects.all()


FORMS = {
    "wish title": (_wish_title, "title"),
    "household head": (_household_head, "head_name"),
    "card recall reason": (_card_recall_reason, "reason"),
    "proposal reason": (_proposal_reason, "reason"),
    "objection reason": (_objection_reason, "reason"),
}


@pytest.fixture
def cast(request, db):
    """The people and things the forms above need, by their conftest names."""
    names = (
        "client_villager_a",
        "client_villager_b",
        "client_manager_x",
        "villager_a",
        "group_x",
        "card_a",
        "manager_x",
        "supervisor_x",
    )
    return SimpleNamespace(**{name: request.getfixturevalue(name) for name in names})


@pytest.mark.parametrize("form", FORMS)
def test_a_required_field_of_unshown_characters_is_refused(cast, form):
    """A wish titled with a word joiner stood blank on the public wall, a card was recalled
    for a blank reason: a value that shows nothing is empty, and a required field says so.
    Each text in a savepoint rolled back after it, on one cast for the form."""
    post, field = FORMS[form]
    wrong = []
    for text in UNSHOWN:
        shown = "+".join(f"{ord(c):04X}" for c in text)
        with transaction.atomic():
            response, saved = post(cast, text)
            if response.status_code != 200:
                wrong.append(f"{shown}: HTTP {response.status_code}")
            elif [e.code for e in response.context["form"].errors.as_data()[field]] != ["required"]:
                wrong.append(f"{shown}: {response.context['form'].errors.as_data()[field]}")
            if saved.exists():
                wrong.append(f"{shown}: saved")
            transaction.set_rollback(True)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "title", ["👨\u200d👩\u200d👧", "王\u200d", "\u2060书包", "❤\ufe0f", "e\u0301", "ㅤ王"]
)
def test_shown_text_keeps_its_joiners(client_villager_a, villager_a, title):
    """Emoji sequences need their joiners and selectors: only a value of nothing shown is
    emptied."""
    response = client_villager_a.post(
        reverse("wishwall:new"),
        {"title": title, "kind": "study", "story": "上学用", "idempotency_key": form_key()},
    )
    assert response.status_code == 302
    assert Wish.objects.get(household=villager_a.household).title == title
    assert typed_text_clean(title) == title


def test_a_password_is_never_emptied(manager_x):
    """Found by a second read: a password of spaces alone (Django's validators let one be
    set) was emptied with the rule above, and its holder could no longer sign in."""
    spaces = " " * 12
    manager_x.set_password(spaces)
    manager_x.save()
    client = Client()
    response = client.post(reverse("login"), {"username": manager_x.username, "password": spaces})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(manager_x.pk)
