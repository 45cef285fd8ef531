from django.urls import path

from points import card_views

app_name = "points"

urlpatterns = [
    path("households/<int:pk>/card/issue/", card_views.card_issue_view, name="card_issue"),
]
