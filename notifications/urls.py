from django.urls import path

from notifications import announcement_views, views

app_name = "notifications"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("read/", views.read, name="read"),
    path("sms/", views.sms_choice, name="sms_choice"),
    path("log/", views.log, name="log"),
    path("alerts/read/", views.staff_alerts_read_view, name="staff_alerts_read"),
    path("announcements/", announcement_views.announcements, name="announcements"),
    path("announcements/new/", announcement_views.announcement_new, name="announcement_new"),
    path(
        "announcements/<int:pk>/withdraw/",
        announcement_views.announcement_withdraw_view,
        name="announcement_withdraw",
    ),
    path(
        "announcements/<int:pk>/photo/",
        announcement_views.announcement_photo,
        name="announcement_photo",
    ),
    path(
        "announcements/<int:pk>/audio/",
        announcement_views.announcement_audio,
        name="announcement_audio",
    ),
]
