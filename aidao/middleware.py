"""Request hygiene shared by every app."""

from django.http import HttpResponseBadRequest


def _has_nul(query_dict) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in query_dict.lists()
    )


class RefuseNulBytesMiddleware:
    """Answer 400 to any GET or POST field holding a NUL byte.

    PostgreSQL cannot store or compare text with NUL ("A string literal cannot contain
    NUL"), so such a value would reach the database only to fail there as a 500. No form
    of this app has a use for it; refusing it here covers every view, forms or not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return HttpResponseBadRequest("Bad request: a field holds a NUL character.")
        return self.get_response(request)
