from django import template

from core.text import list_join

register = template.Library()


@register.filter(name="list_join")
def list_join_filter(items) -> str:
    """`{{ names|list_join }}`: the items joined as the reader's language does (core.text)."""
    return list_join(items)
