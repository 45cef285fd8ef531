"""Who may see which store object: every view fetches through these helpers."""

from django.db import connection
from django.http import Http404
from django.shortcuts import get_object_or_404

from aidao.db import is_row_id
from aidao.rows import Joined, columns_of, execute_prepared, instances_from
from store.models import Item
from store.selectors import redemptions_of
from villagers.models import Household, VillageGroup
from villagers.roles import Role, is_villager

STAFF = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)


def _get_item_for_user(request, pk: int) -> Item:
    """An item of the request's village (another village's item is a 404)."""
    return get_object_or_404(Item.objects.select_related("zone"), pk=pk, village=request.village)


_HOUSEHOLD = [Joined(Household, "h"), Joined(VillageGroup, "g", "h", "group")]
# The counter reads its household on every scan and click: plain SQL, as the ORM took
# longer to compile this than PostgreSQL to answer it, and prepared.
HOUSEHOLD_SQL = f"""
    SELECT {columns_of(_HOUSEHOLD)}
    FROM villagers_household h JOIN villagers_villagegroup g ON g.id = h.group_id
    WHERE h.id = %(household)s AND h.village_id = %(village)s
"""  # noqa: S608 (column names from the models, values as parameters)


def _get_household_for_user(request, pk: int) -> Household:
    """A household of the request's village, with its group (another village's is a 404)."""
    if not is_row_id(pk):  # no such household, and an error as a prepared parameter
        raise Http404
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "aidao_counter_household",
            HOUSEHOLD_SQL,
            {"household": pk, "village": request.village.pk},
        )
        row = cursor.fetchone()
    if row is None:
        raise Http404
    return instances_from(row, _HOUSEHOLD)["h"]


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
