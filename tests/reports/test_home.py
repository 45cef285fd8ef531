"""The start page sends each kind of user where their day begins."""

from django.urls import reverse


def test_each_role_lands_on_its_start_page(
    client_anon, client_villager_a, client_manager_x, client_supervisor_x, client_county, village_x
):
    home = reverse("home")
    assert client_anon.get(home).status_code == 200  # the card login (test_front_door.py)
    assert client_villager_a.get(home).url == reverse("points:me")
    assert client_manager_x.get(home).url == reverse("reports:dashboard")
    assert client_supervisor_x.get(home).url == reverse("reports:dashboard")
    assert client_county.get(home).url == reverse("reports:county_overview")
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    assert client_county.get(home).url == reverse("reports:dashboard")
