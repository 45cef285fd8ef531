from django.urls import path

from reports import (
    audit_log,
    county,
    county_queue,
    dashboard,
    exports,
    households,
    monthly,
    views,
)
from reports.transparency import (
    board,
    board_display,
    cover,
    donation_correct_view,
    donation_thanks_page,
    donation_thanks_revoke,
    donations_traced_list,
)

app_name = "reports"

urlpatterns = [
    path("notice/", views.notice, name="notice"),
    path("notice/<int:year>/<int:month>/", views.notice, name="notice_month"),
    path("notice/<int:year>/<int:month>/xlsx/", views.notice_xlsx, name="notice_xlsx"),
    path("households/", households.household_list, name="household_list"),
    path("households/<int:pk>/", households.household_hub, name="household"),
    path(
        "notice/<int:year>/<int:month>/publish/", views.notice_publish_view, name="notice_publish"
    ),
    path(
        "notice/<int:year>/<int:month>/countersign/",
        views.notice_countersign_view,
        name="notice_countersign",
    ),
    path("notice/<str:code>/<int:year>/<int:month>/", views.notice_public, name="notice_public"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/visits/", dashboard.visit_list, name="visit_list"),
    path("reports/month/", monthly.month_report, name="month_report_current"),
    path("reports/month/<int:year>/<int:month>/", monthly.month_report, name="month_report"),
    path(
        "reports/month/<int:year>/<int:month>/xlsx/",
        monthly.month_report_xlsx,
        name="month_report_xlsx",
    ),
    path("reports/year/<int:year>/", monthly.year_report, name="year_report"),
    path("reports/year/<int:year>/xlsx/", monthly.year_report_xlsx, name="year_report_xlsx"),
    path("county/", county.county_overview, name="county_overview"),
    path("county/xlsx/", county.county_export, name="county_export"),
    path("exports/<int:pk>/", exports.export_status, name="export_status"),
    path("exports/<int:pk>/download/", exports.export_download, name="export_download"),
    path("board/", board, name="board"),
    path("board/<int:year>/<int:month>/", board, name="board_month"),
    path("board/<int:year>/<int:month>/tv/", board_display, name="board_display"),
    path("cover/", cover, name="cover"),
    path("donations/", donations_traced_list, name="donations_traced"),
    path(
        "donations/<int:pk>/thanks/revoke/",
        donation_thanks_revoke,
        name="donation_thanks_revoke",
    ),
    path("donations/<int:pk>/correct/", donation_correct_view, name="donation_correct"),
    path("thanks/<str:token>/", donation_thanks_page, name="donation_thanks"),
    path("audit/", audit_log.audit_log, name="audit"),
    path("county/queue/", county_queue.county_queue, name="county_queue"),
    path("county/queue/decide/", county_queue.county_queue_decide, name="county_queue_decide"),
    path("referrals/", county_queue.village_referrals, name="village_referrals"),
]
