"""Words that join other words, translated (zh: "大米、面粉", en: "rice, flour")."""

from collections.abc import Iterable

from django.utils.translation import pgettext


def list_join(items: Iterable) -> str:
    """`items` as one list in the reader's language: joined with 、 in Chinese, ", " in
    English."""
    return pgettext("between the items of a list", ", ").join(str(item) for item in items)


def clauses_join(clauses: Iterable) -> str:
    """Clauses of one sentence: joined with ； in Chinese, "; " in English."""
    return pgettext("between the clauses of a sentence", "; ").join(str(c) for c in clauses)
