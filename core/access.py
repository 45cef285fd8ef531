"""Roles and village scoping: who the user is and which village's data they may see.

Every view finds its objects through these helpers so access is decided in one place.
"""

from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


class Role:
    MANAGER = "Manager"
    SUPERVISOR = "Supervisor"
    COUNTY_ADMIN = "County admin"
    # Oversees the villages of one township: compares them, reads their notices and audit
    # logs, and decides what they send up (DESIGN.md ledger rule 8).
    TOWNSHIP_OFFICER = "Township officer"
    # The village party secretary heading the leading group (组长): countersigns the
    # published notice and reads the dashboard.
    PARTY_SECRETARY = "Party secretary"
    ALL = (MANAGER, SUPERVISOR, COUNTY_ADMIN, TOWNSHIP_OFFICER, PARTY_SECRETARY)


def user_roles(user) -> frozenset[str]:
    """The user's role group names: read with the session's user (villagers.auth.session_user
    annotates `role_names`), else asked for once and kept on the user for the request."""
    if not user.is_authenticated:
        return frozenset()
    names = getattr(user, "role_names", None)
    if names is None:
        names = list(user.groups.filter(name__in=Role.ALL).values_list("name", flat=True))
        user.role_names = names
    return frozenset(names)


def is_manager(user) -> bool:
    return user.is_staff and Role.MANAGER in user_roles(user)


def is_supervisor(user) -> bool:
    return user.is_staff and Role.SUPERVISOR in user_roles(user)


def is_county_admin(user) -> bool:
    return user.is_staff and Role.COUNTY_ADMIN in user_roles(user)


def is_township_officer(user) -> bool:
    return user.is_staff and Role.TOWNSHIP_OFFICER in user_roles(user)


def is_party_secretary(user) -> bool:
    return user.is_staff and Role.PARTY_SECRETARY in user_roles(user)


def is_overseer(user) -> bool:
    """A county admin of a county, or a township officer of a township: they look into the
    villages they oversee (one at a time, read-only) and decide what those send up."""
    return (is_county_admin(user) and user.county_id is not None) or (
        is_township_officer(user) and user.township_id is not None
    )


def oversees(user, village) -> bool:
    """Whether `user` oversees `village`: its county's admin, or its township's officer."""
    if (
        is_county_admin(user)
        and user.county_id is not None
        and user.county_id == village.township.county_id
    ):
        return True
    return (
        is_township_officer(user)
        and user.township_id is not None
        and user.township_id == village.township_id
    )


def is_villager(user) -> bool:
    """A household's own login (card number + PIN)."""
    return (
        user.is_authenticated
        and not user.is_staff
        and user.household_id is not None
        and user.village_id is not None
    )


def access_required(
    *,
    roles: tuple[str, ...] = (),
    villager: bool = False,
    county: bool = False,
    township: bool = False,
):
    """The one access decorator: who may open a view, decided before it runs.

    - `roles`: staff holding one of them, working in a village (request.village, set by
      villagers.middleware); a county admin or township officer listed here must first pick
      a village.
    - `villager`: a household's own login (its village is its own).
    - `county`: a county admin of a county, on a county-wide page (no village to pick).
    - `township`: a township officer of a township, on a page over its villages (the same).

    Anonymous users go to the login page (the card login where villagers may enter, the
    staff login elsewhere); anyone else not allowed gets 403.
    """
    login_url = settings.CARD_LOGIN_URL if villager else None

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), login_url)
            if villager and is_villager(user):
                return view(request, *args, **kwargs)
            if county and is_county_admin(user) and user.county_id is not None:
                return view(request, *args, **kwargs)
            if township and is_township_officer(user) and user.township_id is not None:
                return view(request, *args, **kwargs)
            held = user_roles(user) & set(roles)
            if user.is_staff and held:
                if request.village is not None:
                    return view(request, *args, **kwargs)
                if held & {Role.COUNTY_ADMIN, Role.TOWNSHIP_OFFICER} and is_overseer(user):
                    return redirect("villagers:village_pick")
            raise PermissionDenied

        return wrapper

    return decorator


def staff_required(*roles: str):
    """Staff holding one of `roles` in a village; the county admin only reads, once in one."""
    return access_required(roles=roles)


# A household's villager login only.
villager_required = access_required(villager=True)

# Anyone who belongs to the request's village: its villagers and staff (the public pages).
member_of_village_required = access_required(roles=Role.ALL, villager=True)

# A county administrator with a county; no village needs to be picked.
county_admin_required = access_required(county=True)

# A county admin or a township officer, over the villages they oversee (no village picked).
overseer_required = access_required(county=True, township=True)
