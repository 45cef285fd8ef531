"""Back-office views of the store, scoped to the staff user's village. Writes go through the
store pages (services), so stock and redemptions are read-only here."""

from django.contrib import admin

from core import admin as core_admin
from store.models import Donation, Donor, Item, Redemption, StockMovement, Zone
from villagers.admin import VillageScopedAdmin, VillageScopedReadOnlyAdmin


@admin.register(Donor)
class DonorAdmin(core_admin.AuditedMixin, VillageScopedAdmin):
    audit_name = "donor"
    list_display = ["name", "kind", "village"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(Zone)
class ZoneAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["code", "village", "position"]


@admin.register(Item)
class ItemAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["name", "zone", "unit", "points_price", "stock", "is_active"]
    list_filter = ["zone__code", "is_active"]
    list_select_related = ["zone"]
    search_fields = ["name", "barcode"]


@admin.register(StockMovement)
class StockMovementAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["created_at", "item", "kind", "quantity", "stock_after", "fund_source"]
    list_filter = ["kind", "fund_source"]
    list_select_related = ["item"]


@admin.register(Donation)
class DonationAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["received_on", "donor", "kind", "value_yuan"]
    list_select_related = ["donor"]


@admin.register(Redemption)
class RedemptionAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["created_at", "household", "total_points", "voided_at"]
    list_select_related = ["household"]
