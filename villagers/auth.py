"""Villager login (card number and PIN), and how every request loads the signed-in user."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef

from villagers.cardnumbers import card_number_normalize
from villagers.models import Card, User
from villagers.roles import Role


def session_user(user_id) -> User | None:
    """The active user of a session, with what every page needs, in one query.

    Every signed-in request loads its user: joining the village (with township and county,
    for the header and scoping) and the household, and reading the role names
    (`role_names`, read by villagers.roles), saves three round trips a request.
    """
    return (
        User.objects.select_related("village__township__county", "household")
        .annotate(
            role_names=ArraySubquery(
                Group.objects.filter(user=OuterRef("pk"), name__in=Role.ALL).values("name")
            )
        )
        .filter(pk=user_id, is_active=True)
        .first()
    )


class SessionUserMixin:
    """Backends load the session's user through `session_user`, whichever signed them in."""

    def get_user(self, user_id):
        return session_user(user_id)


class LockoutBackend(SessionUserMixin, AxesStandaloneBackend):
    """django-axes' lockout check (first in the list); authenticates nobody itself."""


class StaffBackend(SessionUserMixin, ModelBackend):
    """Staff sign in with username and password."""


class CardPinBackend(SessionUserMixin, BaseBackend):
    """Authenticate `card_number` + `pin` against the active card's villager login."""

    def authenticate(self, request, card_number=None, pin=None, **kwargs):
        if not card_number or not pin:
            return None
        number = card_number_normalize(card_number)
        card = (
            Card.objects.filter(number=number, status=Card.Status.ACTIVE)
            .select_related("household")
            .first()
        )
        if card is None:
            return None
        user = User.objects.filter(
            household_id=card.household_id, is_staff=False, is_active=True
        ).first()
        if user is None or not user.check_password(pin):
            return None
        return user


def axes_username(request, credentials):
    """The name django-axes counts failures against: staff username or card number.

    On a successful card login axes passes only the user's username, so the card number
    is read from the posted form: that is what resets the card's failure count.
    """
    credentials = credentials or {}
    card_number = credentials.get("card_number")
    if not card_number and request is not None and request.method == "POST":
        card_number = request.POST.get("card_number")
    if card_number:
        return "card:" + card_number_normalize(card_number)
    return credentials.get("username") or ""
