"""The back office's lists take only the filters they offer (core.admin.OfferedFiltersOnlyMixin).

Django lets a list's address filter on any of the model's own fields, shown or not: the count
of rows answered whether a guessed ID number or phone was right, and `__startswith` read a
whole masked number a character at a time; lookups the database cannot run were a 500.
"""

import re

from django.contrib import admin
from django.db import transaction
from django.urls import reverse

from core.admin import OfferedFiltersOnlyMixin, ReadableAutocompleteMixin
from tests.security.conftest import HOUSEHOLD_PHONE
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

MEMBERS = "admin:villagers_member_changelist"


def test_a_hidden_field_is_no_filter(cast):
    """Refused to every role that sees the list, the manager who may read a whole ID
    number on the app's audited page included."""
    queries = [
        f"id_number={SECRET_ID}",
        f"id_number__startswith={SECRET_ID[:6]}",
        f"phone={SECRET_PHONE}",
        f"phone__contains={SECRET_PHONE[-4:]}",
        "birth_year__range=1",
    ]
    for role in ("manager_x", "supervisor_x", "county"):
        client = cast.client(role)
        for query in queries:
            assert client.get(f"{reverse(MEMBERS)}?{query}").status_code == 400, (role, query)


def test_a_households_phone_is_no_filter(cast):
    url = reverse("admin:villagers_household_changelist")
    assert cast.client("supervisor_x").get(f"{url}?phone={HOUSEHOLD_PHONE}").status_code == 400


def test_a_logins_password_hash_is_no_filter(cast):
    villager = cast.users["villager_a"]
    url = reverse("admin:villagers_user_changelist")
    query = f"pk={villager.pk}&password__startswith={villager.password[:10]}"
    assert cast.client("county").get(f"{url}?{query}").status_code == 400


def test_a_lookup_the_database_cannot_run_is_refused_not_a_500(cast):
    client = cast.client("supervisor_x")
    for url in (
        "/admin/points/entry/?memo__regex=(",
        "/admin/points/entry/?created_at__year=99999",
        "/admin/store/item/?id__regex=(",
    ):
        assert client.get(url).status_code == 400, url


def test_every_filter_a_list_offers_still_works(cast):
    """Each filter link on each list (the right-hand panel), followed as the county admin and
    as the manager: a 200 whose rows are filtered, not the error redirect (?e=1)."""
    followed = 0
    for role in ("county", "manager_x"):
        client = cast.client(role)
        for model in admin.site._registry:
            opts = model._meta
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
            page = client.get(url)
            if page.status_code != 200:
                continue  # not this role's (the permission matrix says which)
            choices = {
                link.replace("&amp;", "&")
                for link in re.findall(r'href="(\?[^"]+)"', page.content.decode())
                if not link.startswith(("?o=", "?p=", "?q=", "?_facets", "?e="))
            }
            for query in choices:
                response = client.get(url + query)
                assert response.status_code == 200, (role, url + query)
                assert "e=1" not in response.get("Location", ""), (role, url + query)
                followed += 1
    assert followed > 20  # the lists' filters were really read


def test_the_superusers_lists_too(django_user_model, client):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    for url in ("/admin/auth/group/?name__regex=(", "/admin/axes/accessattempt/?username__regex=("):
        assert client.get(url).status_code == 400, url
    assert client.get("/admin/axes/accessattempt/?locked_out=yes").status_code == 200
    # Its date links (the list's date_hierarchy), found by a second read.
    query = "attempt_time__year=2026&attempt_time__month=12&attempt_time__day=6"
    assert client.get(f"/admin/axes/accessattempt/?{query}").status_code == 200


def test_every_list_of_the_back_office_takes_only_what_it_offers():
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, OfferedFiltersOnlyMixin), model
        assert isinstance(model_admin, ReadableAutocompleteMixin), model


def test_a_row_field_given_no_id_is_no_500(cast):
    """Found by the outside sweep: `/admin/villagers/user/add/?household='` was a 500, and
    so was the staff form sent with it (drawn again with the refusal): the searched
    household's widget looked the value up as an id. Every add and change page the county
    admin opens, with every row field of its model given values that are no id, in the
    address and sent: the page, the form refusing what it cannot read."""
    client = cast.client("county")
    pages = 0
    for model in admin.site._registry:
        opts = model._meta
        names = [
            f.name for f in opts.get_fields() if f.concrete and (f.many_to_one or f.many_to_many)
        ]
        some = model.objects.order_by("pk").first()
        urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_add")]
        if some is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[some.pk]))
        for url in urls:
            page = client.get(url)
            if page.status_code != 200 or not names:
                continue  # not the county admin's (the permission matrix says whose)
            for bad in ("'", "x,'", "長" * 300):
                given = dict.fromkeys(names, bad)
                assert client.get(url, given).status_code == 200, (url, bad)
                if not page.context["has_editable_inline_admin_formsets"] and not (
                    page.context["has_add_permission"]
                    if page.context["add"]
                    else page.context["has_change_permission"]
                ):
                    continue  # shown only: nothing to send
                with transaction.atomic():
                    sent = client.post(url, given)
                    transaction.set_rollback(True)
                assert sent.status_code == 200 and sent.context["errors"], (url, bad)
            pages += 1
    assert pages >= 4  # staff accounts, villages, groups: add and change
    # A real id is still taken, and drawn as chosen.
    url = reverse("admin:villagers_user_add")
    response = client.get(url, {"household": cast.household_a.pk})
    assert response.context["adminform"].form.initial["household"] == str(cast.household_a.pk)
    assert f'<option value="{cast.household_a.pk}" selected>' in response.content.decode()


def test_a_date_link_past_the_calendar_is_refused_not_a_500(django_user_model, client):
    """`?attempt_time__year=9999` was a 500 on django-axes' lists: Django computes the
    link's range in Python, and a year after 9999 is past datetime's last. Every list with
    a date_hierarchy refuses a year past 9998, or a part that is not a month's or day's
    number, as it refuses any filter it does not offer."""
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    dated = [
        (model, model_admin.date_hierarchy)
        for model, model_admin in admin.site._registry.items()
        if model_admin.date_hierarchy
    ]
    assert {model._meta.label for model, _ in dated} >= {"axes.AccessAttempt", "axes.AccessLog"}
    refused = [
        "year=9999",
        "year=9999&{f}__month=12",
        "year=9999&{f}__month=12&{f}__day=31",
        "year=0",
        "year=99999",
        "year=-1",
        "year=%2B2026",
        "year=2026&{f}__month=13",
        "year=2026&{f}__month=x",
        "year=2026&{f}__month=12&{f}__day=32",
        "year=2026&{f}__month=12&{f}__day=%EF%BC%91",  # a full-width digit
        "year=2026&{f}__day=%201",
    ]
    allowed = ["year=1", "year=9998", "year=9998&{f}__month=12&{f}__day=31", "year=2026"]
    for model, field in dated:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for query in refused:
            query = f"{field}__{query}".format(f=field)
            assert client.get(f"{url}?{query}").status_code == 400, (url, query)
        for query in allowed:
            query = f"{field}__{query}".format(f=field)
            assert client.get(f"{url}?{query}").status_code == 200, (url, query)
