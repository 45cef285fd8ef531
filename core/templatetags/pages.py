"""The link to another page of a list: this request's query string with only `page` changed."""

from django import template
from django.http import QueryDict

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """'?<the current filters>&page=<number>', for templates/_pager.html. A page whose
    query string holds more than its filters (the approval queue's `reason`, asked once)
    gives the filters alone as `pager_place`."""
    place = context.get("pager_place")
    query = QueryDict(place, mutable=True) if place is not None else context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()


@register.simple_tag(takes_context=True)
def query_url(context, **changes) -> str:
    """'?<the current filters with `changes`>', back on the first page (a new order or search).

    A change to "" removes the parameter.
    """
    query = context["request"].GET.copy()
    query.pop("page", None)
    for name, value in changes.items():
        if value == "":
            query.pop(name, None)
        else:
            query[name] = value
    return "?" + query.urlencode()
