from django.urls import path

from reports import views
from reports.transparency import (
    board,
    board_display,
    cover,
    donation_thanks_page,
    donations_traced_list,
)

app_name = "reports"

urlpatterns = [
    path("notice/", views.notice, name="notice"),
    path("notice/<int:year>/<int:month>/", views.notice, name="notice_month"),
    path("notice/<int:year>/<int:month>/xlsx/", views.notice_xlsx, name="notice_xlsx"),
    path("board/", board, name="board"),
    path("board/<int:year>/<int:month>/", board, name="board_month"),
    path("board/<int:year>/<int:month>/tv/", board_display, name="board_display"),
    path("cover/", cover, name="cover"),
    path("donations/", donations_traced_list, name="donations_traced"),
    path("thanks/<str:token>/", donation_thanks_page, name="donation_thanks"),
]
