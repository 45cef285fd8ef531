from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class StaffLoginForm(AuthenticationForm):
    """Staff sign in with username and password (villagers use their card)."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(
                _("This login is for staff. Villagers sign in with their card number and PIN."),
                code="not_staff",
            )


class CardLoginForm(forms.Form):
    card_number = forms.CharField(
        label=_("Card number"),
        max_length=40,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "username", "autofocus": True}
        ),
    )
    pin = forms.CharField(
        label=_("PIN"),
        max_length=6,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "current-password"}
        ),
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        number = self.cleaned_data.get("card_number")
        pin = self.cleaned_data.get("pin")
        if number and pin:
            self.user_cache = authenticate(self.request, card_number=number, pin=pin)
            if self.user_cache is None:
                raise forms.ValidationError(
                    _("The card number or PIN is not correct."), code="invalid_login"
                )
        return self.cleaned_data

    def get_user(self):
        return self.user_cache
