from django.urls import path

from villagers import views

app_name = "villagers"

urlpatterns = [
    path("me/", views.me, name="me"),
    path("villages/", views.village_pick, name="village_pick"),
    path("households/", views.household_list, name="household_list"),
]
