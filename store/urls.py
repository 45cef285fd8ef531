from django.urls import path

from store.views import counter, pages, reservations, stock, stocktake

app_name = "store"

urlpatterns = [
    path("", pages.catalogue, name="catalogue"),
    path("mine/", pages.my_redemptions, name="my_redemptions"),
    path("counter/", counter.counter, name="counter"),
    path("counter/<int:household_pk>/", counter.counter_household, name="counter_household"),
    path("counter/<int:household_pk>/cart/", counter.counter_cart, name="counter_cart"),
    path("counter/<int:household_pk>/confirm/", counter.counter_confirm, name="counter_confirm"),
    path(
        "counter/<int:household_pk>/reservations/<int:pk>/hand-over/",
        reservations.reservation_hand_over_view,
        name="reservation_hand_over",
    ),
    path("reserve/", reservations.reserve, name="reserve"),
    path("reservations/", reservations.pick_list_view, name="pick_list"),
    path("reservations/mine/", reservations.my_reservations, name="my_reservations"),
    path(
        "reservations/<int:pk>/cancel/",
        reservations.reservation_cancel_view,
        name="reservation_cancel",
    ),
    path("redemptions/", counter.redemption_list, name="redemption_list"),
    path("redemptions/<int:pk>/", counter.receipt, name="receipt"),
    path("redemptions/<int:pk>/void/", counter.redemption_void_view, name="redemption_void"),
    path(
        "redemptions/<int:pk>/void/ask/",
        counter.redemption_void_ask_view,
        name="redemption_void_ask",
    ),
    path("redemptions/of-entry/<int:entry_pk>/", counter.receipt_of_entry, name="receipt_of_entry"),
    path("stock/", stock.stock_list, name="stock_list"),
    path("stock/zones/", stock.zones_setup, name="zones_setup"),
    path("stock/in/", stock.stock_in, name="stock_in"),
    path("stock/take/", stocktake.stock_take_sheet, name="stock_take_sheet"),
    path("stock/corrections/", stocktake.corrections, name="corrections"),
    path("stock/corrections/decide/", stocktake.corrections_decide, name="corrections_decide"),
    path("items/new/", stock.item_edit, name="item_create"),
    path("items/<int:pk>/", stock.item_detail, name="item_detail"),
    path("items/<int:pk>/edit/", stock.item_edit, name="item_edit"),
    path("items/<int:pk>/stock-take/", stock.item_stock_take, name="item_stock_take"),
    path("items/<int:pk>/write-off/", stock.item_write_off, name="item_write_off"),
    path("donations/", stock.donation_list, name="donation_list"),
    path("donations/new/", stock.donation_create, name="donation_create"),
    path("summary/day/", pages.summary_day, name="summary_day"),
    path("summary/month/", pages.summary_month, name="summary_month"),
]
