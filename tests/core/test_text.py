"""Lists in the reader's language: 、 between Chinese items, ", " between English ones, in
messages (core.text.list_join) and on pages (the list_join filter)."""

from django.template import Context, Template
from django.utils import translation

from core.text import clauses_join, list_join


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
