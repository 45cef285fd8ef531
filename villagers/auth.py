"""Villager login (card number and PIN), and how every request loads the signed-in user."""

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.db import connection

from villagers.cardnumbers import card_number_normalize
from villagers.models import Card, County, Household, Township, User, Village
from villagers.roles import Role

# (model, table alias, alias of the row whose foreign key points at it, that foreign key)
_SESSION_MODELS = [
    (User, "u", None, None),
    (Village, "v", "u", User.village.field),
    (Township, "t", "v", Village.township.field),
    (County, "c", "t", Township.county.field),
    (Household, "h", "u", User.household.field),
]


def _session_user_sql() -> str:
    columns = ", ".join(
        f'{alias}."{field.column}"'
        for model, alias, _owner, _fk in _SESSION_MODELS
        for field in model._meta.concrete_fields
    )
    return f"""
        SELECT {columns},
               ARRAY(SELECT g.name FROM auth_group g
                     JOIN villagers_user_groups ug ON ug.group_id = g.id
                     WHERE ug.user_id = u.id AND g.name = ANY(%s)) AS role_names
        FROM villagers_user u
        LEFT JOIN villagers_village v ON v.id = u.village_id
        LEFT JOIN villagers_township t ON t.id = v.township_id
        LEFT JOIN villagers_county c ON c.id = t.county_id
        LEFT JOIN villagers_household h ON h.id = u.household_id
        WHERE u.id = %s AND u.is_active
    """  # noqa: S608 (column names from the models, values as parameters)


SESSION_USER_SQL = _session_user_sql()


def session_user(user_id) -> User | None:
    """The active user of a session, with what every page needs, in one query.

    Every signed-in request loads its user: joining the village (with township and county,
    for the header and scoping), the household and the role names saves three round trips
    (villagers.middleware and villagers.roles read them from here). Plain SQL, because
    compiling the equivalent ORM query took longer than running it, on every request.
    """
    with connection.cursor() as cursor:
        cursor.execute(SESSION_USER_SQL, [list(Role.ALL), user_id])
        row = cursor.fetchone()
    if row is None:
        return None
    objects, start = {}, 0
    for model, alias, _owner, _fk in _SESSION_MODELS:
        fields = model._meta.concrete_fields
        values = row[start : start + len(fields)]
        start += len(fields)
        objects[alias] = (
            None
            if values[0] is None
            else model.from_db(connection.alias, [f.attname for f in fields], values)
        )
    for _model, alias, owner, fk in _SESSION_MODELS[1:]:
        if objects[owner] is not None:
            fk.set_cached_value(objects[owner], objects[alias])
    user = objects["u"]
    user._aidao_roles = frozenset(row[-1])
    return user


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
