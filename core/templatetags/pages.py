"""The link to another page of a list: this request's query string with only `page` changed."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number) -> str:
    """'?<the current filters>&page=<number>', for templates/_pager.html."""
    query = context["request"].GET.copy()
    query["page"] = number
    return "?" + query.urlencode()
