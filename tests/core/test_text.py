"""Lists in the reader's language: 、 between Chinese items, ", " between English ones, in
messages (core.text.list_join) and on pages (the list_join filter); typed text without the
invisible characters a paste brings (core.text.typed_text_clean, on every POST)."""

from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from core.text import clauses_join, list_join, typed_text_clean, typed_text_needs_cleaning
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
        {"title": "书包\u202e给孙子\x07", "kind": "study", "story": "上学用\x0b旧的坏了\u200b"},
    )
    assert response.status_code == 302
    wish = Wish.objects.get(household=villager_a.household)
    assert (wish.title, wish.story) == ("书包给孙子", "上学用\n旧的坏了")
