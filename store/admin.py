"""Back-office views of the store, scoped to the staff user's village. Writes go through the
store pages (services), so stock and redemptions are read-only here."""

from django.contrib import admin

from store.models import Donation, Donor, Item, Redemption, StockMovement, Zone
from villagers.admin import VillageScopedAdmin


class ReadOnlyAdmin(VillageScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Donor)
class DonorAdmin(VillageScopedAdmin):
    list_display = ["name", "kind", "village"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(Zone)
class ZoneAdmin(ReadOnlyAdmin):
    list_display = ["code", "village", "position"]


@admin.register(Item)
class ItemAdmin(ReadOnlyAdmin):
    list_display = ["name", "zone", "unit", "points_price", "stock", "is_active"]
    list_filter = ["zone__code", "is_active"]
    list_select_related = ["zone"]
    search_fields = ["name", "barcode"]


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "item", "kind", "quantity", "stock_after", "fund_source"]
    list_filter = ["kind", "fund_source"]
    list_select_related = ["item"]


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdmin):
    list_display = ["received_on", "donor", "kind", "value_yuan"]
    list_select_related = ["donor"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "household", "total_points", "voided_at"]
    list_select_related = ["household"]
