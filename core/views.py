"""Error pages shared by every app."""

from django.shortcuts import render


def bad_request(request, exception=None):
    """The app's own 400 page, rendered without reading the request's body.

    Django's default 400 view reads the body again for its CSRF token: a body that could not
    be read the first time (a foreign charset) made its 400 a 500.
    """
    return render(request, "400.html", status=400)
