"""Who may see which store object: every view fetches through these helpers."""

from django.shortcuts import get_object_or_404

from core.access import Role, is_villager
from store.models import Item
from store.selectors import redemptions_of

STAFF = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)


def _get_item_for_user(request, pk: int) -> Item:
    """An item of the request's village (another village's item is a 404)."""
    return get_object_or_404(Item.objects.select_related("zone"), pk=pk, village=request.village)


def _get_redemption_for_user(request, pk: int | None = None, *, entry_pk: int | None = None):
    """Staff see their village's redemptions; a villager only their own household's.

    Found by its id, or by the ledger entry that debited it (`entry_pk`).
    """
    redemptions = redemptions_of(request.village)
    if is_villager(request.user):
        redemptions = redemptions.filter(household_id=request.user.household_id)
    if entry_pk is not None:
        return get_object_or_404(redemptions, entry_id=entry_pk)
    return get_object_or_404(redemptions, pk=pk)
