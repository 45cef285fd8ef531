"""Read-only admin for wishes: every change goes through the services (and their audit)."""

from django.contrib import admin

from core import admin as core_admin
from villagers.admin import VillageScopedReadOnlyAdmin
from wishwall.models import Wish, WishFulfilment, WishMatch, WishRevision


class WishRevisionInline(core_admin.TabularInline):
    model = WishRevision
    extra = 0
    can_delete = False
    fields = ["edited_at", "edited_by", "field", "old_text", "new_text", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Wish)
class WishAdmin(VillageScopedReadOnlyAdmin):
    list_display = ["title", "household", "kind", "status", "approved_at", "created_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["household"]
    search_fields = ["title", "household__head_name"]
    inlines = [WishRevisionInline]


@admin.register(WishMatch)
class WishMatchAdmin(VillageScopedReadOnlyAdmin):
    village_path = "wish__village"
    list_display = ["wish", "donor", "matched_by", "matched_at"]
    list_select_related = ["wish", "donor", "matched_by"]


@admin.register(WishFulfilment)
class WishFulfilmentAdmin(VillageScopedReadOnlyAdmin):
    village_path = "wish__village"
    list_display = ["wish", "date", "given", "recorded_by"]
    list_select_related = ["wish", "recorded_by"]
