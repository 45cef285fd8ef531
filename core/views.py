"""Error pages shared by every app."""

from django.shortcuts import render

from core.redirects import page_it_was_on


def bad_request(request, exception=None):
    """The app's own 400 page, rendered without reading the request's body.

    Django's default 400 view reads the body again for its CSRF token: a body that could not
    be read the first time (a foreign charset) made its 400 a 500.
    """
    return render(request, "400.html", status=400)


def csrf_failure(request, reason=""):
    """A form refused by the CSRF check, in plain words, with a way back to its page.

    It happens to a page left open overnight, or after signing in again elsewhere (which
    changes the token). Nothing was saved; the page is marked (templates/_sent_lost.html) so
    that static/js/send-once.js puts what was typed back in the form. Its page is the
    Referer, when that is a page of this site (a forged form from elsewhere gets no link).
    """
    back = page_it_was_on(request, request.headers.get("Referer", ""))
    return render(request, "403_csrf.html", {"back": back}, status=403)
