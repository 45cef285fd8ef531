"""Where a form sends its reader back to: the `next` it was given, or the page it was on,
if that is safe."""

from urllib.parse import urlsplit

from django.utils.http import url_has_allowed_host_and_scheme


def local_next(request, value: str) -> str:
    """`value` if it is a path of this site ("/..."), else "".

    A path only: Django's check lets a bare word through as a relative URL, and redirect()
    then tries to reverse it as a view name (a 500 for `?next=home2`); a foreign or
    scheme-relative address ("//evil.example/") would leave the site.
    """
    local = value.startswith("/") and not value.startswith("//")
    if local and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def page_it_was_on(request, url: str) -> str:
    """The path and query of `url` (a Referer, htmx's current URL) when it is a page of this
    site, else "". The path is checked as a link of its own (`local_next`): a page of this
    site at `//elsewhere.example/` (or `/\\elsewhere.example/`) names another site when it
    is written as a link, as the CSRF page's way back is."""
    if not url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return ""
    parts = urlsplit(url)
    return local_next(request, parts.path + (f"?{parts.query}" if parts.query else ""))
