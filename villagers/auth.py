"""Villager login: the household's card number and a PIN."""

from django.contrib.auth.backends import BaseBackend

from villagers.cardnumbers import card_number_normalize
from villagers.models import Card, User


class CardPinBackend(BaseBackend):
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

    def get_user(self, user_id):
        return User.objects.filter(pk=user_id, is_active=True).first()


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
