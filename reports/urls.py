from django.urls import path

from reports import audit, views

app_name = "reports"

urlpatterns = [
    path("notice/", views.notice, name="notice"),
    path("notice/<int:year>/<int:month>/", views.notice, name="notice_month"),
    path("notice/<int:year>/<int:month>/xlsx/", views.notice_xlsx, name="notice_xlsx"),
    path("audit/", audit.audit_log, name="audit"),
]
