"""The villages a county admin or a township officer oversees, and their scope's key.

A county admin oversees every village of the county, a township officer those of the
township (core.access.oversees answers for one village). Pages over several villages (the
overview, the queue of items sent up, the audit log) and the village picker read them here.
"""

from dataclasses import dataclass

from django.db.models import QuerySet

from core.access import is_county_admin, is_township_officer
from villagers.models import Village


@dataclass(frozen=True)
class Oversight:
    """A county (`county_id`) or one of its townships (`township_id`)."""

    county_id: int | None = None
    township_id: int | None = None

    @property
    def key(self) -> str:
        """Tells scopes apart in cache keys (a county's is its id, as before townships)."""
        return f"t{self.township_id}" if self.township_id is not None else str(self.county_id)

    @property
    def is_township(self) -> bool:
        return self.township_id is not None

    def villages(self) -> QuerySet[Village]:
        if self.township_id is not None:
            return Village.objects.filter(township_id=self.township_id)
        return Village.objects.filter(township__county_id=self.county_id)


def oversight_of(user) -> Oversight | None:
    """The scope `user` oversees: the county's for a county admin, else the township's for a
    township officer; None for anyone else."""
    if is_county_admin(user) and user.county_id is not None:
        return Oversight(county_id=user.county_id)
    if is_township_officer(user) and user.township_id is not None:
        return Oversight(township_id=user.township_id)
    return None


def villages_overseen(user) -> QuerySet[Village]:
    """The villages `user` oversees (none for anyone who oversees none)."""
    oversight = oversight_of(user)
    return oversight.villages() if oversight is not None else Village.objects.none()
