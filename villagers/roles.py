"""Roles and village scoping: who the user is and which village's data they may see.

Every view finds its objects through these helpers so access is decided in one place.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect


class Role:
    MANAGER = "Manager"
    SUPERVISOR = "Supervisor"
    COUNTY_ADMIN = "County admin"
    ALL = (MANAGER, SUPERVISOR, COUNTY_ADMIN)


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


def is_villager(user) -> bool:
    """A household's own login (card number + PIN)."""
    return (
        user.is_authenticated
        and not user.is_staff
        and user.household_id is not None
        and user.village_id is not None
    )


def staff_required(*roles: str):
    """Allow staff holding one of `roles`, working in a village (see VillageMiddleware).

    A county admin listed in `roles` must first pick a village, and only ever reads.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_staff or not (user_roles(user) & set(roles)):
                raise PermissionDenied
            if request.village is None:
                if is_county_admin(user):
                    return redirect("villagers:village_pick")
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def villager_required(view):
    """Allow only a household's villager login."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_villager(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def member_of_village_required(view):
    """Allow anyone who belongs to the request's village: its villagers and staff (public pages)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.village is None:
            if is_county_admin(request.user):
                return redirect("villagers:village_pick")
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
