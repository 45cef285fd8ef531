from django.urls import path

from villagers import card_sheet_views, card_views, household_views, roster_views, views

app_name = "villagers"

urlpatterns = [
    path("me/", views.me, name="me"),
    path("me/pin/", card_views.pin_change_view, name="pin_change"),
    path("villages/", views.village_pick, name="village_pick"),
    path("households/", household_views.household_list, name="household_list"),
    path("households/new/", household_views.household_create, name="household_create"),
    path("households/<int:pk>/", household_views.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", household_views.household_edit, name="household_edit"),
    path("households/<int:pk>/members/new/", household_views.member_create, name="member_create"),
    path("members/<int:pk>/edit/", household_views.member_edit, name="member_edit"),
    path("members/<int:pk>/id/", household_views.member_view_id, name="member_view_id"),
    path("members/<int:pk>/leave/", household_views.member_leave_view, name="member_leave"),
    path("members/<int:pk>/return/", household_views.member_return_view, name="member_return"),
    path("members/<int:pk>/pin/", card_views.member_pin_view, name="member_pin"),
    path(
        "members/<int:pk>/pin/revoke/",
        card_views.member_pin_revoke_view,
        name="member_pin_revoke",
    ),
    path(
        "households/<int:pk>/inspections/new/",
        household_views.inspection_create,
        name="inspection_create",
    ),
    path(
        "households/<int:pk>/participations/new/",
        household_views.participation_create,
        name="participation_create",
    ),
    path("households/<int:pk>/card/replace/", card_views.card_replace_view, name="card_replace"),
    path("households/<int:pk>/card/recall/", card_views.card_recall_view, name="card_recall"),
    path("households/<int:pk>/card/pin/", card_views.pin_reset_view, name="pin_reset"),
    path("cards/<int:pk>/print/", card_views.card_print, name="card_print"),
    path("cards/sheet/", card_sheet_views.card_sheet_choose, name="card_sheet_choose"),
    path("cards/sheet/print/", card_sheet_views.card_sheet, name="card_sheet"),
    path("cards/sheet/printed/", card_sheet_views.card_sheet_printed, name="card_sheet_printed"),
    path("roster/", roster_views.roster_upload, name="roster_upload"),
    path("roster/preview/", roster_views.roster_preview, name="roster_preview"),
    path("roster/confirm/", roster_views.roster_confirm, name="roster_confirm"),
    path("roster/cancel/", roster_views.roster_cancel, name="roster_cancel"),
    path("roster/template.xlsx", roster_views.roster_template, name="roster_template"),
]
