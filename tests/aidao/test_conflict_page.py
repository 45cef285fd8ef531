"""A request PostgreSQL aborts as a deadlock or a serialization failure (two people changing
the same rows at the same moment) answers the 409 page, with nothing of it saved: not a 500.

The error is PostgreSQL's own, raised with its code by the database in a view of this
module's URLs (pytest-django's `urls` marker), after the view wrote a row.
"""

import pytest
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from aidao.views import server_error
from villagers.models import County


def aborted(code):
    def view(request):
        with transaction.atomic():
            County.objects.create(name="写了一半")
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DO $$ BEGIN RAISE EXCEPTION 'aborted' USING ERRCODE = '{code}'; END $$"
                )
        return HttpResponse("not reached")

    return view


urlpatterns = [
    path("deadlock/", aborted("40P01")),
    path("serialization/", aborted("40001")),
    path("other/", aborted("23514")),  # a check constraint: a bug, the plain 500 page
]
handler500 = server_error


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/deadlock/", "/serialization/"])
def test_a_deadlock_or_serialization_failure_is_the_409_page(db, url):
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == 409
    assert "有人在同一时刻修改了同一内容" in response.text  # the default language
    assert "您刚才提交的内容都没有保存" in response.text
    assert not County.objects.filter(name="写了一半").exists()


@pytest.mark.urls(__name__)
def test_any_other_refusal_of_the_database_stays_a_500(db):
    response = Client(raise_request_exception=False).get("/other/")
    assert response.status_code == 500
