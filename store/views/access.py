"""Who may see which store object: every view fetches through these helpers."""

from core.access import Role, is_villager, village_object_or_404
from store.models import Item
from store.selectors import redemptions_of

STAFF = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)


def _get_item_for_user(request, pk: int) -> Item:
    """An item of the request's village (another village's item is a 404 saying so)."""
    items = Item.objects.filter(village=request.village).select_related("zone")
    return village_object_or_404(items, request.village, pk=pk)


def _get_redemption_for_user(request, pk: int | None = None, *, entry_pk: int | None = None):
    """Staff see their village's redemptions; a villager only their own household's.

    Found by its id, or by the ledger entry that debited it (`entry_pk`).
    """
    redemptions = redemptions_of(request.village)
    if is_villager(request.user):
        redemptions = redemptions.filter(household_id=request.user.household_id)
    if entry_pk is not None:
        return village_object_or_404(redemptions, request.village, entry_id=entry_pk)
    return village_object_or_404(redemptions, request.village, pk=pk)
