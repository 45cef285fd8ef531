from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("read/", views.read, name="read"),
    path("sms/", views.sms_choice, name="sms_choice"),
    path("log/", views.log, name="log"),
    path("alerts/read/", views.staff_alerts_read_view, name="staff_alerts_read"),
]
