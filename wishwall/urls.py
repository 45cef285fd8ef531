from django.urls import path

from wishwall import views, wall_views

app_name = "wishwall"

urlpatterns = [
    path("", wall_views.wall, name="wall"),
    path("echo/", wall_views.echo, name="echo"),
    path("display/", wall_views.display, name="display"),
    path("mine/", views.wish_mine, name="mine"),
    path("new/", views.wish_new, name="new"),
    path("queue/", views.wish_queue, name="queue"),
    path("<int:pk>/", views.wish_detail, name="detail"),
    path("<int:pk>/photo/", views.wish_photo, name="photo"),
    path("<int:pk>/fulfilment-photo/", views.fulfilment_photo, name="fulfilment_photo"),
    path("<int:pk>/approve/", views.wish_approve, name="approve"),
    path("<int:pk>/edit/", views.wish_edit, name="edit"),
    path("<int:pk>/change/", views.wish_revise, name="revise"),
    path("<int:pk>/withdraw/", views.wish_withdraw, name="withdraw"),
    path("<int:pk>/decline/", views.wish_decline, name="decline"),
    path("<int:pk>/match/", views.wish_match, name="match"),
    path("<int:pk>/fulfil/", views.wish_fulfil, name="fulfil"),
]
