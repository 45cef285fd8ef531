"""Every form or button sent after the sign-in ended lands on the login saying nothing was
saved (core.access, SENT_LOST), whichever way the view asks for a sign-in.

Found by the probe: the village pick (Django's plain login_required) sent a county admin's
choice, made after the sign-in had ended, to the login without a word.
"""

import re

from django.test import Client

from tests.security.matrix import outcome

SIGNED_OUT = "You were no longer signed in, so what you sent was not saved."
NOTHING_TO_SAVE = ("logout",)  # signing out, already signed out: nothing sent to keep


def test_every_post_sent_signed_out_says_on_the_login_that_nothing_was_saved(cast, table):
    posts = [
        request
        for request in table
        if request.post
        and request.post["anon"] == "L"
        and request.key not in NOTHING_TO_SAVE
        and not request.url.startswith("/admin/")
    ]
    assert len(posts) > 60
    wrong = []
    for request in posts:
        client = Client(headers={"Accept-Language": "en"})
        page = f"http://testserver{request.url}"
        answer = client.post(request.url, request.data, headers={"Referer": page})
        login = client.get(answer.url) if outcome(answer) == "L" else None
        said = login is not None and re.search(
            r"data-sent-lost[^>]*>" + re.escape(SIGNED_OUT), login.content.decode()
        )
        if not said:
            wrong.append(f"{request.key} {request.url}: {outcome(answer)}")
    assert not wrong, "\n".join(wrong)
